"""CloudFlow state lists: names, transitions, constructors, retries and catches."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..definition import join_pointer
from .cloudflow_expressions import _CloudFlowExpressions
from .common import TARGET, _Names

CF_COMMON = {"Name", "Type", "Description", "Next", "End", "InputConstructor", "OutputConstructor"}
CF_FIELDS: dict[str, set[str]] = {
    "Task": {
        "Action",
        "TaskMode",
        "Parameters",
        "Resource",
        "ResourceArn",
        "Timeout",
        "Retry",
        "Catch",
    },
    "Pass": set(),
    "Wait": {"Seconds", "Seconds.$", "UntilDateTime", "UntilDateTime.$"},
    "Choice": {"Branches", "Default"},
    "Parallel": {"Branches", "Retry", "Catch"},
    "Map": {
        "ItemsPath",
        "Processor",
        "ItemProcessor",
        "ItemConstructor",
        "MaxConcurrency",
        "MaxConcuccency",
        "Retry",
        "Catch",
        "ProcessorConfig",
    },
    "Succeed": set(),
    "Fail": {"Error", "Cause", "Code", "Detail", "Error.$", "Cause.$", "Code.$", "Detail.$"},
}


@dataclass
class _CfScope:
    states: dict[str, Any]
    names: _Names
    known: set[str]
    fixups: list[tuple[dict[str, Any], str]]


class _CloudFlowMachines(_CloudFlowExpressions):
    """Converts a list of states; the state types come from a subclass."""

    RETRY_NAMES = {
        "Errors": "ErrorEquals",
        "IntervalSeconds": "IntervalSeconds",
        "MaxAttempts": "MaxAttempts",
        "BackoffRate": "BackoffRate",
        "MaxBackoffSeconds": "MaxDelaySeconds",
        "Description": "Comment",
    }

    def machine(self, obj: dict[str, Any], ptr: str) -> dict[str, Any]:
        """Convert ``{StartAt, States: [...]}``; helper states get names with a dot."""
        states_in = obj.get("States")
        sptr = join_pointer(ptr, "States") if "States" in obj else ptr
        if not isinstance(states_in, list) or not states_in:
            self.error("FDL_MISSING_STATES", "States must be a non-empty list of states", sptr)
            states_in = []
        names = self.names
        planned: list[tuple[dict[str, Any], str, str]] = []
        for index, state in enumerate(states_in):
            item = join_pointer(sptr, index)
            if not isinstance(state, dict):
                self.error("FDL_INVALID_STATE", "a state must be an object", item)
                continue
            name = state.get("Name")
            if not isinstance(name, str) or not name:
                self.error("FDL_MISSING_NAME", "a state needs a Name", item)
                continue
            if name in names.used:
                self.error(
                    "FDL_DUPLICATE_STATE_NAME",
                    f"another state is already named {name!r}",
                    join_pointer(item, "Name"),
                )
                continue
            names.take(name)
            planned.append((state, item, name))
        scope = _CfScope({}, names, {name for _, _, name in planned}, [])
        entries = {name: self.state(state, item, name, scope) for state, item, name in planned}
        # Transitions the user wrote name states; a state may now start with a helper Pass.
        for container, key in scope.fixups:
            container[key] = entries.get(container[key], container[key])
        start = obj.get("StartAt")
        if not isinstance(start, str) or start not in entries:
            self.error(
                "FDL_UNKNOWN_START",
                f"StartAt {start!r} does not name a state",
                join_pointer(ptr, "StartAt") if "StartAt" in obj else ptr,
                TARGET,
            )
            start = planned[0][2] if planned else ""
        return {"StartAt": entries.get(start, start), "States": scope.states}

    def target(
        self, container: dict[str, Any], key: str, value: Any, ptr: str, scope: _CfScope
    ) -> None:
        """Set a user-written transition (resolved to entry states once all are converted)."""
        if not isinstance(value, str) or value not in scope.known:
            self.error(
                "FDL_UNKNOWN_NEXT", f"{value!r} does not name a state in this scope", ptr, TARGET
            )
            return
        container[key] = value
        scope.fixups.append((container, key))

    def state(self, data: dict[str, Any], ptr: str, name: str, scope: _CfScope) -> str:
        """Convert one state (plus helpers); return the name of its first ASL state."""
        kind = data.get("Type")
        if not isinstance(kind, str) or kind not in CF_FIELDS:
            self.error(
                "FDL_UNKNOWN_STATE_TYPE",
                f"unknown state Type {kind!r}",
                join_pointer(ptr, "Type") if "Type" in data else ptr,
            )
            scope.states[name] = {"Type": "Pass", "End": True}
            return name
        self.unknown_fields(data, CF_COMMON | CF_FIELDS[kind], ptr, f"a {kind} state")
        entry = name
        if "InputConstructor" in data and kind != "Pass":
            # ASL has no input template for these states: build the input in a Pass first.
            entry = scope.names.take(f"{name}.Input")
            scope.states[entry] = {
                "Type": "Pass",
                "Comment": "CloudFlow InputConstructor",
                "Parameters": self.template(
                    data["InputConstructor"], join_pointer(ptr, "InputConstructor"), {"Input": "$"}
                ),
                "Next": name,
            }
        state: dict[str, Any] = {"Type": kind}
        if isinstance(data.get("Description"), str):
            state["Comment"] = data["Description"]
        scope.states[name] = state
        post = getattr(self, "state_" + kind.lower())(data, ptr, name, state, scope)
        last = state
        optr = join_pointer(ptr, "OutputConstructor")
        if "OutputConstructor" in data and post is not None:
            helper = scope.names.take(f"{name}.Output")
            shaped = {
                "Type": "Pass",
                "Comment": "CloudFlow OutputConstructor",
                "Parameters": self.template(data["OutputConstructor"], optr, post),
            }
            if kind == "Succeed":
                # Succeed is terminal, so the output is shaped just before it.
                scope.states[name] = {**shaped, "Next": helper}
                scope.states[helper] = state
                return entry
            state["Next"] = helper
            scope.states[helper] = shaped
            last = shaped
        elif "OutputConstructor" in data and kind in ("Choice", "Fail"):
            self.warn(
                "FDL_UNSUPPORTED_FIELD",
                f"OutputConstructor on a {kind} state has no ASL equivalent; it was ignored",
                optr,
            )
        if kind in ("Choice", "Succeed", "Fail"):
            for key in ("Next", "End"):
                if key in data:
                    self.warn(
                        "FDL_UNKNOWN_FIELD",
                        f"a {kind} state takes no {key}; it was ignored",
                        join_pointer(ptr, key),
                    )
        elif data.get("End") is True:
            last["End"] = True
        elif "Next" in data:
            self.target(last, "Next", data["Next"], join_pointer(ptr, "Next"), scope)
        else:
            self.error("FDL_MISSING_NEXT_OR_END", "the state needs Next or End: true", ptr)
        return entry

    def result_shape(
        self, data: dict[str, Any], ptr: str, state: dict[str, Any], selector: dict[str, Any] | None
    ) -> dict[str, str] | None:
        """Output of Task/Parallel/Map; returns the roots for an OutputConstructor Pass."""
        if "OutputConstructor" not in data:
            if selector is not None:
                state["ResultSelector"] = selector
            return None
        constructor = data["OutputConstructor"]
        if selector is None and not re.search(
            r"\$(Input|Context\.Current\.Input)", json.dumps(constructor)
        ):
            # Only the result is read: a ResultSelector shapes it in place.
            state["ResultSelector"] = self.template(
                constructor, join_pointer(ptr, "OutputConstructor"), {"Output": "$"}
            )
            return None
        if selector is not None:
            state["ResultSelector"] = selector
        state["ResultPath"] = "$.__output"
        return {"Input": "$", "Output": "$.__output"}

    def errors_and_retries(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> None:
        if "Retry" in data:
            retry = self.retriers(data["Retry"], join_pointer(ptr, "Retry"), self.RETRY_NAMES)
            if retry:
                state["Retry"] = retry
        if "Catch" not in data:
            return
        cptr = join_pointer(ptr, "Catch")
        if not isinstance(data["Catch"], list):
            self.error("FDL_INVALID_CATCH", "Catch must be a list", cptr)
            return
        out = []
        for index, catcher in enumerate(data["Catch"]):
            iptr = join_pointer(cptr, index)
            if not isinstance(catcher, dict):
                self.error("FDL_INVALID_CATCH", "a catcher must be an object", iptr)
                continue
            self.unknown_fields(
                catcher, {"Errors", "Next", "Description", "OutputConstructor"}, iptr, "a catcher"
            )
            errors = self.error_names(
                catcher.get("Errors"), join_pointer(iptr, "Errors") if "Errors" in catcher else iptr
            )
            if errors is None:
                continue
            converted: dict[str, Any] = {"ErrorEquals": errors}
            if isinstance(catcher.get("Description"), str):
                converted["Comment"] = catcher["Description"]
            holder: dict[str, Any] = converted
            if "OutputConstructor" in catcher:
                helper = scope.names.take(f"{name}.Catch[{index}]")
                converted["ResultPath"] = "$.__error"
                converted["Next"] = helper
                holder = {
                    "Type": "Pass",
                    "Comment": "CloudFlow Catch OutputConstructor",
                    "Parameters": self.template(
                        catcher["OutputConstructor"],
                        join_pointer(iptr, "OutputConstructor"),
                        {"Input": "$", "Error": "$.__error"},
                    ),
                }
                scope.states[helper] = holder
            self.target(holder, "Next", catcher.get("Next"), join_pointer(iptr, "Next"), scope)
            out.append(converted)
        if out:
            state["Catch"] = out
