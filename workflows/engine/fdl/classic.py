"""Classic FDL (``version: v1``) converter: the flow, and each step type."""

from __future__ import annotations

from typing import Any

from ..definition import join_pointer
from ..validate import successors
from .classic_scopes import _carry, _ClassicScopes, _Scope, _Step
from .common import UNSUPPORTED
from .conditions import ExpressionError, convert_condition

PATTERN_SUFFIX = {
    None: "",
    "requestResponse": "",
    "sync": ".sync",
    "waitForCallback": ".waitForTaskToken",
}
FLOW_FIELDS = {"version", "type", "steps", "inputMappings", "outputMappings", "timeoutSeconds"}


def _step_path(expr: str, base: str) -> str | None:
    """``$.key`` (relative to the step input) inside the envelope at ``base``."""
    if expr == "$":
        return base
    if expr.startswith(("$.", "$[")):
        return base + expr[1:]
    return None


def _prune(states: dict[str, Any], start: str, keep: set[str]) -> None:
    """Drop generated states nothing reaches (e.g. a branch exit after a fail step)."""
    seen, todo = {start}, [start]
    while todo:
        for target in successors(states.get(todo.pop())):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    for name in [n for n in states if n not in seen and n not in keep]:
        del states[name]


class _Classic(_ClassicScopes):
    """Converts a classic FDL flow."""

    def run(self) -> dict[str, Any] | None:
        root = self.source.data
        if root.get("version") != "v1":
            self.error(
                "FDL_INVALID_VERSION", "version must be v1", self.key_ptr(root, "", "version")
            )
        if root.get("type") != "flow":
            self.error("FDL_INVALID_TYPE", "type must be flow", self.key_ptr(root, "", "type"))
        self.unknown_fields(root, FLOW_FIELDS, "", "a flow")
        scope = _Scope({}, self.names, 0)
        enter, done = scope.names.take("Flow.input"), scope.names.take("Flow.output")
        first_state: dict[str, Any] = {
            "Type": "Pass",
            "Comment": "FDL: the flow input and an empty $local",
        }
        scope.states[enter] = first_state
        if "inputMappings" in root:
            template = self.template(root["inputMappings"], "/inputMappings", {"$input": "$"})
            first_state["Parameters"] = {"input": template, "local": {}, "merged": template}
        else:
            first_state["Parameters"] = {"input.$": "$", "local": {}, "merged.$": "$"}
        steps = root.get("steps")
        if not isinstance(steps, list) or not steps:
            self.error(
                "FDL_MISSING_STEPS",
                "steps must be a non-empty list",
                self.key_ptr(root, "", "steps"),
            )
        first_state["Next"] = self.steps(steps, "/steps", scope, done)
        last: dict[str, Any] = {"Type": "Pass", "Comment": "FDL: the flow output"}
        if "outputMappings" in root:
            last["Parameters"] = self.template(
                root["outputMappings"],
                "/outputMappings",
                {"$input": "$.input", "$local": "$.local"},
            )
        else:
            last["OutputPath"] = "$.local"
        last["End"] = True
        scope.states[done] = last
        _prune(scope.states, enter, self.step_states)
        definition: dict[str, Any] = {
            "Comment": "Converted from Alibaba Cloud Serverless Workflow FDL",
            "StartAt": enter,
            "States": scope.states,
        }
        if "timeoutSeconds" in root:
            definition["TimeoutSeconds"] = root["timeoutSeconds"]
        return definition

    # --- step types ----------------------------------------------------------------------

    def step_task(self, st: _Step) -> None:
        arn = st.data.get("resourceArn")
        aptr = self.key_ptr(st.data, st.ptr, "resourceArn")
        pattern = st.data.get("pattern")
        if not isinstance(pattern, str | None) or pattern not in PATTERN_SUFFIX:
            self.error(
                "FDL_INVALID_PATTERN",
                f"pattern must be requestResponse, sync or waitForCallback, not {pattern!r}",
                join_pointer(st.ptr, "pattern"),
            )
            pattern = None
        if not isinstance(arn, str) or not arn:
            self.error("FDL_MISSING_RESOURCE", "a task step needs a resourceArn string", aptr)
            resource = "acs:unknown"
        else:
            resource = self.resource(arn, PATTERN_SUFFIX[pattern], aptr)
        state: dict[str, Any] = {"Type": "Task", "Resource": resource}
        self.input_fields(st, state)
        if "timeoutSeconds" in st.data:
            state["TimeoutSeconds"] = st.data["timeoutSeconds"]
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=True)

    def step_pass(self, st: _Step) -> None:
        if "outputMappings" in st.data:
            # The pass step's own state is the output builder.
            template = self.template(
                st.data["outputMappings"],
                join_pointer(st.ptr, "outputMappings"),
                {"$input": st.base, "$local": None},
            )
            self.place(
                st,
                {
                    "Type": "Pass",
                    "Parameters": {**_carry(st.scope.depth), "output": template},
                    "Next": self.merge(st, "merge", "$.output", st.next),
                },
            )
        else:
            # No output: $local stays as it is.
            self.place(st, {"Type": "Pass", "Next": st.next})

    def step_succeed(self, st: _Step) -> None:
        # "Like return": ends the enclosing list of steps.
        st.next = st.exit
        self.step_pass(st)

    def step_fail(self, st: _Step) -> None:
        state: dict[str, Any] = {"Type": "Fail"}
        for key, asl in (("error", "Error"), ("cause", "Cause")):
            if key in st.data:
                if isinstance(st.data[key], str):
                    state[asl] = st.data[key]
                else:
                    self.error(
                        "FDL_INVALID_FAIL_FIELD",
                        f"{key} must be a string",
                        join_pointer(st.ptr, key),
                    )
        self.place(st, state)

    def step_wait(self, st: _Step) -> None:
        given = [k for k in ("duration", "timestamp") if k in st.data]
        state: dict[str, Any] = {"Type": "Wait"}
        if len(given) != 1:
            self.error(
                "FDL_INVALID_WAIT", "a wait step needs exactly one of duration or timestamp", st.ptr
            )
            state["Seconds"] = 0
        else:
            key = given[0]
            value, vptr = st.data[key], join_pointer(st.ptr, key)
            path = _step_path(value, st.base) if isinstance(value, str) else None
            if path is not None:
                state["SecondsPath" if key == "duration" else "TimestampPath"] = path
            elif key == "duration" and isinstance(value, int) and not isinstance(value, bool):
                state["Seconds"] = value
            elif key == "timestamp" and isinstance(value, str):
                state["Timestamp"] = value
            else:
                self.error(
                    "FDL_INVALID_WAIT",
                    f"{key} must be a {'number of seconds' if key == 'duration' else 'timestamp'}"
                    " or a $.key path",
                    vptr,
                )
                state["Seconds"] = 0
        if "outputMappings" in st.data:
            state["Next"] = ""
            self.place(st, state)
            state["Next"] = self.build_output(st, None, st.next)
        else:
            state["Next"] = st.next
            self.place(st, state)

    def step_choice(self, st: _Step) -> None:
        state: dict[str, Any] = {"Type": "Choice", "Choices": []}
        self.place(st, state)
        options = st.data.get("choices")
        cptr = self.key_ptr(st.data, st.ptr, "choices")
        if not isinstance(options, list) or not options:
            self.error("FDL_MISSING_CHOICES", "a choice step needs a non-empty choices list", cptr)
            options = []
        for index, option in enumerate(options):
            optr = join_pointer(cptr, index)
            if not isinstance(option, dict):
                self.error("FDL_INVALID_CHOICE", "a choice must be an object", optr)
                continue
            self.unknown_fields(
                option, {"condition", "steps", "goto", "description"}, optr, "a choice"
            )
            rule = self.condition(
                st, option.get("condition"), self.key_ptr(option, optr, "condition")
            )
            target = self.branch(st, option, optr, f"choices[{index}]")
            if rule is not None and target is not None:
                state["Choices"].append({**rule, "Next": target})
        if "default" in st.data:
            dptr = join_pointer(st.ptr, "default")
            default = st.data["default"]
            if isinstance(default, dict):
                self.unknown_fields(default, {"steps", "goto", "description"}, dptr, "a default")
                target = self.branch(st, default, dptr, "default")
            else:
                self.error("FDL_INVALID_CHOICE", "default must be an object", dptr)
                target = None
        else:
            # Without a default, FDL simply ends the choice step (ASL would fail instead).
            target = self.branch(st, {}, st.ptr, "default")
        if target is not None:
            state["Default"] = target
        if not state["Choices"]:
            # ASL needs at least one rule; one that never matches keeps the meaning.
            state["Choices"].append(
                {"Variable": "$", "IsPresent": False, "Next": state.get("Default", st.next)}
            )

    def condition(self, st: _Step, text: Any, ptr: str) -> dict[str, Any] | None:
        if not isinstance(text, str):
            self.error("FDL_MISSING_CONDITION", "a choice needs a condition string", ptr)
            return None
        try:
            return convert_condition(text, lambda p: _step_path(p, st.base))
        except ExpressionError as exc:
            self.error(
                "FDL_UNSUPPORTED_CONDITION",
                f"cannot convert the condition {text!r}: {exc}",
                ptr,
                UNSUPPORTED,
            )
            return None

    def branch(self, st: _Step, option: dict[str, Any], ptr: str, label: str) -> str | None:
        """The state a choice option leads to: its steps in a scope, then its goto."""
        after = st.next
        if "goto" in option:
            target = self.goto(st, option["goto"], join_pointer(ptr, "goto"))
            if target is None:
                return None
            after = target
        if not option.get("steps") and "outputMappings" not in st.data:
            return after
        scope = _Scope(st.scope.states, st.scope.names, st.scope.depth + 1)
        enter = scope.names.take(f"{st.name}.{label}")
        done = scope.names.take(f"{st.name}.{label}.done")
        st.scope.states[enter] = {
            "Type": "Pass",
            "Comment": "FDL: enter the choice branch with its own $local",
            "Parameters": {"input.$": st.base, "local": {}, "merged.$": st.base, "parent.$": "$"},
            "Next": "",
        }
        st.scope.states[enter]["Next"] = self.steps(
            option.get("steps"), join_pointer(ptr, "steps"), scope, done
        )
        output = "$.local"
        exit_state: dict[str, Any] = {"Type": "Pass"}
        st.scope.states[done] = exit_state
        if "outputMappings" in st.data:
            template = self.template(
                st.data["outputMappings"],
                join_pointer(st.ptr, "outputMappings"),
                {"$input": "$.input", "$local": "$.local"},
            )
            exit_state["Comment"] = "FDL: the choice output from outputMappings"
            exit_state["Parameters"] = {**_carry(scope.depth), "output": template}
            output = "$.output"
            merge_name = scope.names.take(f"{st.name}.{label}.merge")
            exit_state["Next"] = merge_name
            exit_state = {"Type": "Pass"}
            st.scope.states[merge_name] = exit_state
        exit_state["Comment"] = "FDL: leave the choice branch, merging its output"
        exit_state["Parameters"] = {
            "input.$": "$.parent.input",
            "local.$": f"States.JsonMerge($.parent.local, {output}, false)",
            "merged.$": f"States.JsonMerge($.parent.merged, {output}, false)",
            **({"parent.$": "$.parent.parent"} if st.scope.depth else {}),
        }
        exit_state["Next"] = after
        return enter

    def sub_machine(
        self, steps: Any, ptr: str, enter_comment: str, enter_parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """An ASL branch/iteration holding ``steps`` in a fresh envelope."""
        scope = _Scope({}, self.names, 0)
        enter, done = scope.names.take("Branch.input"), scope.names.take("Branch.output")
        scope.states[enter] = {
            "Type": "Pass",
            "Comment": enter_comment,
            "Parameters": enter_parameters,
            "Next": "",
        }
        scope.states[enter]["Next"] = self.steps(steps, ptr, scope, done)
        scope.states[done] = {
            "Type": "Pass",
            "Comment": "FDL: a branch returns its $local",
            "OutputPath": "$.local",
            "End": True,
        }
        _prune(scope.states, enter, self.step_states)
        return {"StartAt": enter, "States": scope.states}

    def step_parallel(self, st: _Step) -> None:
        branches = st.data.get("branches")
        bptr = self.key_ptr(st.data, st.ptr, "branches")
        state: dict[str, Any] = {"Type": "Parallel", "Branches": []}
        if not isinstance(branches, list) or not branches:
            self.error(
                "FDL_MISSING_BRANCHES", "a parallel step needs a non-empty branches list", bptr
            )
            branches = []
        for index, branch in enumerate(branches):
            ptr = join_pointer(bptr, index)
            if not isinstance(branch, dict) or not isinstance(branch.get("steps"), list):
                self.error("FDL_INVALID_BRANCH", "a branch must be an object with steps", ptr)
                continue
            self.unknown_fields(branch, {"steps"}, ptr, "a branch")
            state["Branches"].append(
                self.sub_machine(
                    branch["steps"],
                    join_pointer(ptr, "steps"),
                    "FDL: the branch input and an empty $local",
                    {"input.$": "$", "local": {}, "merged.$": "$"},
                )
            )
        self.input_fields(st, state)
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=False)

    def step_foreach(self, st: _Step) -> None:
        mapping = st.data.get("iterationMapping")
        mptr = self.key_ptr(st.data, st.ptr, "iterationMapping")
        state: dict[str, Any] = {"Type": "Map"}
        extra: dict[str, Any] = {}
        if not isinstance(mapping, dict):
            self.error(
                "FDL_MISSING_ITERATION_MAPPING", "a foreach step needs iterationMapping", mptr
            )
            mapping = {}
        else:
            self.unknown_fields(mapping, {"collection", "item", "index"}, mptr, "iterationMapping")
            collection = mapping.get("collection")
            path = _step_path(collection, st.base) if isinstance(collection, str) else None
            if path is None:
                self.error(
                    "FDL_INVALID_COLLECTION",
                    "collection must be a $.key path into the step input",
                    self.key_ptr(mapping, mptr, "collection"),
                )
            else:
                state["ItemsPath"] = path
            for key, context in (("item", "Value"), ("index", "Index")):
                if key not in mapping:
                    if key == "item":
                        self.error("FDL_MISSING_ITEM", "iterationMapping needs item", mptr)
                    continue
                if not isinstance(mapping[key], str) or not mapping[key]:
                    self.error(
                        "FDL_INVALID_ITEM", f"{key} must be a key name", join_pointer(mptr, key)
                    )
                    continue
                extra[mapping[key] + ".$"] = f"$$.Map.Item.{context}"
        # Each iteration's input is the step input plus the item (and index) keys.
        state["ItemSelector"] = {"base.$": st.base, "extra": extra}
        merged = "States.JsonMerge($.base, $.extra, false)"
        state["ItemProcessor"] = self.sub_machine(
            st.data.get("steps"),
            self.key_ptr(st.data, st.ptr, "steps"),
            "FDL: the iteration input (step input + item) and an empty $local",
            {"input.$": merged, "local": {}, "merged.$": merged},
        )
        if not isinstance(st.data.get("steps"), list):
            self.error("FDL_MISSING_STEPS", "a foreach step needs a list of steps", st.ptr)
        if "maxConcurrency" in st.data:
            state["MaxConcurrency"] = st.data["maxConcurrency"]
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=False)
