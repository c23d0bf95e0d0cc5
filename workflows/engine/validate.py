"""Static validation: every problem in a definition, each with a code and a position.

``validate`` never stops at the first problem. Each diagnostic carries an AWS-style
``code`` (as ``ValidateStateMachineDefinition`` reports them), a specific ``rule``, a
message, the JSON pointer of the offending value and its line and column in the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from . import choice, intrinsics, paths
from .definition import Source, SourceError, join_pointer, parse, position

MAX_STATE_NAME = 80
SUPPORTED_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail")
PLANNED_TYPES = ("Parallel", "Map")
TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
COMMON = {"Type", "Comment"}
IO = {"InputPath", "OutputPath"}
FIELDS: dict[str, set[str]] = {
    "Pass": COMMON | IO | {"Next", "End", "Result", "ResultPath", "Parameters"},
    "Task": COMMON
    | IO
    | {
        "Next",
        "End",
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "HeartbeatSeconds",
        "Queue",
        "Credentials",
    },
    "Choice": COMMON | IO | {"Choices", "Default"},
    "Wait": COMMON | IO | {"Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
    "Succeed": COMMON | IO,
    "Fail": {"Type", "Comment", "Error", "Cause", "ErrorPath", "CausePath"},
}
TERMINAL = {"Choice", "Succeed", "Fail"}


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
        return asdict(self)


@dataclass
class Result:
    """The parsed definition (when it parsed) and every diagnostic."""

    definition: Any
    diagnostics: list[Diagnostic]
    format: str = "json"

    @property
    def valid(self) -> bool:
        return not any(d.severity == "ERROR" for d in self.diagnostics)


def validate(text: str | bytes | dict | list) -> Result:
    """Parse and check a definition given as JSON/YAML text or as data."""
    try:
        source = parse(text)
    except SourceError as exc:
        diag = Diagnostic(exc.code, exc.code, exc.message, "", line=exc.line, column=exc.column)
        return Result(None, [diag])
    checker = _Checker(source)
    checker.check()
    return Result(source.data, checker.diagnostics, source.format)


class _Checker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(
        self, code: str, rule: str, message: str, pointer: str, severity: str = "ERROR"
    ) -> None:
        line, column = position(self.source, pointer)
        self.diagnostics.append(Diagnostic(code, rule, message, pointer, severity, line, column))

    def schema(self, rule: str, message: str, pointer: str) -> None:
        self.report("SCHEMA_VALIDATION_FAILED", rule, message, pointer)

    def check(self) -> None:
        root = self.source.data
        if not isinstance(root, dict):
            self.schema("ROOT_NOT_OBJECT", "the definition must be a JSON object", "")
            return
        for key in root:
            if key not in TOP_FIELDS:
                self.schema("UNKNOWN_FIELD", f"unknown top-level field {key!r}", f"/{key}")
        timeout = root.get("TimeoutSeconds")
        if "TimeoutSeconds" in root and not _positive_int(timeout):
            self.schema(
                "INVALID_TIMEOUT", "TimeoutSeconds must be a positive integer", "/TimeoutSeconds"
            )
        self.machine(root, "")

    def machine(self, machine: dict[str, Any], base: str) -> None:
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
            self.state(name, state, states, join_pointer(states_ptr, name))
        if isinstance(start, str) and start in states:
            self.reachability(start, states, states_ptr)

    def state(self, name: str, state: Any, states: dict[str, Any], ptr: str) -> None:
        if len(name) > MAX_STATE_NAME:
            self.schema(
                "STATE_NAME_TOO_LONG", f"state name is longer than {MAX_STATE_NAME} characters", ptr
            )
        if not isinstance(state, dict):
            self.schema("STATE_NOT_OBJECT", f"state {name!r} must be an object", ptr)
            return
        kind = state.get("Type")
        if kind in PLANNED_TYPES:
            self.report(
                "UNSUPPORTED_FEATURE",
                "STATE_TYPE_NOT_YET_SUPPORTED",
                f"{kind} states are not supported yet by this Legato version",
                join_pointer(ptr, "Type"),
            )
            return
        if kind not in FIELDS:
            self.schema(
                "INVALID_STATE_TYPE",
                f"state {name!r} has an invalid Type {kind!r}",
                join_pointer(ptr, "Type") if "Type" in state else ptr,
            )
            return
        for key in state:
            if key not in FIELDS[kind]:
                self.schema(
                    "UNKNOWN_FIELD",
                    f"field {key!r} is not valid in a {kind} state",
                    join_pointer(ptr, key),
                )
        self.transitions(name, kind, state, states, ptr)
        self.io_fields(state, ptr)
        getattr(self, "state_" + kind.lower(), lambda *_: None)(state, states, ptr)

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
        if not isinstance(target, str) or target not in states:
            self.report(
                "MISSING_TRANSITION_TARGET",
                "UNKNOWN_TARGET",
                f"transition to {target!r}, which is not a state in this scope",
                ptr,
            )

    def io_fields(self, state: dict[str, Any], ptr: str) -> None:
        for key in ("InputPath", "OutputPath"):
            if key in state and state[key] is not None:
                self.path(state[key], join_pointer(ptr, key), reference=False)
        if "ResultPath" in state and state["ResultPath"] is not None:
            self.path(state["ResultPath"], join_pointer(ptr, "ResultPath"), reference=True)
        for key in ("Parameters", "ResultSelector"):
            if key in state:
                self.template(state[key], join_pointer(ptr, key))

    def path(self, value: Any, ptr: str, reference: bool) -> None:
        try:
            compiled = paths.compile_path(value)
        except paths.PathSyntaxError as exc:
            self.schema("INVALID_JSONPATH", f"invalid JSONPath {value!r}: {exc}", ptr)
            return
        if reference and (not compiled.reference or compiled.context):
            self.schema(
                "INVALID_REFERENCE_PATH",
                f"{value!r} must be a reference path (no wildcards, filters or $$)",
                ptr,
            )

    def template(self, template: Any, ptr: str) -> None:
        if isinstance(template, dict):
            for key, value in template.items():
                child = join_pointer(ptr, key)
                if key.endswith(".$"):
                    self.dynamic(value, child)
                else:
                    if isinstance(value, str) and value.startswith("$."):
                        self.report(
                            "SCHEMA_VALIDATION_FAILED",
                            "PATH_WITHOUT_DOLLAR_SUFFIX",
                            f"{value!r} looks like a path but the key {key!r} does not "
                            "end in '.$', so it is passed as a literal string",
                            child,
                            severity="WARNING",
                        )
                    self.template(value, child)
        elif isinstance(template, list):
            for index, item in enumerate(template):
                self.template(item, join_pointer(ptr, index))

    def dynamic(self, value: Any, ptr: str) -> None:
        if not isinstance(value, str):
            self.schema(
                "INVALID_DYNAMIC_VALUE", "a '.$' field needs a path or intrinsic string", ptr
            )
        elif value.startswith("$"):
            self.path(value, ptr, reference=False)
        else:
            try:
                intrinsics.parse(value)
            except intrinsics.IntrinsicSyntaxError as exc:
                self.schema("INVALID_INTRINSIC", str(exc), ptr)

    # --- per type -------------------------------------------------------------------

    def state_task(self, state: dict[str, Any], states: dict[str, Any], ptr: str) -> None:
        if not isinstance(state.get("Resource"), str) or not state.get("Resource"):
            self.schema(
                "MISSING_RESOURCE",
                "a Task needs a Resource string",
                join_pointer(ptr, "Resource") if "Resource" in state else ptr,
            )
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        for key, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
            if key in state and not _positive_int(value):
                self.schema(
                    "INVALID_TIMEOUT", f"{key} must be a positive integer", join_pointer(ptr, key)
                )
        if _positive_int(timeout) and _positive_int(heartbeat) and heartbeat >= timeout:
            self.schema(
                "HEARTBEAT_NOT_BELOW_TIMEOUT",
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
                join_pointer(ptr, "HeartbeatSeconds"),
            )
        self.retriers(state.get("Retry"), join_pointer(ptr, "Retry"), "Retry" in state)
        self.catchers(state.get("Catch"), states, join_pointer(ptr, "Catch"), "Catch" in state)

    def retriers(self, retriers: Any, ptr: str, present: bool) -> None:
        if not present:
            return
        if not isinstance(retriers, list):
            self.schema("INVALID_RETRY", "Retry must be an array", ptr)
            return
        for index, retrier in enumerate(retriers):
            rptr = join_pointer(ptr, index)
            if not isinstance(retrier, dict):
                self.schema("INVALID_RETRY", "a retrier must be an object", rptr)
                continue
            self.error_equals(retrier, rptr, last=index == len(retriers) - 1)
            allowed = {
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            }
            for key in retrier:
                if key not in allowed:
                    self.schema(
                        "UNKNOWN_FIELD",
                        f"field {key!r} is not valid in a retrier",
                        join_pointer(rptr, key),
                    )
            if "MaxAttempts" in retrier and not _nonneg_int(retrier["MaxAttempts"]):
                self.schema(
                    "INVALID_RETRY",
                    "MaxAttempts must be a non-negative integer",
                    join_pointer(rptr, "MaxAttempts"),
                )
            if "IntervalSeconds" in retrier and not _positive_int(retrier["IntervalSeconds"]):
                self.schema(
                    "INVALID_RETRY",
                    "IntervalSeconds must be a positive integer",
                    join_pointer(rptr, "IntervalSeconds"),
                )
            rate = retrier.get("BackoffRate", 2.0)
            if not _number(rate) or rate < 1:
                self.schema(
                    "INVALID_RETRY",
                    "BackoffRate must be a number >= 1.0",
                    join_pointer(rptr, "BackoffRate"),
                )
            if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
                self.schema(
                    "INVALID_RETRY",
                    "JitterStrategy must be FULL or NONE",
                    join_pointer(rptr, "JitterStrategy"),
                )

    def catchers(self, catchers: Any, states: dict[str, Any], ptr: str, present: bool) -> None:
        if not present:
            return
        if not isinstance(catchers, list):
            self.schema("INVALID_CATCH", "Catch must be an array", ptr)
            return
        for index, catcher in enumerate(catchers):
            cptr = join_pointer(ptr, index)
            if not isinstance(catcher, dict):
                self.schema("INVALID_CATCH", "a catcher must be an object", cptr)
                continue
            self.error_equals(catcher, cptr, last=index == len(catchers) - 1)
            for key in catcher:
                if key not in ("ErrorEquals", "Next", "ResultPath", "Comment"):
                    self.schema(
                        "UNKNOWN_FIELD",
                        f"field {key!r} is not valid in a catcher",
                        join_pointer(cptr, key),
                    )
            if "Next" not in catcher:
                self.schema("MISSING_NEXT", "a catcher needs Next", cptr)
            else:
                self.target(catcher["Next"], states, join_pointer(cptr, "Next"))
            if catcher.get("ResultPath") is not None:
                self.path(catcher["ResultPath"], join_pointer(cptr, "ResultPath"), True)

    def error_equals(self, item: dict[str, Any], ptr: str, last: bool) -> None:
        names = item.get("ErrorEquals")
        eptr = join_pointer(ptr, "ErrorEquals")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.schema(
                "INVALID_ERROR_EQUALS",
                "ErrorEquals must be a non-empty array of strings",
                eptr if "ErrorEquals" in item else ptr,
            )
            return
        if "States.ALL" in names and (len(names) > 1 or not last):
            self.schema(
                "STATES_ALL_NOT_LAST",
                "States.ALL must appear alone and in the last retrier or catcher",
                eptr,
            )

    def state_wait(self, state: dict[str, Any], states: dict[str, Any], ptr: str) -> None:
        given = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in state]
        if len(given) != 1:
            self.schema(
                "WAIT_DURATION",
                "a Wait needs exactly one of Seconds, Timestamp, SecondsPath or TimestampPath",
                ptr,
            )
            return
        key = given[0]
        value = state[key]
        if key == "Seconds" and not _nonneg_int(value):
            self.schema(
                "INVALID_WAIT", "Seconds must be a non-negative integer", join_pointer(ptr, key)
            )
        elif key == "Timestamp" and choice.parse_timestamp(value) is None:
            self.schema(
                "INVALID_TIMESTAMP",
                "Timestamp must be an RFC 3339 timestamp",
                join_pointer(ptr, key),
            )
        elif key.endswith("Path"):
            self.path(value, join_pointer(ptr, key), reference=True)

    def state_fail(self, state: dict[str, Any], states: dict[str, Any], ptr: str) -> None:
        for key in ("Error", "Cause"):
            if key in state and key + "Path" in state:
                self.schema(
                    "FAIL_FIELD_CONFLICT",
                    f"{key} and {key}Path are exclusive",
                    join_pointer(ptr, key + "Path"),
                )
            if key in state and not isinstance(state[key], str):
                self.schema("INVALID_FAIL_FIELD", f"{key} must be a string", join_pointer(ptr, key))
            if key + "Path" in state:
                self.dynamic(state[key + "Path"], join_pointer(ptr, key + "Path"))

    def state_choice(self, state: dict[str, Any], states: dict[str, Any], ptr: str) -> None:
        rules = state.get("Choices")
        cptr = join_pointer(ptr, "Choices")
        if not isinstance(rules, list) or not rules:
            self.schema(
                "MISSING_CHOICES",
                "a Choice needs a non-empty Choices array",
                cptr if "Choices" in state else ptr,
            )
        else:
            for index, rule in enumerate(rules):
                rptr = join_pointer(cptr, index)
                self.rule(rule, rptr, top=True)
                if isinstance(rule, dict):
                    if "Next" not in rule:
                        self.schema("MISSING_NEXT", "a choice rule needs Next", rptr)
                    else:
                        self.target(rule["Next"], states, join_pointer(rptr, "Next"))
        if "Default" in state:
            self.target(state["Default"], states, join_pointer(ptr, "Default"))

    def rule(self, rule: Any, ptr: str, top: bool) -> None:
        if not isinstance(rule, dict):
            self.schema("INVALID_CHOICE_RULE", "a choice rule must be an object", ptr)
            return
        if not top and "Next" in rule:
            self.schema(
                "NESTED_NEXT",
                "Next is only allowed on top-level choice rules",
                join_pointer(ptr, "Next"),
            )
        for combinator in ("And", "Or"):
            if combinator in rule:
                items = rule[combinator]
                if not isinstance(items, list) or not items:
                    self.schema(
                        "INVALID_CHOICE_RULE",
                        f"{combinator} needs a non-empty array",
                        join_pointer(ptr, combinator),
                    )
                    return
                for index, item in enumerate(items):
                    self.rule(item, join_pointer(join_pointer(ptr, combinator), index), False)
                return
        if "Not" in rule:
            self.rule(rule["Not"], join_pointer(ptr, "Not"), False)
            return
        ops = [k for k in rule if k in choice.COMPARISONS]
        if len(ops) != 1:
            self.schema(
                "INVALID_CHOICE_RULE",
                "a choice rule needs exactly one comparison operator (or And/Or/Not)",
                ptr,
            )
            return
        if "Variable" not in rule:
            self.schema("MISSING_VARIABLE", "a comparison needs Variable", ptr)
        else:
            self.path(rule["Variable"], join_pointer(ptr, "Variable"), reference=False)
        op = ops[0]
        if op.endswith("Path"):
            self.path(rule[op], join_pointer(ptr, op), reference=False)

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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _nonneg_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
