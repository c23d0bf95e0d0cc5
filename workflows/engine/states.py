"""Pass, Task, Choice, Wait, Succeed and Fail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import choice, errors, payloads
from .errors import StatesError
from .recovery import RecoveryMixin

Next = tuple[str | None, Any]


class StatesMixin(RecoveryMixin):
    def _pass(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        if self.is_jsonata(state):
            output, assigned = self.plain_output(frame_id, frame, state, frame["input"])
            return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))
        data = self.effective_input(frame_id, frame, state)
        result = state.get("Result", data)
        output, assigned = self.result_output(frame_id, frame, state, result)
        return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))

    def _succeed(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = self.selected_input(frame_id, frame, state)
        output, _ = self.plain_output(frame_id, frame, state, data)
        self.emit(
            "SucceedStateExited",
            frame["state"],
            "succeeded",
            {"name": frame["state"], "output": output},
            frame_id,
        )
        self.frame_done(frame_id, output)
        return None, None

    def _fail(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        error = self._fail_field(frame_id, frame, state, "Error")
        cause = self._fail_field(frame_id, frame, state, "Cause")
        self.step.events[-1]["status"] = "failed"
        self.frame_failed(frame_id, error, cause, state_failed=None)
        return None, None

    def _fail_field(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], name: str
    ) -> str | None:
        value = self._fail_value(frame_id, frame, state, name)
        if value is not None and (found := payloads.text_problem(value)):
            # Only text parsed at run time (States.StringToJson) can hold one.
            raise StatesError(errors.RUNTIME, f"The {name} holds {found[1]}")
        return value

    def _fail_value(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], name: str
    ) -> str | None:
        if name in state:
            value = self.field(frame_id, frame, state, state[name])
            if not isinstance(value, str):
                raise StatesError(errors.RUNTIME, f"{name} must be a string, got {value!r}")
            return value
        expr = state.get(name + "Path")
        if expr is None:
            return None
        if expr.startswith("$"):
            value = self.path(frame_id, frame, expr, frame["input"])
        else:
            value = self.intrinsics(
                expr, frame["input"], self.context(frame), self.variables(frame_id)
            )
        if not isinstance(value, str):
            raise StatesError(errors.RUNTIME, f"{name}Path must select a string, got {value!r}")
        return value

    def _choice(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = self.selected_input(frame_id, frame, state)
        matched = None
        for rule in state.get("Choices", []):
            if self._holds(frame_id, frame, state, rule, data):
                matched = rule
                break
        target = matched["Next"] if matched else state.get("Default")
        if target is None:
            raise StatesError(errors.NO_CHOICE_MATCHED, "No Matches!")
        output, assigned = self.plain_output(frame_id, frame, state, data, rule=matched)
        return self.exit(
            frame_id, frame, state, output, extra=self.assign(frame_id, assigned), target=target
        )

    def _holds(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        rule: dict[str, Any],
        data: Any,
    ) -> bool:
        if not self.is_jsonata(state):
            return choice.evaluate(rule, data, self.context(frame), self.variables(frame_id))
        value = self.field(frame_id, frame, state, rule.get("Condition"))
        if not isinstance(value, bool):
            raise StatesError(
                "States.QueryEvaluationError", f"The Condition must be a boolean, got {value!r}"
            )
        return value

    def _wait(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = self.selected_input(frame_id, frame, state)
        frame["effective"] = data
        fire_at = self._wait_until(frame_id, frame, state, data)
        if fire_at <= self.now:
            return self._wait_done(frame_id, frame, state)
        frame["timer"] = self.timer(frame_id, "wait", fire_at)
        return None, None

    def _wait_until(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], data: Any
    ) -> datetime:
        if "Seconds" in state or "SecondsPath" in state:
            if "Seconds" in state:
                seconds = self.field(frame_id, frame, state, state["Seconds"])
            else:
                seconds = self.path(frame_id, frame, state["SecondsPath"], data)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise StatesError(
                    errors.RUNTIME, f"The wait must be a non-negative number, got {seconds!r}"
                )
            return self.later(seconds, "The wait")
        if "Timestamp" in state:
            stamp = self.field(frame_id, frame, state, state["Timestamp"])
        else:
            stamp = self.path(frame_id, frame, state["TimestampPath"], data)
        moment = choice.parse_timestamp(stamp)
        if moment is None:
            raise StatesError(errors.RUNTIME, f"not an RFC 3339 timestamp: {stamp!r}")
        # Step Functions truncates milliseconds.
        return self.at(moment.replace(microsecond=0), "The wait")

    def _wait_done(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = frame.pop("effective", frame["input"])
        output, assigned = self.plain_output(frame_id, frame, state, data)
        return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))

    def _task(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        self.schedule_task(frame_id, frame, state)
        return None, None
