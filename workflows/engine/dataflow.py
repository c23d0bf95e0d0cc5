"""Input and output processing in both query languages, and workflow variables.

JSONPath: InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath -> OutputPath,
with ``Assign`` reading the state's result as ``$``. JSONata: ``Arguments`` -> (work) ->
``Output``, with ``Assign`` and ``Output`` reading ``$states``. Every ``Assign`` and
``Output`` of a state sees the variables as they were when the state was entered; the new
values become visible from the next state on.
"""

from __future__ import annotations

import json
from typing import Any

from . import paths
from .errors import RUNTIME
from .frames import DEFAULT_MAX_PAYLOAD, JSONATA, FramesMixin
from .jsonata import is_expression

# A template naming at most this much (references x the payload limit) is printed safely.
SAFE_TEMPLATE_BYTES = 16 * 1024 * 1024


# Templates are parts of a definition, asked about at every step that uses them.
_AMPLIFYING: dict[tuple[int, int], tuple[Any, bool]] = {}


def _references_over(template: Any, allowed: int) -> bool:
    """Whether ``template`` names more than ``allowed`` values or calls an intrinsic."""
    count, stack = 0, [template]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and key.endswith(".$") and isinstance(value, str):
                    if value.startswith("States."):
                        return True
                    count += 1
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif is_expression(item):
            count += 1
        if count > allowed:
            return True
    return False


