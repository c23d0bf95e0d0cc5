"""Graph model -> Graphviz DOT (rendered to SVG in the browser by the vendored viz.js).

Layout comes from the definition only; the viewer overlays each state's status by
setting ``data-status`` on the node, so one DOT serves every execution of a version.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import graphviz

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
    dot = graphviz.Digraph("flow")
    dot.attr(
        "graph",
        rankdir="TB",
        nodesep="0.35",
        ranksep="0.45",
        bgcolor="transparent",
        fontname=FONT,
        pad="0.2",
    )
    dot.attr(
        "node",
        fontname=FONT,
        fontsize="11",
        margin="0.18,0.08",
        height="0.4",
        color="#94a3b8",
        fillcolor="#ffffff",
        fontcolor="#0f172a",
        penwidth="1.2",
    )
    dot.attr(
        "edge",
        fontname=FONT,
        fontsize="9",
        color="#94a3b8",
        fontcolor="#64748b",
        arrowsize="0.7",
        penwidth="1.1",
    )
    for node in model["nodes"]:
        kind = node["type"]
        node_class = f"state type-{kind.lower()}"
        if kind in ("Start", "End"):
            dot.node(
                node["id"],
                label="",
                shape="circle",
                width="0.22",
                height="0.22",
                fixedsize="true",
                style="filled",
                id=f"terminal-{kind.lower()}",
                **{"class": f"terminal terminal-{kind.lower()}"},
            )
            continue
        label = node["state"]
        dot.node(
            node["id"],
            label=label,
            id=f"state-{node['id']}",
            tooltip=f"{kind}: {label}",
            **SHAPES.get(kind, {}),
            **{"class": node_class},
        )
    for edge in model["edges"]:
        attrs: dict[str, str] = {"class": f"edge-{edge['kind']}"}
        if edge["label"]:
            attrs["label"] = edge["label"]
        if edge["kind"] == "catch":
            attrs["style"] = "dashed"
        if edge["kind"] == "default":
            attrs["style"] = "dotted"
        dot.edge(edge["source"], edge["target"], **attrs)
    return dot.source
