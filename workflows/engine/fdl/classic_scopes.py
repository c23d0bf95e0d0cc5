"""Classic FDL step lists, and the envelope that carries each scope's $input and $local."""

# Classic FDL (``version: v1``, ``type: flow``, ``steps``) has a data model ASL lacks: every
# scope has an *input* and a *local* (the merged outputs of its steps), and a step's default
# input is the two merged. The converted machine therefore carries an envelope
# ``{"input", "local", "merged"}`` (plus ``"parent"`` inside a choice branch) and merges each
# step's output into it with ``States.JsonMerge``. See docs/fdl.md.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..definition import Source, join_pointer
from .classic_mappings import _ClassicMappings
from .common import TARGET, _Names

STEP_FIELDS = {"type", "name", "description", "end", "inputMappings", "outputMappings"}
STEP_TYPE_FIELDS: dict[str, set[str]] = {
    "task": {"resourceArn", "pattern", "timeoutSeconds", "errorMappings", "retry", "catch"},
    "pass": set(),
    "wait": {"duration", "timestamp"},
    "choice": {"choices", "default"},
    "parallel": {"branches", "retry", "catch", "errorMappings"},
    "foreach": {"iterationMapping", "steps", "maxConcurrency", "retry", "catch", "errorMappings"},
    "succeed": set(),
    "fail": {"error", "cause"},
}


def _carry(depth: int) -> dict[str, Any]:
    """Parameters that keep the envelope as it is (a helper adds its own keys)."""
    out: dict[str, Any] = {"input.$": "$.input", "local.$": "$.local", "merged.$": "$.merged"}
    if depth:
        out["parent.$"] = "$.parent"
    return out


@dataclass
class _Scope:
    states: dict[str, Any]
    names: _Names
    depth: int


@dataclass
class _Step:
    """What the compilers of the step types need to know about one step."""

    data: dict[str, Any]
    ptr: str
    name: str
    entry: str
    next: str
    exit: str
    siblings: dict[str, str]
    scope: _Scope
    base: str = "$.merged"
    in_template: dict[str, Any] | None = None
    main: str = ""


