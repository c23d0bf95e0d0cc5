"""Graph model -> Graphviz DOT (rendered to SVG in the browser by the vendored viz.js).

Layout comes from the definition only; the viewer overlays each state's status by
setting ``data-status`` on the node, so one DOT serves every execution of a version.

State names, choice-rule descriptions and catch labels are user text. The ``graphviz``
package writes the DOT, and every ID and attribute value it is given is made by
:func:`plain`: escaped with ``graphviz.escape()`` (backslashes literal, never an HTML-like
``<…>`` label) and written as a double-quoted string, so a name is drawn as plain text and
cannot add nodes, edges, attributes or links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import graphviz
from graphviz import quoting

from . import engine

SHAPES = {
    "Task": {"shape": "box", "style": "rounded,filled"},
    "Pass": {"shape": "box", "style": "filled"},
    "Wait": {"shape": "box", "style": "rounded,filled,dashed"},
    "Choice": {"shape": "diamond", "style": "filled"},
    "Succeed": {"shape": "box", "style": "rounded,filled,bold"},
    "Fail": {"shape": "box", "style": "rounded,filled,bold"},
    "Parallel": {"shape": "box3d", "style": "filled"},
    "Map": {"shape": "box3d", "style": "filled"},
}
FONT = "Helvetica,Arial,sans-serif"
GRAPH = {
    "rankdir": "TB",
    "nodesep": "0.35",
    "ranksep": "0.45",
    "bgcolor": "transparent",
    "fontname": FONT,
    "pad": "0.2",
}
NODE = {
    "fontname": FONT,
    "fontsize": "11",
    "margin": "0.18,0.08",
    "height": "0.4",
    "color": "#94a3b8",
    "fillcolor": "#ffffff",
    "fontcolor": "#0f172a",
    "penwidth": "1.2",
}
EDGE = {
    "fontname": FONT,
    "fontsize": "9",
    "color": "#94a3b8",
    "fontcolor": "#64748b",
    "arrowsize": "0.7",
    "penwidth": "1.1",
}
CLUSTER = {
    "style": "rounded,dashed",
    "color": "#cbd5e1",
    "fontsize": "9",
    "fontcolor": "#64748b",
    "labeljust": "l",
    "margin": "10",
}

# Characters SVG (XML 1.0) cannot carry, which would make the browser refuse the whole
# drawing: C0 controls but tab and newline, DEL, lone surrogates, U+FFFE and U+FFFF.
_UNDRAWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's "control pictures": ␀ … ␟
    return "\u2421" if code == 0x7F else "\ufffd"


class _Plain(quoting.NoHtml):
    """Text made by :func:`plain`: the only kind of value :class:`PlainDigraph` writes."""

    __slots__ = ()


def plain(value: str, *, label: bool = False) -> _Plain:
    """``value`` as plain text for a DOT ID or attribute value, which Graphviz reads back
    unchanged.

    Every attribute Legato writes is an escString: a backslash starts an escape (``\\N``,
    ``\\l``, a final ``\\`` that eats the closing quote), so ``graphviz.escape()`` doubles
    backslashes; it also marks the text as not HTML-like, so the package quotes a ``<…>``
    string and escapes its quotes instead of passing it through as markup. A newline
    becomes ``\\n``, Graphviz's centred line break, after the doubling so that it stays one.
    """
    text = _UNDRAWABLE.sub(_visible, value)
    if label:
        text = _label_text(text)
    return _Plain(graphviz.escape(text).replace("\n", "\\n"))


def _label_text(text: str) -> str:
    """Graphviz decodes entities (``&lt;``) in labels, so ``&`` is written ``&amp;``."""
    if text.startswith("\n"):
        # Graphviz 16.1 (viz.js) crashes on a label whose first line is empty and whose
        # next line is long (a null function call in wasm); a no-break space is drawn
        # exactly like the empty line it fills.
        text = "\u00a0" + text
    return text.replace("&", "&amp;")


def _plain_attrs(attrs: Mapping[str, str]) -> dict[str, _Plain]:
    return {name: plain(value, label=name == "label") for name, value in attrs.items()}


def _never_bare(identifier: str) -> bool:
    return False


def _quoted(value: str) -> str:
    """The package's quoting of a :func:`plain` value, always as a double-quoted string."""
    if not isinstance(value, _Plain):
        raise TypeError(f"{value!r} would reach the DOT without going through plain()")
    return quoting.quote(value, is_valid_id=_never_bare)


