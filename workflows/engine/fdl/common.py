"""Shared by both converters: diagnostic codes, unique state names, the converter base."""

from __future__ import annotations

import re
from typing import Any

from ..definition import Source, join_pointer, position
from ..validate import Diagnostic

ERROR = "ERROR"
WARNING = "WARNING"
SCHEMA = "SCHEMA_VALIDATION_FAILED"
UNSUPPORTED = "UNSUPPORTED_FEATURE"
TARGET = "MISSING_TRANSITION_TARGET"

# FDL and CloudFlow share the wildcard and timeout error names; ASL spells them States.*.
ERROR_NAMES = {"FnF.ALL": "States.ALL", "FnF.Timeout": "States.Timeout"}
CHILD_FLOW = re.compile(r"^acs:fnf:[^:]*:[^:]*:flow/(?P<name>[^/]+)$")


class _Names:
    """Unique state names within one ASL scope (top level, a branch, an iteration)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        return name


class _Converter:
    def __init__(self, source: Source, resource_map: dict[str, str]) -> None:
        self.source = source
        self.resource_map = resource_map
        self.diagnostics: list[Diagnostic] = []
        # ASL wants state names unique across the whole machine, branches included.
        self.names = _Names()

    def report(self, severity: str, code: str, rule: str, message: str, pointer: str) -> None:
        line, column = position(self.source, pointer)
        self.diagnostics.append(Diagnostic(code, rule, message, pointer, severity, line, column))

    def error(self, rule: str, message: str, pointer: str, code: str = SCHEMA) -> None:
        self.report(ERROR, code, rule, message, pointer)

    def warn(self, rule: str, message: str, pointer: str, code: str = UNSUPPORTED) -> None:
        self.report(WARNING, code, rule, message, pointer)

    def run(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def unknown_fields(self, obj: dict[str, Any], allowed: set[str], ptr: str, what: str) -> None:
        for key in obj:
            if key not in allowed:
                self.warn(
                    "FDL_UNKNOWN_FIELD",
                    f"field {key!r} is not known in {what}; it was ignored",
                    join_pointer(ptr, key),
                )

    def resource(self, arn: str, suffix: str, ptr: str) -> str:
        """Map an Alibaba resource to a Legato one, or keep it and warn."""
        if arn in self.resource_map:
            return self.resource_map[arn] + suffix
        child = CHILD_FLOW.match(arn)
        if child:
            return f"flow:{child['name']}{suffix}"
        extra = f" (its {suffix[1:]} pattern is not applied)" if suffix else ""
        self.warn(
            "FDL_UNMAPPED_RESOURCE",
            f"{arn!r} has no Legato equivalent and was kept as the Resource{extra}; "
            "map it with --map-resource ARN=RESOURCE",
            ptr,
        )
        return arn

    def error_names(self, names: Any, ptr: str) -> list[str] | None:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.error("FDL_INVALID_ERRORS", "errors must be a non-empty list of strings", ptr)
            return None
        return [ERROR_NAMES.get(n, n) for n in names]

    def retriers(self, retriers: Any, ptr: str, names: dict[str, str]) -> list[dict[str, Any]]:
        """Convert a retry list; ``names`` maps the dialect's field names to ASL's."""
        if not isinstance(retriers, list):
            self.error("FDL_INVALID_RETRY", "retry must be a list", ptr)
            return []
        out = []
        for index, retrier in enumerate(retriers):
            rptr = join_pointer(ptr, index)
            if not isinstance(retrier, dict):
                self.error("FDL_INVALID_RETRY", "a retrier must be an object", rptr)
                continue
            converted: dict[str, Any] = {}
            for key, value in retrier.items():
                kptr = join_pointer(rptr, key)
                if key not in names:
                    self.warn("FDL_UNKNOWN_FIELD", f"retrier field {key!r} was ignored", kptr)
                elif names[key] == "ErrorEquals":
                    errors = self.error_names(value, kptr)
                    if errors is not None:
                        converted["ErrorEquals"] = errors
                elif names[key] == "Comment":
                    converted["Comment"] = str(value)
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    self.error("FDL_INVALID_RETRY", f"{key} must be a number", kptr)
                else:
                    converted[names[key]] = value
            if "ErrorEquals" not in converted:
                if not any(names.get(k) == "ErrorEquals" for k in retrier):
                    self.error("FDL_INVALID_RETRY", "a retrier needs its list of errors", rptr)
                continue
            out.append(converted)
        return out