class _ClassicScopes(_ClassicMappings):
    """Compiles step lists into envelope-carrying states; the step types come from a subclass."""

    def __init__(self, source: Source, resource_map: dict[str, str]) -> None:
        super().__init__(source, resource_map)
        self.step_states: set[str] = set()

    RETRY_NAMES = {
        "errors": "ErrorEquals",
        "intervalSeconds": "IntervalSeconds",
        "maxAttempts": "MaxAttempts",
        "multiplier": "BackoffRate",
        "maxIntervalSeconds": "MaxDelaySeconds",
        "description": "Comment",
    }

    @staticmethod
    def key_ptr(obj: dict[str, Any], ptr: str, key: str) -> str:
        return join_pointer(ptr, key) if key in obj else ptr

    def steps(self, steps: Any, ptr: str, scope: _Scope, exit_name: str) -> str:
        """Compile a serial list of steps; return the name of its first state."""
        if not isinstance(steps, list):
            if steps is not None:
                self.error("FDL_INVALID_STEPS", "steps must be a list", ptr)
            return exit_name
        siblings: dict[str, str] = {}
        planned: list[tuple[dict[str, Any], str, str, str]] = []
        for index, step in enumerate(steps):
            sptr = join_pointer(ptr, index)
            if not isinstance(step, dict):
                self.error("FDL_INVALID_STEP", "a step must be an object", sptr)
                continue
            name = step.get("name")
            if not isinstance(name, str) or not name:
                self.error(
                    "FDL_MISSING_NAME", "a step needs a name", self.key_ptr(step, sptr, "name")
                )
                name = f"{step.get('type', 'step')}-{index + 1}"
            elif name in siblings:
                self.error(
                    "FDL_DUPLICATE_STEP_NAME",
                    f"another step in this list is already named {name!r}",
                    join_pointer(sptr, "name"),
                )
            entry = scope.names.take(name)
            self.step_states.add(entry)
            siblings.setdefault(name, entry)
            planned.append((step, sptr, name, entry))
        for index, (step, sptr, name, entry) in enumerate(planned):
            following = planned[index + 1][3] if index + 1 < len(planned) else exit_name
            if "end" in step and not isinstance(step["end"], bool):
                self.error(
                    "FDL_INVALID_END", "end must be true or false", join_pointer(sptr, "end")
                )
            nxt = exit_name if step.get("end") is True else following
            self.step(_Step(step, sptr, name, entry, nxt, exit_name, siblings, scope))
        return planned[0][3] if planned else exit_name

    def step(self, st: _Step) -> None:
        kind = st.data.get("type")
        if not isinstance(kind, str) or kind not in STEP_TYPE_FIELDS:
            self.error(
                "FDL_UNKNOWN_STEP_TYPE",
                f"unknown step type {kind!r}",
                self.key_ptr(st.data, st.ptr, "type"),
            )
            # A placeholder keeps the chain intact so later problems are still reported.
            st.scope.states[st.entry] = {"Type": "Pass", "Next": st.next}
            return
        self.unknown_fields(st.data, STEP_FIELDS | STEP_TYPE_FIELDS[kind], st.ptr, f"a {kind} step")
        st.main = st.entry
        if "inputMappings" in st.data:
            st.in_template = self.template(
                st.data["inputMappings"],
                join_pointer(st.ptr, "inputMappings"),
                {"$input": "$.input", "$local": "$.local"},
            )
            needs_step_input = kind in ("choice", "wait", "foreach") or self.reads_input(
                st.data.get("outputMappings")
            )
            if needs_step_input:
                # The step input is needed as data (conditions, durations, $input in outputs):
                # compute it once into $.step.
                st.main = st.scope.names.take(f"{st.name}.{kind}")
                st.scope.states[st.entry] = {
                    "Type": "Pass",
                    "Comment": "FDL: the step input from inputMappings",
                    "Parameters": {**_carry(st.scope.depth), "step": st.in_template},
                    "Next": st.main,
                }
                st.base = "$.step"
        getattr(self, "step_" + kind)(st)

    def place(self, st: _Step, state: dict[str, Any]) -> None:
        st.scope.states[st.main] = state

    def input_fields(self, st: _Step, state: dict[str, Any]) -> None:
        if st.base == "$.step":
            state["InputPath"] = "$.step"
        elif st.in_template is not None:
            state["Parameters"] = st.in_template
        else:
            state["InputPath"] = "$.merged"

    def merge(self, st: _Step, label: str, output: str, nxt: str) -> str:
        """A Pass merging the object at ``output`` into $local (and the merged view)."""
        name = st.scope.names.take(f"{st.name}.{label}")
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: merge the step output into $local",
            "Parameters": {
                "input.$": "$.input",
                "local.$": f"States.JsonMerge($.local, {output}, false)",
                "merged.$": f"States.JsonMerge($.merged, {output}, false)",
                **({"parent.$": "$.parent"} if st.scope.depth else {}),
            },
            "Next": nxt,
        }
        return name

    def build_output(self, st: _Step, local: str | None, nxt: str, label: str = "output") -> str:
        """States building the step output from outputMappings, then merging it."""
        name = st.scope.names.take(f"{st.name}.{label}")
        template = self.template(
            st.data["outputMappings"],
            join_pointer(st.ptr, "outputMappings"),
            {"$input": st.base, "$local": local},
        )
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: the step output from outputMappings",
            "Parameters": {**_carry(st.scope.depth), "output": template},
            "Next": "",
        }
        st.scope.states[name]["Next"] = self.merge(st, "merge", "$.output", nxt)
        return name

    def result_output(self, st: _Step, state: dict[str, Any], default_merge: bool) -> None:
        """Output handling for steps with a result (task, parallel, foreach), once placed."""
        out_maps = st.data.get("outputMappings")
        if out_maps is None:
            if default_merge:
                state["ResultPath"] = "$.output"
                state["Next"] = self.merge(st, "merge", "$.output", st.next)
            else:
                # parallel and foreach steps output nothing without outputMappings.
                state["ResultPath"] = None
                state["Next"] = st.next
        elif self.local_only(out_maps):
            state["ResultSelector"] = self.template(
                out_maps, join_pointer(st.ptr, "outputMappings"), {"$local": "$"}
            )
            state["ResultPath"] = "$.output"
            state["Next"] = self.merge(st, "merge", "$.output", st.next)
        else:
            state["ResultPath"] = "$.result"
            state["Next"] = self.build_output(st, "$.result", st.next)

    def errors_and_retries(self, st: _Step, state: dict[str, Any]) -> None:
        if "retry" in st.data:
            retry = self.retriers(st.data["retry"], join_pointer(st.ptr, "retry"), self.RETRY_NAMES)
            if retry:
                state["Retry"] = retry
        if "errorMappings" in st.data and "catch" not in st.data:
            self.warn(
                "FDL_ERROR_MAPPINGS_WITHOUT_CATCH",
                "errorMappings only apply with catch; they were ignored",
                join_pointer(st.ptr, "errorMappings"),
            )
        if "catch" not in st.data:
            return
        ptr = join_pointer(st.ptr, "catch")
        catchers = st.data["catch"]
        if not isinstance(catchers, list):
            self.error("FDL_INVALID_CATCH", "catch must be a list", ptr)
            return
        out = []
        for index, catcher in enumerate(catchers):
            cptr = join_pointer(ptr, index)
            if not isinstance(catcher, dict):
                self.error("FDL_INVALID_CATCH", "a catcher must be an object", cptr)
                continue
            self.unknown_fields(catcher, {"errors", "goto", "description"}, cptr, "a catcher")
            errors = self.error_names(catcher.get("errors"), self.key_ptr(catcher, cptr, "errors"))
            target = self.goto(st, catcher.get("goto"), self.key_ptr(catcher, cptr, "goto"))
            if errors is None or target is None:
                continue
            converted: dict[str, Any] = {"ErrorEquals": errors}
            if "errorMappings" in st.data:
                converted["ResultPath"] = "$.result"
                converted["Next"] = self.error_output(st, index, target)
            else:
                converted["ResultPath"] = None
                converted["Next"] = target
            out.append(converted)
        if out:
            state["Catch"] = out

    def error_output(self, st: _Step, index: int, target: str) -> str:
        name = st.scope.names.take(f"{st.name}.catch[{index}]")
        template = self.template(
            st.data["errorMappings"],
            join_pointer(st.ptr, "errorMappings"),
            {"$local": "$.result"},
            error_output=True,
        )
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: the step output from errorMappings",
            "Parameters": {**_carry(st.scope.depth), "output": template},
            "Next": self.merge(st, f"catch[{index}].merge", "$.output", target),
        }
        return name

    def goto(self, st: _Step, target: Any, ptr: str) -> str | None:
        if not isinstance(target, str) or target not in st.siblings:
            self.error(
                "FDL_UNKNOWN_GOTO",
                f"goto {target!r} does not name a sibling step",
                ptr,
                TARGET,
            )
            return None
        return st.siblings[target]