# What the package accepts as attributes: a mapping or (name, value) pairs.
_Attrs = Mapping[str, str | None] | Iterable[tuple[str, str | None]] | None


class PlainDigraph(graphviz.Digraph):
    """A Digraph that writes only :func:`plain` values, each as a double-quoted string.

    The package would leave a value that is already a DOT ID (``box``, ``s0``) bare and
    read ``a:b`` as node ``a``, port ``b``; here every ID and value is one quoted string,
    and a value that skipped :func:`plain` is an error instead of a hole. These are the
    package's own quoting hooks (its ``Quote`` mixin); should a release stop calling them,
    :func:`plain` still escapes every value and test_diagrams sees the bare IDs.
    """

    _quote = _quote_edge = staticmethod(_quoted)

    @classmethod
    def _a_list(
        cls, label: str | None = None, kwargs: _Attrs = None, attributes: _Attrs = None
    ) -> str:
        items = {"label": label, **dict(kwargs or {}), **dict(attributes or {})}
        return " ".join(
            f"{quoting.quote(name)}={_quoted(value)}"
            for name, value in items.items()
            if value is not None
        )

    @classmethod
    def _attr_list(
        cls, label: str | None = None, kwargs: _Attrs = None, attributes: _Attrs = None
    ) -> str:
        content = cls._a_list(label, kwargs=kwargs, attributes=attributes)
        return f" [{content}]" if content else ""


def graph_for(version: Any) -> dict[str, Any]:
    """Graph model plus DOT for a FlowVersion (cached: versions never change)."""
    return _graph_for_version(version.pk)


@lru_cache(maxsize=256)
def _graph_for_version(version_id: int) -> dict[str, Any]:
    from .models import definition_of

    return build(definition_of(version_id))


def build(definition: dict[str, Any]) -> dict[str, Any]:
    model = engine.build_graph(definition)
    return {**model, "dot": to_dot(model)}


def to_dot(model: dict[str, Any]) -> str:
    dot = PlainDigraph(
        name=plain("flow"),
        graph_attr=_plain_attrs(GRAPH),
        node_attr=_plain_attrs(NODE),
        edge_attr=_plain_attrs(EDGE),
    )
    _scope(dot, model, None)
    for edge in model["edges"]:
        attrs = _plain_attrs(_edge_attrs(edge))
        dot.edge(plain(edge["source"]), plain(edge["target"]), **attrs)
    return dot.source


def _scope(graph: PlainDigraph, model: dict[str, Any], cluster_id: str | None) -> None:
    """A graph body: its own nodes, then its clusters (definition order: branch 1 left)."""
    for node in model["nodes"]:
        if node.get("cluster") == cluster_id:
            graph.node(plain(node["id"]), **_plain_attrs(_node_attrs(node)))
    for cluster in model.get("clusters", []):
        if cluster["parent"] == cluster_id:
            name = plain(f"cluster_{cluster['id']}")
            attrs = _plain_attrs(_cluster_attrs(cluster))
            with graph.subgraph(name=name, graph_attr=attrs) as sub:
                _scope(sub, model, cluster["id"])


def _cluster_attrs(cluster: dict[str, Any]) -> dict[str, str]:
    return {
        "label": cluster["label"],
        **CLUSTER,
        "id": f"cluster-{cluster['id']}",
        "class": f"cluster-{cluster['kind']}",
    }


def _node_attrs(node: dict[str, Any]) -> dict[str, str]:
    kind = node["type"]
    if kind in ("Start", "End"):
        return {
            "label": "",
            "shape": "circle",
            "width": "0.22",
            "height": "0.22",
            "fixedsize": "true",
            "style": "filled",
            "id": f"terminal-{kind.lower()}",
            "class": f"terminal terminal-{kind.lower()}",
        }
    if kind == "Join":
        return {
            "label": "",
            "shape": "point",
            "width": "0.08",
            "id": f"join-{node['id']}",
            "class": "join",
        }
    # No tooltip: Graphviz would wrap the node in an <a>; the browser sets the
    # node's <title> from the graph model instead.
    return {
        "label": node["state"],
        "id": f"state-{node['id']}",
        **SHAPES.get(kind, {}),
        "class": f"state type-{kind.lower()}",
    }


def _edge_attrs(edge: dict[str, Any]) -> dict[str, str]:
    attrs = {"class": f"edge-{edge['kind']}"}
    if edge["label"]:
        attrs["label"] = edge["label"]
    if edge["kind"] == "catch":
        attrs["style"] = "dashed"
    if edge["kind"] == "default":
        attrs["style"] = "dotted"
    return attrs
