"""Pass, Task, Choice, Wait, Succeed and Fail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import choice, errors, paths, payloads
from .errors import StatesError
from .recovery import RecoveryMixin

Next = tuple[str | None, Any]
# The longest wait Step Functions accepts (a delay in seconds must fit in a signed 32-bit
# integer, about 68 years); it also keeps a huge SecondsPath from overflowing datetime.
MAX_WAIT_SECONDS = 2**31 - 1


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
            value = paths.lookup(
                expr,
                frame["input"],
                self.context(frame),
                field=name + "Path",
                variables=self.variables(frame_id),
            )
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
        if "Seconds" in state:
            seconds = self.field(frame_id, frame, state, state["Seconds"])
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise StatesError(
                    errors.RUNTIME, f"The wait must be a non-negative number, got {seconds!r}"
                )
            return self._after(seconds)
        if "SecondsPath" in state:
            return self._after(self._seconds_path(frame_id, frame, state["SecondsPath"], data))
        moment = self._timestamp(frame_id, frame, state, data)
        return self._after((moment - self.now).total_seconds(), moment)

    def _timestamp(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], data: Any
    ) -> datetime:
        if "Timestamp" in state:
            stamp = self.field(frame_id, frame, state, state["Timestamp"])
            moment = choice.parse_timestamp(stamp)
            if moment is None:  # only an expression can get here: a literal is validated
                raise StatesError(
                    errors.QUERY_EVALUATION_ERROR,
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                    f"date-time format string: {paths.shown(stamp)}",
                )
        else:
            text = state["TimestampPath"]
            stamp = self.path(frame_id, frame, text, data)
            moment = choice.parse_timestamp(stamp)
            if moment is None:
                raise StatesError(
                    errors.RUNTIME,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                    f"offset date-time format string: {text} == {paths.shown(stamp)}",
                )
        return moment.replace(microsecond=0)  # Step Functions truncates milliseconds

    def _seconds_path(self, frame_id: str, frame: dict[str, Any], text: str, data: Any) -> int:
        """SecondsPath's value: a whole number of seconds, as Step Functions reads a long."""
        try:
            seconds = paths.resolve(text, data, self.context(frame), self.variables(frame_id))
        except paths.NoSuchPath:
            raise StatesError(
                errors.RUNTIME,
                f"The SecondsPath parameter does not reference an input value: {text}",
            ) from None
        described = f"{text} == {paths.shown(seconds)}"
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise StatesError(
                errors.RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: {described}",
            )
        if seconds < 0:
            raise StatesError(
                errors.RUNTIME,
                f"The SecondsPath parameter references a negative value: {described}",
            )
        return seconds

    def _after(self, seconds: float, moment: datetime | None = None) -> datetime:
        """When a wait of ``seconds`` ends; Step Functions refuses one beyond 2^31 - 1 s."""
        if seconds > MAX_WAIT_SECONDS:
            raise StatesError(errors.RUNTIME, "Wait state delay is too long.")
        return moment if moment is not None else self.later(seconds, "The wait")

    def _wait_done(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = frame.pop("effective", frame["input"])
        output, assigned = self.plain_output(frame_id, frame, state, data)
        return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))

    def _task(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        self.schedule_task(frame_id, frame, state)
        return None, None
