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
    graphs = {None: dot}
    for cluster in model.get("clusters", []):
        sub = graphviz.Digraph(f"cluster_{cluster['id']}")
        sub.attr(
            label=cluster["label"],
            style="rounded,dashed",
            color="#cbd5e1",
            fontsize="9",
            fontcolor="#64748b",
            labeljust="l",
            margin="10",
            id=f"cluster-{cluster['id']}",
            **{"class": f"cluster-{cluster['kind']}"},
        )
        graphs[cluster["id"]] = sub
    for node in model["nodes"]:
        _add_node(graphs[node.get("cluster")], node)
    # graphviz copies a subgraph's body when it is added, so the deepest clusters go in
    # first; within one depth, definition order (branch 1 left of branch 2).
    clusters = model.get("clusters", [])
    parents = {c["id"]: c["parent"] for c in clusters}

    def depth(cluster_id: str | None) -> int:
        return 0 if cluster_id is None else 1 + depth(parents[cluster_id])

    for cluster in sorted(clusters, key=lambda c: -depth(c["id"])):
        graphs[cluster["parent"]].subgraph(graphs[cluster["id"]])
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


def _add_node(graph: graphviz.Digraph, node: dict[str, Any]) -> None:
    kind = node["type"]
    if kind in ("Start", "End"):
        graph.node(
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
        return
    if kind == "Join":
        graph.node(
            node["id"],
            label="",
            shape="point",
            width="0.08",
            id=f"join-{node['id']}",
            **{"class": "join"},
        )
        return
    label = node["state"]
    graph.node(
        node["id"],
        label=label,
        id=f"state-{node['id']}",
        tooltip=f"{kind}: {label}",
        **SHAPES.get(kind, {}),
        **{"class": f"state type-{kind.lower()}"},
    )
