"""Graph model -> Graphviz DOT (rendered to SVG in the browser by the vendored viz.js).

Layout comes from the definition only; the viewer overlays each state's status by
setting ``data-status`` on the node, so one DOT serves every execution of a version.

State names, choice-rule descriptions and catch labels are user text, so this module
writes the DOT itself and every value goes through :func:`quote`: always a double-quoted
string (never an HTML-like ``<…>`` label), with Graphviz's escapes neutralised, so a name
is drawn as plain text and cannot add nodes, edges, attributes or links.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

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


def quote(value: str) -> str:
    """``value`` as a DOT double-quoted string that Graphviz reads back unchanged.

    Every attribute Legato writes is an escString: a backslash starts an escape (``\\N``,
    ``\\l``, a final ``\\`` that eats the closing quote), so backslashes are doubled before
    quotes are escaped. A newline becomes ``\\n``, Graphviz's centred line break.
    """
    text = _UNDRAWABLE.sub(_visible, value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def label(text: str) -> str:
    """Label text, escaped for DOT; Graphviz also decodes entities (``&lt;``) in labels."""
    if text.startswith("\n"):
        # Graphviz 16.1 (viz.js) crashes on a label whose first line is empty and whose
        # next line is long (a null function call in wasm); a no-break space is drawn
        # exactly like the empty line it fills.
        text = "\u00a0" + text
    return quote(text.replace("&", "&amp;"))


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
    defaults = {"graph": GRAPH, "node": NODE, "edge": EDGE}
    lines = ["digraph flow {"]
    lines += [f"\t{kind} [{_attrs(attrs)}]" for kind, attrs in defaults.items()]
    lines += _scope(model, None, depth=1)
    lines += [f"\t{_edge(edge)}" for edge in model["edges"]]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _scope(model: dict[str, Any], cluster_id: str | None, depth: int) -> Iterator[str]:
    """A graph body: its own nodes, then its clusters (definition order: branch 1 left)."""
    indent = "\t" * depth
    for node in model["nodes"]:
        if node.get("cluster") == cluster_id:
            yield indent + _node(node)
    for cluster in model.get("clusters", []):
        if cluster["parent"] == cluster_id:
            yield f"{indent}subgraph {quote('cluster_' + cluster['id'])} {{"
            yield f"{indent}\tgraph [{_attrs(_cluster_attrs(cluster))}]"
            yield from _scope(model, cluster["id"], depth + 1)
            yield indent + "}"


def _cluster_attrs(cluster: dict[str, Any]) -> dict[str, str]:
    return {
        "label": cluster["label"],
        **CLUSTER,
        "id": f"cluster-{cluster['id']}",
        "class": f"cluster-{cluster['kind']}",
    }


def _node(node: dict[str, Any]) -> str:
    kind = node["type"]
    if kind in ("Start", "End"):
        attrs = {
            "label": "",
            "shape": "circle",
            "width": "0.22",
            "height": "0.22",
            "fixedsize": "true",
            "style": "filled",
            "id": f"terminal-{kind.lower()}",
            "class": f"terminal terminal-{kind.lower()}",
        }
    elif kind == "Join":
        attrs = {
            "label": "",
            "shape": "point",
            "width": "0.08",
            "id": f"join-{node['id']}",
            "class": "join",
        }
    else:
        # No tooltip: Graphviz would wrap the node in an <a>; the browser sets the
        # node's <title> from the graph model instead.
        attrs = {
            "label": node["state"],
            "id": f"state-{node['id']}",
            **SHAPES.get(kind, {}),
            "class": f"state type-{kind.lower()}",
        }
    return f"{quote(node['id'])} [{_attrs(attrs)}]"


def _edge(edge: dict[str, Any]) -> str:
    attrs = {"class": f"edge-{edge['kind']}"}
    if edge["label"]:
        attrs["label"] = edge["label"]
    if edge["kind"] == "catch":
        attrs["style"] = "dashed"
    if edge["kind"] == "default":
        attrs["style"] = "dotted"
    return f"{quote(edge['source'])} -> {quote(edge['target'])} [{_attrs(attrs)}]"


def _attrs(attrs: dict[str, str]) -> str:
    return " ".join(
        f"{name}={label(value) if name == 'label' else quote(value)}"
        for name, value in attrs.items()
    )
