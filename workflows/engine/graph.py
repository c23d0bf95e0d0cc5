"""Definition -> graph model: nodes, edges and (later) clusters with stable ids.

Ids depend only on the order of states in the definition, so a diagram laid out once
stays valid for every execution of that version; status is an overlay keyed by state
name. No Graphviz here: ``workflows.diagrams`` turns this model into DOT.
"""

from __future__ import annotations

from typing import Any

START, END = "__start__", "__end__"


def build(definition: dict[str, Any]) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...]}`` for a valid definition."""
    states: dict[str, Any] = definition["States"]
    ids = {name: f"s{index}" for index, name in enumerate(states)}
    nodes: list[dict[str, Any]] = [{"id": START, "state": None, "type": "Start"}]
    edges: list[dict[str, Any]] = [
        {"source": START, "target": ids[definition["StartAt"]], "kind": "start", "label": ""}
    ]
    needs_end = False
    for name, state in states.items():
        kind = state["Type"]
        nodes.append(
            {"id": ids[name], "state": name, "type": kind, "resource": state.get("Resource")}
        )
        if state.get("End") or kind in ("Succeed", "Fail"):
            needs_end = True
            edges.append({"source": ids[name], "target": END, "kind": "end", "label": ""})
        if "Next" in state:
            edges.append(
                {"source": ids[name], "target": ids[state["Next"]], "kind": "next", "label": ""}
            )
        for rule in state.get("Choices", []):
            edges.append(
                {
                    "source": ids[name],
                    "target": ids[rule["Next"]],
                    "kind": "choice",
                    "label": describe_rule(rule),
                }
            )
        if "Default" in state:
            edges.append(
                {
                    "source": ids[name],
                    "target": ids[state["Default"]],
                    "kind": "default",
                    "label": "Default",
                }
            )
        for catcher in state.get("Catch", []):
            edges.append(
                {
                    "source": ids[name],
                    "target": ids[catcher["Next"]],
                    "kind": "catch",
                    "label": "catch " + ", ".join(catcher["ErrorEquals"]),
                }
            )
    if needs_end:
        nodes.append({"id": END, "state": None, "type": "End"})
    return {"nodes": nodes, "edges": edges}


def describe_rule(rule: dict[str, Any], depth: int = 0) -> str:
    """A short human label for a choice rule (``$.n > 3``, ``not (...)``)."""
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
        if op in ("Variable", "Next", "Comment"):
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
