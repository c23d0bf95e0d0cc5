"""The ASL interpreter: a pure state machine from (snapshot, event, now) to the next step.

``start`` and ``advance`` never read a clock, touch a database or run a task. They take
the current snapshot (plain JSON data), one event (the execution started, a task
finished, a timer fired, an operator stopped it) and the current time, and return the
next snapshot, the history events to record, and the commands for the runtime to carry
out (run a task, start a timer, finish). The runtime persists all three atomically;
because the snapshot is plain JSON it can be stored, reloaded and replayed anywhere.

``advance`` takes ownership of the snapshot it is given and may modify it in place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import choice, errors, paths
from .errors import StatesError
from .intrinsics import Evaluator

SNAPSHOT_VERSION = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_BACKOFF_RATE = 2.0

RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED = (
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
)


@dataclass
class Step:
    """What one call to the interpreter produced."""

    snapshot: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.snapshot["status"] != RUNNING


def iso(moment: datetime) -> str:
    """UTC timestamp with milliseconds, as Step Functions prints them."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def start(
    definition: dict[str, Any],
    execution_input: Any,
    *,
    now: datetime,
    execution_id: str = "",
    execution_name: str = "",
    state_machine_name: str = "",
    seed: int = 0,
    start_at: str | None = None,
) -> Step:
    """Begin an execution: record ExecutionStarted and run until the first wait.

    ``start_at`` lets an operator re-run from a chosen state (its recorded input given
    as ``execution_input``).
    """
    snapshot: dict[str, Any] = {
        "v": SNAPSHOT_VERSION,
        "status": RUNNING,
        "seed": seed,
        "counter": 0,
        "context": {
            "Execution": {
                "Id": execution_id,
                "Name": execution_name,
                "Input": execution_input,
                "StartTime": iso(now),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": state_machine_name, "Name": state_machine_name},
        },
        "frames": {},
        "pending": {},
        "output": None,
        "error": None,
        "cause": None,
    }
    run = _Run(definition, snapshot, now)
    run.emit("ExecutionStarted", details={"input": execution_input})
    timeout = definition.get("TimeoutSeconds")
    if isinstance(timeout, int) and timeout > 0:
        run.timer("", "execution_timeout", now + timedelta(seconds=timeout))
    run.enter("", start_at or definition["StartAt"], execution_input)
    return run.step


def advance(
    definition: dict[str, Any], snapshot: dict[str, Any], event: dict[str, Any], now: datetime
) -> Step:
    """Apply one event to a running execution.

    Events: ``task_started``/``task_succeeded``/``task_failed`` (with ``key`` and
    ``output`` or ``error``/``cause``), ``timer_fired`` (``key``), ``stop``
    (``error``/``cause``). An event for a task or timer the execution no longer waits
    for is stale and changes nothing.
    """
    run = _Run(definition, snapshot, now)
    if snapshot["status"] != RUNNING:
        return run.step
    kind = event["type"]
    if kind == "stop":
        run.stop(event.get("error"), event.get("cause"))
    elif kind == "timer_fired":
        run.timer_fired(event["key"])
    elif kind in ("task_started", "task_succeeded", "task_failed"):
        run.task_event(kind, event)
    else:
        raise ValueError(f"unknown event type {kind!r}")
    return run.step


class _Run:
    """One interpreter step over a mutable snapshot."""

    def __init__(self, definition: dict[str, Any], snapshot: dict[str, Any], now: datetime):
        self.definition = definition
        self.snapshot = snapshot
        self.now = now
        self.now_iso = iso(now)
        self.step = Step(snapshot)
        self._evaluator: Evaluator | None = None

    # --- bookkeeping -----------------------------------------------------------------

    def emit(
        self,
        kind: str,
        state: str | None = None,
        status: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.step.events.append(
            {
                "type": kind,
                "timestamp": self.now_iso,
                "state": state,
                "status": status,
                "details": details or {},
            }
        )

    def command(self, command_type: str, /, **fields: Any) -> None:
        self.step.commands.append({"type": command_type, **fields})

    def next_key(self, prefix: str) -> str:
        self.snapshot["counter"] += 1
        return f"{prefix}{self.snapshot['counter']}"

    def rng(self) -> random.Random:
        self.snapshot["counter"] += 1
        return random.Random(self.snapshot["seed"] * 1_000_003 + self.snapshot["counter"])  # noqa: S311

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.rng())
        return self._evaluator

    def timer(self, frame_id: str, kind: str, fire_at: datetime) -> str:
        key = self.next_key("w")
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": kind}
        self.command("start_timer", key=key, kind=kind, fire_at=iso(fire_at))
        return key

    def states(self, frame_id: str) -> dict[str, Any]:
        return self.definition["States"]

    def context(self, frame: dict[str, Any]) -> dict[str, Any]:
        ctx = dict(self.snapshot["context"])
        ctx["State"] = {
            "Name": frame["state"],
            "EnteredTime": frame["entered"],
            "RetryCount": frame.get("attempt", 1) - 1,
        }
        if frame.get("token"):
            ctx["Task"] = {"Token": frame["token"]}
        return ctx

    # --- state entry and the inline loop ---------------------------------------------

    def enter(self, frame_id: str, name: str | None, data: Any) -> None:
        """Run states inline until one has to wait (a task or a timer) or the frame ends."""
        while name is not None:
            state = self.states(frame_id)[name]
            frame = {"state": name, "input": data, "entered": self.now_iso}
            self.snapshot["frames"][frame_id] = frame
            kind = state["Type"]
            self.emit(f"{kind}StateEntered", name, "running", {"name": name, "input": data})
            try:
                name, data = getattr(self, "_" + kind.lower())(frame_id, frame, state)
            except StatesError as exc:
                name, data = self.fail_state(frame_id, frame, state, exc)

    def exit(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        output: Any,
        status: str = "succeeded",
    ) -> tuple[str | None, Any]:
        name = frame["state"]
        self.emit(f"{state['Type']}StateExited", name, status, {"name": name, "output": output})
        if state.get("End"):
            self.frame_done(frame_id, output)
            return None, None
        return state["Next"], output

    def effective_input(self, frame: dict[str, Any], state: dict[str, Any]) -> Any:
        data = frame["input"]
        if "InputPath" in state:
            data = paths.select(state["InputPath"], data, self.context(frame))
        if "Parameters" in state:
            data = paths.apply_template(
                state["Parameters"], data, self.context(frame), self.evaluator
            )
        return data

    def result_output(self, frame: dict[str, Any], state: dict[str, Any], result: Any) -> Any:
        ctx = self.context(frame)
        if "ResultSelector" in state:
            result = paths.apply_template(state["ResultSelector"], result, ctx, self.evaluator)
        output = paths.set_result(state.get("ResultPath", "$"), frame["input"], result)
        if "OutputPath" in state:
            output = paths.select(state["OutputPath"], output, ctx)
        return output

    # --- the state types --------------------------------------------------------------

    def _pass(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        data = self.effective_input(frame, state)
        result = state.get("Result", data)
        return self.exit(frame_id, frame, state, self.result_output(frame, state, result))

    def _succeed(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        ctx = self.context(frame)
        data = frame["input"]
        if "InputPath" in state:
            data = paths.select(state["InputPath"], data, ctx)
        if "OutputPath" in state:
            data = paths.select(state["OutputPath"], data, ctx)
        self.emit(
            "SucceedStateExited",
            frame["state"],
            "succeeded",
            {"name": frame["state"], "output": data},
        )
        self.frame_done(frame_id, data)
        return None, None

    def _fail(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        ctx = self.context(frame)
        error = self._fail_field(state, "Error", frame, ctx)
        cause = self._fail_field(state, "Cause", frame, ctx)
        self.step.events[-1]["status"] = "failed"
        self.frame_failed(frame_id, error, cause, state_failed=None)
        return None, None

    def _fail_field(
        self, state: dict[str, Any], field_name: str, frame: dict[str, Any], ctx: dict[str, Any]
    ) -> str | None:
        if field_name in state:
            return state[field_name]
        expr = state.get(field_name + "Path")
        if expr is None:
            return None
        if expr.startswith("$"):
            value = paths.select(expr, frame["input"], ctx)
        else:
            value = self.evaluator(expr, frame["input"], ctx)
        return value if isinstance(value, str) else None

    def _choice(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        ctx = self.context(frame)
        data = frame["input"]
        if "InputPath" in state:
            data = paths.select(state["InputPath"], data, ctx)
        target = None
        for rule in state.get("Choices", []):
            if choice.evaluate(rule, data, ctx):
                target = rule["Next"]
                break
        if target is None:
            target = state.get("Default")
        if target is None:
            raise StatesError(errors.NO_CHOICE_MATCHED, "No Matches!")
        output = data
        if "OutputPath" in state:
            output = paths.select(state["OutputPath"], output, ctx)
        name = frame["state"]
        self.emit("ChoiceStateExited", name, "succeeded", {"name": name, "output": output})
        return target, output

    def _wait(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        ctx = self.context(frame)
        data = frame["input"]
        if "InputPath" in state:
            data = paths.select(state["InputPath"], data, ctx)
        frame["effective"] = data
        fire_at = self._wait_until(state, data, ctx)
        if fire_at <= self.now:
            return self._wait_done(frame_id, frame, state)
        frame["timer"] = self.timer(frame_id, "wait", fire_at)
        return None, None

    def _wait_until(self, state: dict[str, Any], data: Any, ctx: dict[str, Any]) -> datetime:
        if "Seconds" in state:
            return self.now + timedelta(seconds=state["Seconds"])
        if "Timestamp" in state:
            return _timestamp(state["Timestamp"])
        if "SecondsPath" in state:
            seconds = paths.select(state["SecondsPath"], data, ctx)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise StatesError(
                    errors.RUNTIME,
                    f"SecondsPath '{state['SecondsPath']}' must select a non-negative number",
                )
            return self.now + timedelta(seconds=seconds)
        stamp = paths.select(state["TimestampPath"], data, ctx)
        return _timestamp(stamp)

    def _wait_done(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        output = frame.pop("effective", frame["input"])
        if "OutputPath" in state:
            output = paths.select(state["OutputPath"], output, self.context(frame))
        return self.exit(frame_id, frame, state, output)

    def _task(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        frame["attempt"] = 1
        frame["retries"] = {}
        self.schedule_task(frame_id, frame, state)
        return None, None

    # --- tasks -----------------------------------------------------------------------

    def schedule_task(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> None:
        key = self.next_key("t")
        frame["task"] = key
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": "task"}
        task_input = self.effective_input(frame, state)
        resource = state["Resource"]
        timeout = state.get("TimeoutSeconds")
        heartbeat = state.get("HeartbeatSeconds")
        self.emit(
            "TaskScheduled",
            frame["state"],
            "running",
            {
                "resource": resource,
                "parameters": task_input,
                "attempt": frame["attempt"],
                "timeoutInSeconds": timeout,
                "heartbeatInSeconds": heartbeat,
            },
        )
        self.command(
            "run_task",
            key=key,
            frame=frame_id,
            state=frame["state"],
            resource=resource,
            input=task_input,
            attempt=frame["attempt"],
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            queue=state.get("Queue"),
            entry=f"{frame_id}/{frame['state']}@{frame['entered']}",
        )
        if isinstance(timeout, int | float) and timeout > 0:
            frame["timeout"] = self.timer(
                frame_id, "task_timeout", self.now + timedelta(seconds=timeout)
            )

    def task_event(self, kind: str, event: dict[str, Any]) -> None:
        key = event["key"]
        pending = self.snapshot["pending"].get(key)
        if pending is None:
            return
        frame_id = pending["frame"]
        frame = self.snapshot["frames"][frame_id]
        state = self.states(frame_id)[frame["state"]]
        resource = state["Resource"]
        if kind == "task_started":
            self.emit("TaskStarted", frame["state"], "running", {"resource": resource})
            return
        self.close_task(frame)
        if kind == "task_succeeded":
            output = event.get("output")
            self.emit(
                "TaskSucceeded", frame["state"], None, {"resource": resource, "output": output}
            )
            try:
                result = self.result_output(frame, state, output)
            except StatesError as exc:
                target, data = self.fail_state(frame_id, frame, state, exc)
            else:
                target, data = self.exit(frame_id, frame, state, result)
        else:
            exc = StatesError(event.get("error") or errors.TASK_FAILED, event.get("cause") or "")
            target, data = self.fail_state(frame_id, frame, state, exc, resource=resource)
        self.enter(frame_id, target, data)

    def close_task(self, frame: dict[str, Any]) -> None:
        for slot in ("task", "timeout"):
            key = frame.pop(slot, None)
            if key is not None:
                self.snapshot["pending"].pop(key, None)

    def fail_state(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        exc: StatesError,
        resource: str | None = None,
    ) -> tuple[str | None, Any]:
        """Retry, catch or fail after ``exc``; returns where to go next (if anywhere)."""
        name = frame["state"]
        retry_at = self.retry_delay(frame, state, exc.error)
        caught = None if retry_at is not None else self.catcher(state, exc.error)
        status = None if retry_at is not None else ("caught" if caught else "failed")
        if resource is not None:
            kind = "TaskTimedOut" if exc.error == errors.TIMEOUT else "TaskFailed"
            self.emit(
                kind, name, status, {"resource": resource, "error": exc.error, "cause": exc.cause}
            )
        if retry_at is not None:
            frame["retry"] = self.timer(frame_id, "retry", retry_at)
            return None, None
        if caught is not None:
            error_output = {"Error": exc.error, "Cause": exc.cause}
            try:
                output = paths.set_result(
                    caught.get("ResultPath", "$"), frame["input"], error_output
                )
            except StatesError as inner:
                self.frame_failed(frame_id, inner.error, inner.cause, state_failed=name)
                return None, None
            self.emit(
                f"{state['Type']}StateExited",
                name,
                "caught",
                {"name": name, "output": output, "error": exc.error, "cause": exc.cause},
            )
            return caught["Next"], output
        self.frame_failed(frame_id, exc.error, exc.cause, state_failed=name)
        return None, None

    def retry_delay(
        self, frame: dict[str, Any], state: dict[str, Any], error: str
    ) -> datetime | None:
        if state["Type"] not in ("Task", "Parallel", "Map"):
            return None
        for index, retrier in enumerate(state.get("Retry", [])):
            if not errors.matches(retrier["ErrorEquals"], error):
                continue
            count = frame["retries"].get(str(index), 0)
            if count >= retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS):
                return None
            frame["retries"][str(index)] = count + 1
            delay = retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS) * (
                retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE) ** count
            )
            if "MaxDelaySeconds" in retrier:
                delay = min(delay, retrier["MaxDelaySeconds"])
            if retrier.get("JitterStrategy") == "FULL":
                delay = self.rng().uniform(0, delay)
            return self.now + timedelta(seconds=delay)
        return None

    @staticmethod
    def catcher(state: dict[str, Any], error: str) -> dict[str, Any] | None:
        for catcher in state.get("Catch", []):
            if errors.matches(catcher["ErrorEquals"], error):
                return catcher
        return None

    # --- timers and operator actions ---------------------------------------------------

    def timer_fired(self, key: str) -> None:
        pending = self.snapshot["pending"].pop(key, None)
        if pending is None:
            return
        frame_id, kind = pending["frame"], pending["kind"]
        if kind == "execution_timeout":
            self.finish(
                TIMED_OUT,
                error=errors.TIMEOUT,
                cause="The execution ran longer than its TimeoutSeconds",
            )
            self.emit(
                "ExecutionTimedOut",
                None,
                None,
                {"error": errors.TIMEOUT, "cause": self.snapshot["cause"]},
            )
            return
        frame = self.snapshot["frames"][frame_id]
        state = self.states(frame_id)[frame["state"]]
        if kind == "wait":
            frame.pop("timer", None)
            target, data = self._guarded(frame_id, frame, state, self._wait_done)
        elif kind == "retry":
            frame.pop("retry", None)
            frame["attempt"] = frame.get("attempt", 1) + 1
            target, data = self._guarded(frame_id, frame, state, self._reschedule)
        else:  # task_timeout
            task_key = frame.get("task")
            self.close_task(frame)
            if task_key:
                self.command("cancel_task", key=task_key)
            exc = StatesError(errors.TIMEOUT, "The task did not finish within TimeoutSeconds")
            target, data = self.fail_state(
                frame_id, frame, state, exc, resource=state.get("Resource")
            )
        self.enter(frame_id, target, data)

    def _reschedule(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        self.schedule_task(frame_id, frame, state)
        return None, None

    def _guarded(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], fn: Any):
        try:
            return fn(frame_id, frame, state)
        except StatesError as exc:
            return self.fail_state(frame_id, frame, state, exc)

    def stop(self, error: str | None, cause: str | None) -> None:
        aborted = {
            "task": "TaskStateAborted",
            "retry": "TaskStateAborted",
            "wait": "WaitStateAborted",
        }
        for pending in self.snapshot["pending"].values():
            frame = self.snapshot["frames"].get(pending["frame"])
            if frame is not None and pending["kind"] in aborted:
                self.emit(
                    aborted[pending["kind"]], frame["state"], "aborted", {"name": frame["state"]}
                )
        self.finish(ABORTED, error=error, cause=cause)
        self.emit("ExecutionAborted", None, None, {"error": error, "cause": cause})

    # --- ends -------------------------------------------------------------------------

    def frame_done(self, frame_id: str, output: Any) -> None:
        if frame_id == "":
            self.finish(SUCCEEDED, output=output)
            self.emit("ExecutionSucceeded", None, None, {"output": output})

    def frame_failed(
        self, frame_id: str, error: str | None, cause: str | None, state_failed: str | None
    ) -> None:
        if frame_id == "":
            self.finish(FAILED, error=error, cause=cause)
            self.emit(
                "ExecutionFailed",
                state_failed,
                "failed" if state_failed else None,
                {"error": error, "cause": cause},
            )

    def finish(
        self, status: str, output: Any = None, error: str | None = None, cause: str | None = None
    ) -> None:
        snap = self.snapshot
        snap.update(status=status, output=output, error=error, cause=cause)
        for key, pending in snap["pending"].items():
            if pending["kind"] == "task":
                self.command("cancel_task", key=key)
        snap["pending"] = {}
        self.command("finish", status=status, output=output, error=error, cause=cause)


def _timestamp(value: Any) -> datetime:
    moment = choice.parse_timestamp(value)
    if moment is None:
        raise StatesError(errors.RUNTIME, f"not an RFC 3339 timestamp: {value!r}")
    return moment