class DataflowMixin(FramesMixin):
    def is_jsonata(self, state: dict[str, Any]) -> bool:
        return self.language(state) == JSONATA

    def states_var(self, frame: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"input": frame["input"], "context": self.context(frame), **extra}

    def field(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], value: Any, **extra: Any
    ) -> Any:
        """A field's value: evaluated in JSONata states, literal in JSONPath ones."""
        if not self.is_jsonata(state):
            return value
        return self.expressions(frame_id, value, self.states_var(frame, **extra))

    def expressions(self, frame_id: str, template: Any, states: dict[str, Any]) -> Any:
        """A JSONata template's value, refused if it is larger than a payload may be."""
        value = self.jsonata.template(template, states, self.variables(frame_id))
        return self.bounded(value) if self.may_amplify(template) else value

    def path(self, frame_id: str, frame: dict[str, Any], text: str | None, data: Any) -> Any:
        return paths.select(text, data, self.context(frame), variables=self.variables(frame_id))

    def template(
        self,
        frame_id: str,
        frame: dict[str, Any],
        template: Any,
        data: Any,
        context: dict[str, Any] | None = None,
        error: str = RUNTIME,
    ) -> Any:
        """A payload template; a path in it that finds nothing fails with ``error``."""
        value = paths.apply_template(
            template,
            data,
            context or self.context(frame),
            self.intrinsics,
            self.variables(frame_id),
            error,
        )
        return self.bounded(value) if self.may_amplify(template) else value

    def may_amplify(self, template: Any) -> bool:
        """Whether a template's value could be far larger than a payload.

        Each value a template names (a path, a variable, an expression's result) is within
        the payload limit, so a template naming a few is at most a few payloads, which the
        exact check at the state's end prints and measures cheaply. Only one that names
        many, or calls an intrinsic (``States.Array`` repeats at will), needs measuring
        as it is built; measuring every template would walk every large input again.
        """
        limit = self.snapshot.get("max_payload", DEFAULT_MAX_PAYLOAD)
        allowed = max(SAFE_TEMPLATE_BYTES // max(limit, 1), 1)
        known = _AMPLIFYING.get((id(template), allowed))
        if known is not None and known[0] is template:
            return known[1]
        answer = _references_over(template, allowed)
        if len(_AMPLIFYING) >= 4096:
            _AMPLIFYING.clear()
        # The template is kept with the answer, so its id cannot name another one.
        _AMPLIFYING[id(template), allowed] = (template, answer)
        return answer

    # --- input ------------------------------------------------------------------------------

    def selected_input(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Any:
        """JSONPath ``InputPath`` (JSONata states have none)."""
        if "InputPath" in state and not self.is_jsonata(state):
            return self.note(
                "afterInputPath", self.path(frame_id, frame, state["InputPath"], frame["input"])
            )
        return self.note("afterInputPath", frame["input"])

    def effective_input(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        parameters_error: str = RUNTIME,
    ) -> Any:
        """What a Task, Parallel or Pass works on: InputPath + Parameters, or Arguments.

        Step Functions fails a Parameters path that finds nothing with ``States.Runtime``,
        except in a Task, whose ``States.ParameterPathFailure`` a Catch can handle.
        """
        if self.is_jsonata(state):
            if "Arguments" in state:
                return self.note(
                    "afterArguments", self.field(frame_id, frame, state, state["Arguments"])
                )
            return frame["input"]
        data = self.selected_input(frame_id, frame, state)
        if "Parameters" in state:
            data = self.template(frame_id, frame, state["Parameters"], data, error=parameters_error)
        return self.note("afterParameters", data)

    # --- output --------------------------------------------------------------------------

    def result_output(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], result: Any
    ) -> tuple[Any, dict[str, Any]]:
        """Output and assignments after a Task, Parallel or Map (or a Pass) produced a result."""
        if self.is_jsonata(state):
            states = self.states_var(frame, result=result)
            output = self._jsonata_output(frame_id, state, states, default=result)
            return output, self._jsonata_assign(frame_id, state, states)
        self.note("result", result)
        if "ResultSelector" in state:
            result = self.template(frame_id, frame, state["ResultSelector"], result)
        self.note("afterResultSelector", result)
        assigned = self._jsonpath_assign(frame_id, frame, state, result)
        output = paths.set_result(state.get("ResultPath", "$"), frame["input"], result)
        self.note("afterResultPath", output)
        if "OutputPath" in state:
            output = self.path(frame_id, frame, state["OutputPath"], output)
        return output, assigned

    def plain_output(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        data: Any,
        rule: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Output and assignments of a state without a result (Choice, Wait, Succeed)."""
        source = rule if rule is not None and ("Assign" in rule or "Output" in rule) else state
        if self.is_jsonata(state):
            states = self.states_var(frame)
            output = self._jsonata_output(frame_id, source, states, default=frame["input"])
            return output, self._jsonata_assign(frame_id, source, states)
        assigned = self._jsonpath_assign(frame_id, frame, source, data)
        if "OutputPath" in state:
            data = self.path(frame_id, frame, state["OutputPath"], data)
        return data, assigned

    def catch_output(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        catcher: dict[str, Any],
        error_output: dict[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        if self.is_jsonata(state):
            states = self.states_var(frame, errorOutput=error_output)
            output = self._jsonata_output(frame_id, catcher, states, default=error_output)
            return output, self._jsonata_assign(frame_id, catcher, states)
        assigned = self._jsonpath_assign(frame_id, frame, catcher, error_output)
        output = paths.set_result(catcher.get("ResultPath", "$"), frame["input"], error_output)
        return output, assigned

    def _jsonata_output(
        self, frame_id: str, source: dict[str, Any], states: dict[str, Any], default: Any
    ) -> Any:
        if "Output" not in source:
            return default
        return self.expressions(frame_id, source["Output"], states)

    def _jsonata_assign(
        self, frame_id: str, source: dict[str, Any], states: dict[str, Any]
    ) -> dict[str, Any]:
        if "Assign" not in source:
            return {}
        return self.expressions(frame_id, source["Assign"], states)

    def _jsonpath_assign(
        self, frame_id: str, frame: dict[str, Any], source: dict[str, Any], data: Any
    ) -> dict[str, Any]:
        if "Assign" not in source:
            return {}
        return self.template(frame_id, frame, source["Assign"], data)

    def assign(self, frame_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Store assignments in the frame's scope; the history records them as JSON text."""
        if not values:
            return {}
        for name, value in values.items():
            self.storable(value, f"The variable {name!r}")  # type: ignore[attr-defined]
        self.frame(frame_id).setdefault("vars", {}).update(values)
        return {
            "assignedVariables": {
                k: json.dumps(v, separators=(",", ":")) for k, v in values.items()
            }
        }
