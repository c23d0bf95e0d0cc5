"""CloudFlow (``Type: StateMachine``) converter: the definition, and each state type."""

# CloudFlow is already a state machine, so its conversion is mostly renaming.

from __future__ import annotations

from typing import Any

from ..definition import join_pointer
from .cloudflow_machines import CF_FIELDS, _CfScope, _CloudFlowMachines
from .common import SCHEMA, UNSUPPORTED
from .conditions import ExpressionError, convert_condition

TASK_MODE_SUFFIX = {
    None: "",
    "RequestComplete": "",
    "WaitForSystemCallback": ".sync",
    "WaitForCustomCallback": ".waitForTaskToken",
}
DISTRIBUTED_FIELDS = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxItems",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
)


class _CloudFlow(_CloudFlowMachines):
    """Converts a CloudFlow state machine."""

    def run(self) -> dict[str, Any] | None:
        root = self.source.data
        self.unknown_fields(
            root,
            {"Type", "Name", "SpecVersion", "StartAt", "States", "Description"},
            "",
            "a CloudFlow definition",
        )
        if "SpecVersion" in root and root["SpecVersion"] != "v1":
            self.warn("FDL_SPEC_VERSION", "only SpecVersion v1 is known", "/SpecVersion")
        machine = self.machine(root, "")
        comment = "Converted from Alibaba Cloud CloudFlow"
        if isinstance(root.get("Name"), str):
            comment += f" flow {root['Name']}"
        if isinstance(root.get("Description"), str):
            comment += f": {root['Description']}"
        return {"Comment": comment, **machine}

    # --- state types ---------------------------------------------------------------------

    def state_task(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        mode = data.get("TaskMode")
        if not isinstance(mode, str | None) or mode not in TASK_MODE_SUFFIX:
            self.error(
                "FDL_INVALID_TASK_MODE",
                "TaskMode must be RequestComplete, WaitForSystemCallback or WaitForCustomCallback",
                join_pointer(ptr, "TaskMode"),
            )
            mode = None
        suffix = TASK_MODE_SUFFIX[mode]
        params = data.get("Parameters")
        pptr = join_pointer(ptr, "Parameters")
        if params is not None and not isinstance(params, dict):
            self.error("FDL_INVALID_PARAMETERS", "Parameters must be an object", pptr)
            params = None
        action = data.get("Action")
        roots = {"Input": "$"}
        if action == "FC:InvokeFunction":
            params = params or {}
            arn = params.get("resourceArn")
            if not isinstance(arn, str) or not arn:
                self.error(
                    "FDL_MISSING_RESOURCE", "FC:InvokeFunction needs Parameters.resourceArn", pptr
                )
                state["Resource"] = "FC:InvokeFunction"
            else:
                state["Resource"] = self.resource(arn, suffix, join_pointer(pptr, "resourceArn"))
            if params.get("invocationType") == "Async":
                self.warn(
                    "FDL_ASYNC_INVOCATION",
                    "an Async invocation does not wait for the function; the Legato task does",
                    join_pointer(pptr, "invocationType"),
                )
            # The body is the event the function receives, i.e. the task input.
            if "body.$" in params:
                body = self.expression(params["body.$"], join_pointer(pptr, "body.$"), roots)
                if body is not None and body.startswith("$"):
                    state["InputPath"] = body
                elif body is not None:
                    state["Parameters"] = {"body.$": body}
            elif isinstance(params.get("body"), dict):
                state["Parameters"] = self.template(
                    params["body"], join_pointer(pptr, "body"), roots
                )
            elif "body" in params:
                self.error(
                    "FDL_UNSUPPORTED_BODY",
                    "only an object body (or body.$) can become the task input",
                    join_pointer(pptr, "body"),
                    UNSUPPORTED,
                )
            self.unknown_fields(
                params,
                {"resourceArn", "invocationType", "body", "body.$", "qualifier"},
                pptr,
                "FC:InvokeFunction parameters",
            )
        elif isinstance(action, str) and action:
            state["Resource"] = self.resource(action, suffix, join_pointer(ptr, "Action"))
            if params is not None:
                state["Parameters"] = self.template(params, pptr, roots)
        elif isinstance(data.get("Resource") or data.get("ResourceArn"), str):
            key = "Resource" if isinstance(data.get("Resource"), str) else "ResourceArn"
            state["Resource"] = self.resource(data[key], suffix, join_pointer(ptr, key))
            if params is not None:
                state["Parameters"] = self.template(params, pptr, roots)
        else:
            self.error("FDL_MISSING_RESOURCE", "a Task needs an Action (or a Resource)", ptr)
            state["Resource"] = "acs:unknown"
        if "Timeout" in data:
            timeout = data["Timeout"]
            seconds = int(timeout) if isinstance(timeout, str) and timeout.isdigit() else timeout
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
                self.error(
                    "FDL_INVALID_TIMEOUT",
                    "Timeout must be a positive number of seconds",
                    join_pointer(ptr, "Timeout"),
                )
            else:
                state["TimeoutSeconds"] = seconds
        self.errors_and_retries(data, ptr, name, state, scope)
        return self.result_shape(data, ptr, state, None)

    def state_pass(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        roots = {"Input": "$", "Output": "$"}
        if "InputConstructor" in data:
            state["Parameters"] = self.template(
                data["InputConstructor"], join_pointer(ptr, "InputConstructor"), roots
            )
            return roots
        if "OutputConstructor" in data:
            # A Pass outputs its input, so one template does both.
            state["Parameters"] = self.template(
                data["OutputConstructor"], join_pointer(ptr, "OutputConstructor"), roots
            )
        return None

    def state_wait(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        given = [k for k in CF_FIELDS["Wait"] if k in data]
        if len(given) != 1:
            self.error(
                "FDL_INVALID_WAIT", "a Wait needs exactly one of Seconds or UntilDateTime", ptr
            )
            state["Seconds"] = 0
            return {"Input": "$", "Output": "$"}
        key = given[0]
        value, vptr = data[key], join_pointer(ptr, key)
        asl = "Seconds" if key.startswith("Seconds") else "Timestamp"
        if key.endswith(".$"):
            path = self.expression(value, vptr, {"Input": "$"})
            if path is not None and path.startswith("$"):
                state[asl + "Path"] = path
            elif path is not None:
                self.error("FDL_UNSUPPORTED_EXPRESSION", "a Wait needs a plain path here", vptr)
        elif asl == "Seconds" and isinstance(value, int) and not isinstance(value, bool):
            state["Seconds"] = value
        elif asl == "Timestamp" and isinstance(value, str):
            state["Timestamp"] = value
        else:
            self.error("FDL_INVALID_WAIT", f"{key} has the wrong type", vptr)
        return {"Input": "$", "Output": "$"}

    def state_succeed(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        return {"Input": "$", "Output": "$"}

    def state_fail(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        for asl, names in (("Error", ("Error", "Code")), ("Cause", ("Cause", "Detail"))):
            for key in names:
                if isinstance(data.get(key), str):
                    state[asl] = data[key]
                elif key + ".$" in data:
                    path = self.expression(
                        data[key + ".$"], join_pointer(ptr, key + ".$"), {"Input": "$"}
                    )
                    if path is not None:
                        state[asl + "Path"] = path
        return None

    def state_choice(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        state["Choices"] = []
        bptr = join_pointer(ptr, "Branches") if "Branches" in data else ptr
        branches = data.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.error("FDL_MISSING_CHOICES", "a Choice needs a non-empty Branches list", bptr)
            branches = []
        for index, branch in enumerate(branches):
            iptr = join_pointer(bptr, index)
            if not isinstance(branch, dict):
                self.error("FDL_INVALID_CHOICE", "a choice branch must be an object", iptr)
                continue
            self.unknown_fields(
                branch, {"Condition", "Next", "Description"}, iptr, "a choice branch"
            )
            text = branch.get("Condition")
            if not isinstance(text, str):
                self.error("FDL_MISSING_CONDITION", "a choice branch needs a Condition", iptr)
                continue
            try:
                rule = convert_condition(text, lambda p: self.path(p, {"Input": "$"}))
            except ExpressionError as exc:
                self.error(
                    "FDL_UNSUPPORTED_CONDITION",
                    f"cannot convert the condition {text!r}: {exc}",
                    join_pointer(iptr, "Condition"),
                    UNSUPPORTED,
                )
                continue
            state["Choices"].append(rule)
            self.target(rule, "Next", branch.get("Next"), join_pointer(iptr, "Next"), scope)
        if "Default" in data:
            self.target(state, "Default", data["Default"], join_pointer(ptr, "Default"), scope)
        else:
            self.warn(
                "FDL_MISSING_DEFAULT",
                "CloudFlow requires Default; without it no match fails with States.NoChoiceMatched",
                ptr,
                SCHEMA,
            )
        return None

    def branch_machine(self, branch: Any, ptr: str, what: str) -> dict[str, Any]:
        if not isinstance(branch, dict):
            self.error(
                "FDL_INVALID_BRANCH", f"{what} must be an object with StartAt and States", ptr
            )
            return {"StartAt": "", "States": {}}
        self.unknown_fields(branch, {"StartAt", "States", "Description"}, ptr, what)
        return self.machine(branch, ptr)

    def state_parallel(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        branches = data.get("Branches")
        bptr = join_pointer(ptr, "Branches") if "Branches" in data else ptr
        if not isinstance(branches, list) or not branches:
            self.error("FDL_MISSING_BRANCHES", "a Parallel needs a non-empty Branches list", bptr)
            branches = []
        state["Branches"] = [
            self.branch_machine(b, join_pointer(bptr, i), "a branch")
            for i, b in enumerate(branches)
        ]
        self.errors_and_retries(data, ptr, name, state, scope)
        # CloudFlow outputs {"Branch0": ..., "Branch1": ...}; ASL outputs an array.
        selector = {f"Branch{i}.$": f"$[{i}]" for i in range(len(branches))}
        return self.result_shape(data, ptr, state, selector)

    def state_map(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        for key in DISTRIBUTED_FIELDS:
            if key in data:
                self.error(
                    "FDL_DISTRIBUTED_MAP",
                    f"{key}: distributed Map (OSS readers/writers, batching, failure tolerance) "
                    "has no Legato equivalent",
                    join_pointer(ptr, key),
                    UNSUPPORTED,
                )
        config = data.get("ProcessorConfig")
        if config is not None and (
            not isinstance(config, dict) or str(config.get("Mode", "Inline")).lower() != "inline"
        ):
            self.error(
                "FDL_DISTRIBUTED_MAP",
                "only the inline Map mode can be converted",
                join_pointer(ptr, "ProcessorConfig"),
                UNSUPPORTED,
            )
        items = data.get("ItemsPath")
        if isinstance(items, str):
            path = self.path(items, {"Input": "$"})
            if path is None:
                self.error(
                    "FDL_UNSUPPORTED_EXPRESSION",
                    f"ItemsPath {items!r} is not a plain $Input path",
                    join_pointer(ptr, "ItemsPath"),
                    UNSUPPORTED,
                )
            else:
                state["ItemsPath"] = path
        else:
            self.error("FDL_MISSING_ITEMS_PATH", "a Map needs ItemsPath", ptr)
        key = "Processor" if "Processor" in data else "ItemProcessor"
        state["ItemProcessor"] = self.branch_machine(
            data.get(key), join_pointer(ptr, key) if key in data else ptr, "a Map processor"
        )
        if "ItemConstructor" in data:
            state["ItemSelector"] = self.template(
                data["ItemConstructor"],
                join_pointer(ptr, "ItemConstructor"),
                {"Input": "$", "Item": "$$.Map.Item.Value", "Index": "$$.Map.Item.Index"},
            )
        for key in ("MaxConcurrency", "MaxConcuccency"):
            if key in data:
                state["MaxConcurrency"] = data[key]
        self.errors_and_retries(data, ptr, name, state, scope)
        # CloudFlow outputs {"Items": [...]}; ASL outputs the array itself.
        return self.result_shape(data, ptr, state, {"Items.$": "$"})
