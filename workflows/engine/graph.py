"""Definition -> graph model: nodes, edges and clusters with stable ids.

Ids depend only on the order of states in the definition (depth first), so a diagram laid
out once stays valid for every execution of that version; status is an overlay keyed by
state name (unique across the whole machine). Parallel branches and Map processors are
clusters between the state's node and a join node. No Graphviz here: ``workflows.diagrams``
turns this model into DOT.
"""

from __future__ import annotations

from typing import Any

START, END = "__start__", "__end__"


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.clusters: list[dict[str, Any]] = []
        self.counter = 0

    def edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        self.edges.append({"source": source, "target": target, "kind": kind, "label": label})

    def scope(self, machine: dict[str, Any], cluster: str | None, exit_id: str) -> str:
        """Add a scope's states; returns the node id of its StartAt."""
        states: dict[str, Any] = machine["States"]
        ids = {}
        for name in states:
            ids[name] = f"s{self.counter}"
            self.counter += 1
        for name, state in states.items():
            self.state(name, state, ids, cluster, exit_id)
        return ids[machine["StartAt"]]

    def state(
        self,
        name: str,
        state: dict[str, Any],
        ids: dict[str, str],
        cluster: str | None,
        exit_id: str,
    ) -> None:
        node_id, kind = ids[name], state["Type"]
        self.nodes.append(
            {
                "id": node_id,
                "state": name,
                "type": kind,
                "cluster": cluster,
                "resource": state.get("Resource"),
            }
        )
        leave = node_id
        if kind in ("Parallel", "Map"):
            leave = f"{node_id}_join"
            self.nodes.append(
                {"id": leave, "state": None, "type": "Join", "cluster": cluster, "resource": None}
            )
            self.children(node_id, name, state, cluster, leave)
        if state.get("End") or kind in ("Succeed", "Fail"):
            self.edge(leave, exit_id, "end")
        if "Next" in state:
            self.edge(leave, ids[state["Next"]], "next")
        for rule in state.get("Choices", []):
            self.edge(node_id, ids[rule["Next"]], "choice", describe_rule(rule))
        if "Default" in state:
            self.edge(node_id, ids[state["Default"]], "default", "Default")
        for catcher in state.get("Catch", []):
            self.edge(
                node_id, ids[catcher["Next"]], "catch", "catch " + ", ".join(catcher["ErrorEquals"])
            )

    def children(
        self, node_id: str, name: str, state: dict[str, Any], cluster: str | None, join: str
    ) -> None:
        if state["Type"] == "Parallel":
            scopes = [
                (f"{node_id}_b{i}", f"Branch {i + 1}", b) for i, b in enumerate(state["Branches"])
            ]
        else:
            processor = state.get("ItemProcessor") or state.get("Iterator")
            scopes = [(f"{node_id}_items", "Each item", processor)]
        for cluster_id, label, machine in scopes:
            self.clusters.append(
                {
                    "id": cluster_id,
                    "label": label,
                    "parent": cluster,
                    "state": name,
                    "kind": state["Type"].lower(),
                }
            )
            first = self.scope(machine, cluster_id, join)
            self.edge(node_id, first, "branch")


def build(definition: dict[str, Any]) -> dict[str, Any]:
    """``{"nodes", "edges", "clusters"}`` for a valid definition."""
    builder = _Builder()
    builder.nodes.append(
        {"id": START, "state": None, "type": "Start", "cluster": None, "resource": None}
    )
    first = builder.scope(definition, None, END)
    builder.edge(START, first, "start")
    builder.nodes.append(
        {"id": END, "state": None, "type": "End", "cluster": None, "resource": None}
    )
    return {"nodes": builder.nodes, "edges": builder.edges, "clusters": builder.clusters}


def describe_rule(rule: dict[str, Any], depth: int = 0) -> str:
    """A short human label for a choice rule (``$.n > 3``, ``not (...)``)."""
    if "Condition" in rule:
        text = str(rule["Condition"]).removeprefix("{%").removesuffix("%}").strip()
        return text if len(text) <= 32 else text[:29] + "..."
    for combinator, joiner in (("And", " and "), ("Or", " or ")):
        if combinator in rule:
            inner = joiner.join(describe_rule(r, depth + 1) for r in rule[combinator])
            return f"({inner})" if depth else inner
    if "Not" in rule:
        return f"not {describe_rule(rule['Not'], depth + 1)}"
    symbols = {
        "Equals": "==",
        "LessThan": "<",
        "GreaterThan": ">",
        "LessThanEquals": "<=",
        "GreaterThanEquals": ">=",
    }
    variable = rule.get("Variable", "?")
    for op, value in rule.items():
        if op in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        base = op[:-4] if op.endswith("Path") else op
        for suffix, symbol in symbols.items():
            if base.endswith(suffix) and base[: -len(suffix)] in (
                "String",
                "Numeric",
                "Boolean",
                "Timestamp",
            ):
                return f"{variable} {symbol} {_literal(value)}"
        if op == "StringMatches":
            return f"{variable} matches {_literal(value)}"
        if op.startswith("Is"):
            return f"{variable} {op}" if value else f"not {variable} {op}"
    return "rule"


def _literal(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) and not value.startswith("$") else str(value)
    return text if len(text) <= 24 else text[:21] + "..."
