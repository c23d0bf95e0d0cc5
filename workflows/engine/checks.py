"""Per-state and per-field checks used by the validator (see ``validate``)."""

from __future__ import annotations

import re
from typing import Any

from . import choice, intrinsics, jsonata, paths
from .definition import join_pointer
from .fields import (
    BRANCH,
    CATCHER,
    CHOICE_RULE_JSONATA,
    ITEM_BATCHER,
    JSONATA_ONLY,
    JSONPATH_ONLY,
    PREDEFINED_ERRORS,
    PROCESSOR,
    RETRIER,
)

READERS = {
    "legato:payload",
    "legato:file",
    "arn:aws:states:::s3:getObject",
    "arn:aws:states:::s3:listObjectsV2",
}
WRITERS = {"legato:file", "arn:aws:states:::s3:putObject"}
RESERVED_RESOURCE = "legato:"
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")


class StateChecks:
    """Mixed into the validator; ``report`` and ``machine`` come from there."""

    report: Any
    machine: Any
    top_language: str

    def schema(self, rule: str, message: str, pointer: str, severity: str = "ERROR") -> None:
        self.report("SCHEMA_VALIDATION_FAILED", rule, message, pointer, severity)

    # --- query language ----------------------------------------------------------------

    def state_language(self, state: dict[str, Any], ptr: str, inherited: str) -> str:
        language = state.get("QueryLanguage", inherited)
        if language not in ("JSONPath", "JSONata"):
            self.schema(
                "INVALID_QUERY_LANGUAGE",
                "QueryLanguage must be JSONPath or JSONata",
                join_pointer(ptr, "QueryLanguage"),
            )
            return inherited
        if self.top_language == "JSONata" and language == "JSONPath" and "QueryLanguage" in state:
            self.schema(
                "QUERY_LANGUAGE_DOWNGRADE",
                "a JSONata state machine cannot have JSONPath states",
                join_pointer(ptr, "QueryLanguage"),
            )
        return language

    def language_fields(self, state: dict[str, Any], ptr: str, language: str) -> None:
        wrong = JSONPATH_ONLY if language == "JSONata" else JSONATA_ONLY
        for key in state:
            if key in wrong:
                other = "JSONPath" if language == "JSONata" else "JSONata"
                self.schema(
                    f"{other.upper()}_FIELD_IN_{language.upper()}_STATE",
                    f"{key} is a {other} field, but this state uses {language}",
                    join_pointer(ptr, key),
                )

    # --- JSONPath fields ----------------------------------------------------------------

    def io_fields(self, state: dict[str, Any], ptr: str) -> None:
        for key in ("InputPath", "OutputPath"):
            if state.get(key) is not None:
                self.path(state[key], join_pointer(ptr, key), reference=False)
        if state.get("ResultPath") is not None:
            self.path(state["ResultPath"], join_pointer(ptr, "ResultPath"), reference=True)
        for key in ("Parameters", "ResultSelector", "ItemSelector"):
            if key in state:
                self.template(state[key], join_pointer(ptr, key))
        for key in (
            "ItemsPath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        ):
            if key in state:
                self.path(state[key], join_pointer(ptr, key), reference=True)

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
                    if key[:-2] in template:
                        self.schema(
                            "DUPLICATE_TEMPLATE_KEY",
                            f"both {key[:-2]!r} and {key!r} are set",
                            child,
                        )
                    self.dynamic(value, child)
                else:
                    if isinstance(value, str) and value.startswith(("$.", "States.")):
                        self.report(
                            "SCHEMA_VALIDATION_FAILED",
                            "PATH_WITHOUT_DOLLAR_SUFFIX",
                            f"{value!r} looks like a path or intrinsic but the key "
                            f"{key!r} does not end in '.$', so it is passed as a "
                            "literal string",
                            child,
                            "WARNING",
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

    # --- JSONata fields -------------------------------------------------------------------

    def jsonata_fields(self, state: dict[str, Any], ptr: str) -> None:
        for key, value in state.items():
            if key in (
                "Type",
                "Comment",
                "Next",
                "End",
                "Resource",
                "QueryLanguage",
                "Branches",
                "ItemProcessor",
                "Iterator",
                "Choices",
                "Default",
                "Catch",
                "Retry",
                "Assign",
            ):
                continue
            self.expressions(value, join_pointer(ptr, key))

    def expressions(self, value: Any, ptr: str) -> None:
        """Check every ``{% %}`` string inside a JSONata field value."""
        if isinstance(value, str):
            stripped = value.strip()
            if jsonata.is_expression(value):
                try:
                    jsonata.compile_expression(jsonata.body(value))
                except jsonata.JsonataSyntaxError as exc:
                    self.report(
                        "SCHEMA_VALIDATION_FAILED",
                        "INVALID_JSONATA",
                        f"invalid JSONata expression: {exc}",
                        ptr,
                    )
            elif stripped.startswith("{%") or stripped.endswith("%}"):
                self.report(
                    "SCHEMA_VALIDATION_FAILED",
                    "INVALID_JSONATA_DELIMITERS",
                    "a JSONata expression must be exactly '{% … %}' with nothing "
                    "outside the delimiters",
                    ptr,
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                self.expressions(item, join_pointer(ptr, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.expressions(item, join_pointer(ptr, index))

    def assign(self, holder: dict[str, Any], ptr: str, language: str) -> None:
        if "Assign" not in holder:
            return
        aptr = join_pointer(ptr, "Assign")
        block = holder["Assign"]
        if not isinstance(block, dict):
            self.schema("INVALID_ASSIGN", "Assign must be an object", aptr)
            return
        for key in block:
            name = key[:-2] if key.endswith(".$") and language == "JSONPath" else key
            if not _VARIABLE_NAME.match(name) or name == "states":
                self.schema(
                    "INVALID_VARIABLE_NAME",
                    f"{name!r} is not a valid variable name (letters, digits and _, "
                    "not starting with a digit, at most 80, not 'states')",
                    join_pointer(aptr, key),
                )
        if language == "JSONPath":
            self.template(block, aptr)
        else:
            self.expressions(block, aptr)

    # --- per state type -------------------------------------------------------------------

    def state_pass(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        if isinstance(state.get("Result"), str) and state["Result"].startswith("$."):
            self.report(
                "SCHEMA_VALIDATION_FAILED",
                "PASS_RESULT_IS_STATIC",
                "Result is a static value; this path-looking string is not evaluated",
                join_pointer(ptr, "Result"),
                "WARNING",
            )

    def state_succeed(self, *_: Any) -> None:
        return None

    def state_task(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        if not isinstance(state.get("Resource"), str) or not state.get("Resource"):
            self.schema(
                "MISSING_RESOURCE",
                "a Task needs a Resource string",
                join_pointer(ptr, "Resource") if "Resource" in state else ptr,
            )
        elif state["Resource"].startswith(RESERVED_RESOURCE):
            # The runtime's own tasks (a Distributed Map's runs): a definition naming one
            # would start runs of any processor pointer it likes.
            self.schema(
                "RESERVED_RESOURCE",
                f"Resources starting with {RESERVED_RESOURCE!r} are Legato's own",
                join_pointer(ptr, "Resource"),
            )
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        for key, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
            if key in state and not jsonata.is_expression(value) and not _bounded(value):
                self.schema(
                    "INVALID_TIMEOUT",
                    f"{key} must be a positive integer of at most 99999999",
                    join_pointer(ptr, key),
                )
            if key in state and key + "Path" in state:
                self.schema(
                    "FIELD_CONFLICT",
                    f"{key} and {key}Path are exclusive",
                    join_pointer(ptr, key + "Path"),
                )
        if _bounded(timeout) and _bounded(heartbeat) and heartbeat >= timeout:
            self.schema(
                "HEARTBEAT_NOT_BELOW_TIMEOUT",
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
                join_pointer(ptr, "HeartbeatSeconds"),
            )
        self.recovery(state, states, ptr, language)

    def recovery(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        self.retriers(state, join_pointer(ptr, "Retry"))
        self.catchers(state, states, join_pointer(ptr, "Catch"), language)

    def retriers(self, state: dict[str, Any], ptr: str) -> None:
        if "Retry" not in state:
            return
        retriers = state["Retry"]
        if not isinstance(retriers, list):
            self.schema("INVALID_RETRY", "Retry must be an array", ptr)
            return
        for index, retrier in enumerate(retriers):
            rptr = join_pointer(ptr, index)
            if not isinstance(retrier, dict):
                self.schema("INVALID_RETRY", "a retrier must be an object", rptr)
                continue
            self.error_equals(retrier, rptr, last=index == len(retriers) - 1)
            for key in retrier:
                if key not in RETRIER:
                    self.schema(
                        "UNKNOWN_FIELD",
                        f"field {key!r} is not valid in a retrier",
                        join_pointer(rptr, key),
                    )
            checks = (
                ("MaxAttempts", _nonneg_int, "a non-negative integer"),
                ("IntervalSeconds", _positive_int, "a positive integer"),
                ("MaxDelaySeconds", _positive_int, "a positive integer"),
                ("BackoffRate", lambda v: _number(v) and v >= 1, "a number >= 1.0"),
            )
            for key, ok, what in checks:
                if key in retrier and not ok(retrier[key]):
                    self.schema("INVALID_RETRY", f"{key} must be {what}", join_pointer(rptr, key))
            if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
                self.schema(
                    "INVALID_RETRY",
                    "JitterStrategy must be FULL or NONE",
                    join_pointer(rptr, "JitterStrategy"),
                )

    def catchers(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        if "Catch" not in state:
            return
        catchers = state["Catch"]
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
                if key not in CATCHER:
                    self.schema(
                        "UNKNOWN_FIELD",
                        f"field {key!r} is not valid in a catcher",
                        join_pointer(cptr, key),
                    )
            if "Next" not in catcher:
                self.schema("MISSING_NEXT", "a catcher needs Next", cptr)
            else:
                self.target(catcher["Next"], states, join_pointer(cptr, "Next"))  # type: ignore[attr-defined]
            if language == "JSONPath":
                if catcher.get("ResultPath") is not None:
                    self.path(catcher["ResultPath"], join_pointer(cptr, "ResultPath"), True)
                if "Output" in catcher:
                    self.schema(
                        "JSONATA_FIELD_IN_JSONPATH_STATE",
                        "Output is a JSONata field",
                        join_pointer(cptr, "Output"),
                    )
            else:
                if "ResultPath" in catcher:
                    self.schema(
                        "JSONPATH_FIELD_IN_JSONATA_STATE",
                        "ResultPath is a JSONPath field",
                        join_pointer(cptr, "ResultPath"),
                    )
                self.expressions(catcher.get("Output"), join_pointer(cptr, "Output"))
            self.assign(catcher, cptr, language)

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
        for index, name in enumerate(names):
            if name.startswith("States.") and name not in PREDEFINED_ERRORS:
                self.schema(
                    "UNKNOWN_PREDEFINED_ERROR",
                    f"{name!r} is not a predefined error; names starting with "
                    "'States.' are reserved",
                    join_pointer(eptr, index),
                )

    def state_wait(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
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
        if jsonata.is_expression(value) and language == "JSONata":
            return
        if key == "Seconds" and not (_nonneg_int(value) and value <= 99999999):
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

    def state_fail(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        for key in ("Error", "Cause"):
            if key in state and key + "Path" in state:
                self.schema(
                    "FIELD_CONFLICT",
                    f"{key} and {key}Path are exclusive",
                    join_pointer(ptr, key + "Path"),
                )
            if key in state and not isinstance(state[key], str):
                self.schema("INVALID_FAIL_FIELD", f"{key} must be a string", join_pointer(ptr, key))
            if key + "Path" in state and language == "JSONPath":
                self.dynamic(state[key + "Path"], join_pointer(ptr, key + "Path"))
        error = state.get("Error")
        if (
            isinstance(error, str)
            and error.startswith("States.")
            and not jsonata.is_expression(error)
        ):
            self.schema(
                "RESERVED_ERROR_NAME",
                f"{error!r}: error names starting with 'States.' "
                "are reserved for Step Functions' own errors",
                join_pointer(ptr, "Error"),
            )

    def state_choice(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
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
                if language == "JSONata":
                    self.jsonata_rule(rule, rptr)
                else:
                    self.rule(rule, rptr, top=True)
                if isinstance(rule, dict):
                    self.assign(rule, rptr, language)
                    if "Next" not in rule:
                        self.schema("MISSING_NEXT", "a choice rule needs Next", rptr)
                    else:
                        self.target(rule["Next"], states, join_pointer(rptr, "Next"))  # type: ignore[attr-defined]
        if "Default" in state:
            self.target(state["Default"], states, join_pointer(ptr, "Default"))  # type: ignore[attr-defined]

    def jsonata_rule(self, rule: Any, ptr: str) -> None:
        if not isinstance(rule, dict):
            self.schema("INVALID_CHOICE_RULE", "a choice rule must be an object", ptr)
            return
        for key in rule:
            if key not in CHOICE_RULE_JSONATA:
                self.schema(
                    "JSONPATH_FIELD_IN_JSONATA_STATE"
                    if key == "Variable" or key in choice.COMPARISONS
                    else "UNKNOWN_FIELD",
                    f"field {key!r} is not valid in a JSONata choice rule (use Condition)",
                    join_pointer(ptr, key),
                )
        if "Condition" not in rule:
            self.schema("MISSING_CONDITION", "a JSONata choice rule needs Condition", ptr)
        else:
            self.expressions(rule["Condition"], join_pointer(ptr, "Condition"))
        self.expressions(rule.get("Output"), join_pointer(ptr, "Output"))

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
        self.operand(op, rule[op], join_pointer(ptr, op))

    def operand(self, op: str, value: Any, ptr: str) -> None:
        if op.endswith("Path"):
            self.path(value, ptr, reference=True)
            return
        expected = (
            "a string"
            if op.startswith("String")
            else "a number"
            if op.startswith("Numeric")
            else "a boolean"
            if op.startswith(("Boolean", "Is"))
            else "an RFC 3339 timestamp"
        )
        ok = {
            "a string": isinstance(value, str),
            "a number": _number(value),
            "a boolean": isinstance(value, bool),
            "an RFC 3339 timestamp": choice.parse_timestamp(value) is not None,
        }[expected]
        if not ok:
            self.schema("INVALID_OPERAND", f"{op} needs {expected}, got {value!r}", ptr)

    def state_parallel(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        branches = state.get("Branches")
        bptr = join_pointer(ptr, "Branches")
        if not isinstance(branches, list) or not branches:
            self.schema(
                "MISSING_BRANCHES",
                "a Parallel needs a non-empty Branches array",
                bptr if "Branches" in state else ptr,
            )
        else:
            for index, branch in enumerate(branches):
                self.machine(branch, join_pointer(bptr, index), language, allowed=BRANCH)
        self.recovery(state, states, ptr, language)

    def state_map(
        self, state: dict[str, Any], states: dict[str, Any], ptr: str, language: str
    ) -> None:
        if "ItemProcessor" in state and "Iterator" in state:
            self.schema(
                "PROCESSOR_AND_ITERATOR",
                "use ItemProcessor or the deprecated Iterator, not both",
                join_pointer(ptr, "Iterator"),
            )
        if "ItemSelector" in state and "Parameters" in state:
            self.schema(
                "SELECTOR_AND_PARAMETERS",
                "use ItemSelector or the deprecated Parameters, not both",
                join_pointer(ptr, "Parameters"),
            )
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        if key not in state:
            self.schema("MISSING_ITEM_PROCESSOR", "a Map needs an ItemProcessor", ptr)
        else:
            self.machine(state[key], join_pointer(ptr, key), language, allowed=PROCESSOR)
            config = state[key].get("ProcessorConfig") if isinstance(state[key], dict) else None
            if isinstance(config, dict) and config.get("Mode", "INLINE") not in (
                "INLINE",
                "DISTRIBUTED",
            ):
                self.schema(
                    "INVALID_PROCESSOR_MODE",
                    "ProcessorConfig.Mode must be INLINE or DISTRIBUTED",
                    join_pointer(join_pointer(ptr, key), "ProcessorConfig"),
                )
        for name in ("MaxConcurrency", "ToleratedFailureCount"):
            value = state.get(name)
            if name in state and not jsonata.is_expression(value) and not _nonneg_int(value):
                self.schema(
                    "INVALID_MAP_FIELD",
                    f"{name} must be a non-negative integer",
                    join_pointer(ptr, name),
                )
        pct = state.get("ToleratedFailurePercentage")
        if (
            "ToleratedFailurePercentage" in state
            and not jsonata.is_expression(pct)
            and not (_number(pct) and 0 <= pct <= 100)
        ):
            self.schema(
                "INVALID_MAP_FIELD",
                "ToleratedFailurePercentage must be 0..100",
                join_pointer(ptr, "ToleratedFailurePercentage"),
            )
        batcher = state.get("ItemBatcher")
        if batcher is not None:
            if not isinstance(batcher, dict):
                self.schema(
                    "INVALID_ITEM_BATCHER",
                    "ItemBatcher must be an object",
                    join_pointer(ptr, "ItemBatcher"),
                )
            else:
                for field_name in batcher:
                    if field_name not in ITEM_BATCHER:
                        self.schema(
                            "UNKNOWN_FIELD",
                            f"field {field_name!r} is not valid in an ItemBatcher",
                            join_pointer(join_pointer(ptr, "ItemBatcher"), field_name),
                        )
        for block, resources in (("ItemReader", READERS), ("ResultWriter", WRITERS)):
            value = state.get(block)
            if block not in state:
                continue
            bptr = join_pointer(ptr, block)
            if not isinstance(value, dict) or value.get("Resource") not in resources:
                self.report(
                    "UNSUPPORTED_FEATURE",
                    f"{block.upper()}_RESOURCE",
                    f"{block}.Resource must be one of {', '.join(sorted(resources))}",
                    join_pointer(bptr, "Resource") if isinstance(value, dict) else bptr,
                )
            elif language == "JSONPath" and "Parameters" in value:
                self.template(value["Parameters"], join_pointer(bptr, "Parameters"))
        self.recovery(state, states, ptr, language)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _nonneg_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bounded(value: Any) -> bool:
    return _positive_int(value) and value <= 99999999
