"""Static validation: every problem in a definition, each with a code and a position.

``validate`` never stops at the first problem. Each diagnostic carries an AWS-style
``code`` (as ``ValidateStateMachineDefinition`` reports them), a specific ``rule``, a
message, the JSON pointer of the offending value and its line and column in the source.
Per-state and per-field checks live in ``checks``; this module walks the scopes (the top
level, Parallel branches, Map processors) and checks the graph of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from . import payloads
from .checks import StateChecks
from .definition import Source, SourceError, join_pointer, parse, position
from .fields import BY_TYPE, TERMINAL

_UNSTORABLE = {
    payloads.NUL: ("NUL_CHARACTER", "a NUL character (\\u0000) cannot be stored"),
    payloads.SURROGATE: (
        "LONE_SURROGATE",
        "a lone UTF-16 surrogate (\\ud800-\\udfff) is not Unicode text and cannot be stored",
    ),
    payloads.NUMBER: ("NOT_A_JSON_NUMBER", "NaN and the infinities are not JSON numbers"),
}
TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}


@dataclass
class Diagnostic:
    """One problem found in a definition."""

    code: str
    rule: str
    message: str
    path: str
    severity: str = "ERROR"
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        # A path or message may quote a key or value holding a lone surrogate or a NUL
        # (reported as such); the API's and the CLI's UTF-8 output must still hold it.
        return {
            key: payloads.printable(value) if isinstance(value, str) else value
            for key, value in asdict(self).items()
        }


@dataclass
class Result:
    """The parsed definition (when it parsed) and every diagnostic."""

    definition: Any
    diagnostics: list[Diagnostic]
    format: str = "json"

    @property
    def valid(self) -> bool:
        return not any(d.severity == "ERROR" for d in self.diagnostics)


def validate(
    text: str | bytes | dict | list, max_depth: int = payloads.DEFAULT_MAX_DEPTH
) -> Result:
    """Parse and check a definition given as JSON/YAML text or as data.

    ``max_depth``: how deep the definition may nest (see ``payloads``).
    """
    try:
        source = parse(text, max_depth)
    except SourceError as exc:
        diag = Diagnostic(exc.code, exc.code, exc.message, "", line=exc.line, column=exc.column)
        return Result(None, [diag])
    checker = _Checker(source)
    checker.check()
    return Result(source.data, checker.diagnostics, source.format)


class _Checker(StateChecks):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.names: dict[str, str] = {}
        self.top_language = "JSONPath"

    def report(
        self, code: str, rule: str, message: str, pointer: str, severity: str = "ERROR"
    ) -> None:
        line, column = position(self.source, pointer)
        self.diagnostics.append(Diagnostic(code, rule, message, pointer, severity, line, column))

    def check(self) -> None:
        root = self.source.data
        if not isinstance(root, dict):
            self.schema("ROOT_NOT_OBJECT", "the definition must be a JSON object", "")
            return
        self.unstorable(root)
        for key in root:
            if key not in TOP_FIELDS:
                self.schema("UNKNOWN_FIELD", f"unknown top-level field {key!r}", f"/{key}")
        if "TimeoutSeconds" in root and not _positive_int(root["TimeoutSeconds"]):
            self.schema(
                "INVALID_TIMEOUT", "TimeoutSeconds must be a positive integer", "/TimeoutSeconds"
            )
        language = root.get("QueryLanguage", "JSONPath")
        if language not in ("JSONPath", "JSONata"):
            self.schema(
                "INVALID_QUERY_LANGUAGE",
                "QueryLanguage must be JSONPath or JSONata",
                "/QueryLanguage",
            )
            language = "JSONPath"
        self.top_language = language
        self.machine(root, "", language, top=True)

    def unstorable(self, root: dict[str, Any]) -> None:
        for diagnostic in unstorable(root):
            self.schema(diagnostic.rule, diagnostic.message, diagnostic.path)

    def machine(
        self,
        machine: Any,
        base: str,
        language: str,
        top: bool = False,
        allowed: set[str] | None = None,
    ) -> None:
        if not isinstance(machine, dict):
            self.schema("SCOPE_NOT_OBJECT", "a branch or processor must be an object", base)
            return
        if allowed is not None:
            for key in machine:
                if key not in allowed:
                    self.schema(
                        "UNKNOWN_FIELD", f"field {key!r} is not valid here", join_pointer(base, key)
                    )
        states = machine.get("States")
        start = machine.get("StartAt")
        if not isinstance(states, dict) or not states:
            self.schema(
                "MISSING_STATES", "States must be a non-empty object", join_pointer(base, "States")
            )
            return
        if not isinstance(start, str):
            self.schema(
                "MISSING_START_AT",
                "StartAt must name a state",
                join_pointer(base, "StartAt") if "StartAt" in machine else base,
            )
        elif start not in states:
            self.report(
                "MISSING_TRANSITION_TARGET",
                "START_AT_NOT_FOUND",
                f"StartAt names {start!r}, which is not a state",
                join_pointer(base, "StartAt"),
            )
        states_ptr = join_pointer(base, "States")
        for name, state in states.items():
            self.state(name, state, states, join_pointer(states_ptr, name), language)
        if isinstance(start, str) and start in states:
            self.reachability(start, states, states_ptr)

    def state(self, name: str, state: Any, states: dict[str, Any], ptr: str, language: str) -> None:
        if len(name) > 80:
            self.schema("STATE_NAME_TOO_LONG", "state name is longer than 80 characters", ptr)
        if name in self.names:
            self.schema(
                "DUPLICATE_STATE_NAME",
                f"state name {name!r} is already used at {self.names[name]}",
                ptr,
            )
        else:
            self.names[name] = ptr
        if not isinstance(state, dict):
            self.schema("STATE_NOT_OBJECT", f"state {name!r} must be an object", ptr)
            return
        kind = state.get("Type")
        if kind not in BY_TYPE:
            self.schema(
                "INVALID_STATE_TYPE",
                f"state {name!r} has an invalid Type {kind!r}",
                join_pointer(ptr, "Type") if "Type" in state else ptr,
            )
            return
        language = self.state_language(state, ptr, language)
        for key in state:
            if key not in BY_TYPE[kind]:
                self.schema(
                    "UNKNOWN_FIELD",
                    f"field {key!r} is not valid in a {kind} state",
                    join_pointer(ptr, key),
                )
        self.language_fields(state, ptr, language)
        self.transitions(name, kind, state, states, ptr)
        if language == "JSONPath":
            self.io_fields(state, ptr)
        else:
            self.jsonata_fields(state, ptr)
        self.assign(state, ptr, language)
        getattr(self, "state_" + kind.lower())(state, states, ptr, language)

    def transitions(
        self, name: str, kind: str, state: dict[str, Any], states: dict[str, Any], ptr: str
    ) -> None:
        has_next, has_end = "Next" in state, "End" in state
        if kind in TERMINAL:
            return
        if has_next and has_end:
            self.schema(
                "NEXT_AND_END", f"state {name!r} has both Next and End", join_pointer(ptr, "End")
            )
        elif not has_next and not has_end:
            self.schema("MISSING_NEXT_OR_END", f"state {name!r} needs Next or End", ptr)
        if has_end and state["End"] is not True:
            self.schema("INVALID_END", "End must be true", join_pointer(ptr, "End"))
        if has_next:
            self.target(state["Next"], states, join_pointer(ptr, "Next"))

    def target(self, target: Any, states: dict[str, Any], ptr: str) -> None:
        if isinstance(target, str) and target in states:
            return
        if isinstance(target, str) and target in self.all_names():
            self.report(
                "MISSING_TRANSITION_TARGET",
                "TRANSITION_LEAVES_SCOPE",
                f"transition to {target!r}, which is outside this branch or "
                "processor: a state may only move within its own scope",
                ptr,
            )
            return
        self.report(
            "MISSING_TRANSITION_TARGET",
            "UNKNOWN_TARGET",
            f"transition to {target!r}, which is not a state in this scope",
            ptr,
        )

    def all_names(self) -> set[str]:
        names: set[str] = set()

        def walk(machine: Any) -> None:
            if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
                return
            for name, state in machine["States"].items():
                names.add(name)
                if isinstance(state, dict):
                    for branch in state.get("Branches") or []:
                        walk(branch)
                    walk(state.get("ItemProcessor") or state.get("Iterator"))

        walk(self.source.data)
        return names

    # --- graph properties -------------------------------------------------------------

    def reachability(self, start: str, states: dict[str, Any], ptr: str) -> None:
        seen = {start}
        todo = [start]
        while todo:
            for target in successors(states.get(todo.pop())):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                self.report(
                    "UNREACHABLE_STATE",
                    "UNREACHABLE_STATE",
                    f"state {name!r} cannot be reached from StartAt",
                    join_pointer(ptr, name),
                )
        self.termination(seen, states, ptr)

    def termination(self, reachable: set[str], states: dict[str, Any], ptr: str) -> None:
        """Every reachable state needs some path to an end; a closed loop never finishes."""
        # A transition to an unknown state is reported already; don't cascade from it.
        ends = {
            n
            for n, s in states.items()
            if isinstance(s, dict)
            and (
                s.get("End") is True
                or s.get("Type") in ("Succeed", "Fail")
                or any(t not in states for t in successors(s))
                or (s.get("Type") not in TERMINAL and "Next" not in s)
            )
        }
        predecessors: dict[str, list[str]] = {}
        for name, state in states.items():
            for target in successors(state):
                predecessors.setdefault(target, []).append(name)
        can_end = set(ends)
        todo = list(ends)
        while todo:
            for source in predecessors.get(todo.pop(), []):
                if source not in can_end:
                    can_end.add(source)
                    todo.append(source)
        for name in states:
            if name in reachable and name not in can_end:
                self.report(
                    "SCHEMA_VALIDATION_FAILED",
                    "NO_PATH_TO_END",
                    f"no path leads from state {name!r} to an end (End, Succeed or "
                    "Fail): the execution could never finish",
                    join_pointer(ptr, name),
                )


def successors(state: Any) -> Iterator[str]:
    """Names a state may transition to (Next, Choices, Default, Catch)."""
    if not isinstance(state, dict):
        return
    if isinstance(state.get("Next"), str):
        yield state["Next"]
    if isinstance(state.get("Default"), str):
        yield state["Default"]
    for key in ("Choices", "Catch"):
        items = state.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("Next"), str):
                    yield item["Next"]


def unstorable(data: Any) -> list[Diagnostic]:
    """Strings and numbers in ``data`` no JSON column (or UTF-8 text) can hold. Depth is
    checked when parsing, so every value here is shallow enough to walk."""
    diagnostics = []
    for found in payloads.problems(data, payloads.MAX_DEPTH_CEILING):
        rule, message = _UNSTORABLE.get(found.kind, ("UNSTORABLE", found.message))
        diagnostics.append(Diagnostic("SCHEMA_VALIDATION_FAILED", rule, message, found.pointer))
    return diagnostics


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
