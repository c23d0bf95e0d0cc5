"""Tasks, timers, Retry and Catch, and stopping: how a state waits, fails and recovers."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from . import errors, paths
from .dataflow import DataflowMixin
from .errors import StatesError
from .frames import ABORTED, END_OF_TIME, RUNNING, TIMED_OUT

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_BACKOFF_RATE = 2.0
MAX_TIMEOUT_SECONDS = 99_999_999  # Step Functions' largest TimeoutSeconds/HeartbeatSeconds
RETRYABLE = ("Task", "Parallel", "Map")
CALLBACK_SUFFIX = ".waitForTaskToken"


def is_callback(resource: str) -> bool:
    """Tasks that finish when their token is completed, not when a handler returns."""
    return (
        resource.endswith(CALLBACK_SUFFIX)
        or resource.startswith(("activity:", "celery:"))
        or (resource.startswith("flow:") and resource.endswith(".sync"))
    )


class RecoveryMixin(DataflowMixin):
    # --- tasks -----------------------------------------------------------------------------

    def schedule_task(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> None:
        resource = state["Resource"]
        key = self.next_key("t")
        # The token exists before the input is built: Parameters may pass it on
        # ("token.$": "$$.Task.Token").
        token = self.task_token(key) if is_callback(resource) else None
        frame["token"] = token
        task_input = self.effective_input(frame_id, frame, state, errors.PARAMETER_PATH_FAILURE)
        self.check_size(task_input)  # as AWS: an input over the limit after Parameters
        timeout = self.seconds_field(frame_id, frame, state, "TimeoutSeconds")
        heartbeat = self.seconds_field(frame_id, frame, state, "HeartbeatSeconds")
        frame["task"] = key
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": "task"}
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
            frame_id,
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
            token=token,
            # The claim records this without the snapshot (see task_event).
            started=self.task_started_event(frame_id, frame, resource),
        )
        if timeout:
            frame["timeout"] = self.timer(
                frame_id, "task_timeout", self.later(timeout, "The task's timeout")
            )
        if heartbeat:
            frame["heartbeat_seconds"] = heartbeat
            frame["heartbeat"] = self.timer(
                frame_id, "heartbeat_timeout", self.later(heartbeat, "The task's heartbeat")
            )

    def seconds_field(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], name: str
    ) -> int | None:
        if name in state:
            value = self.field(frame_id, frame, state, state[name])
        elif name + "Path" in state:
            value = self.path(frame_id, frame, state[name + "Path"], frame["input"])
        else:
            return None
        # The bound a literal has (the validator's): a path or expression could otherwise
        # give 1e20 seconds, which overflows the timer's datetime.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < value <= MAX_TIMEOUT_SECONDS
        ):
            raise StatesError(
                errors.RUNTIME,
                f"{name} must be a positive number of at most {MAX_TIMEOUT_SECONDS}, "
                f"got {paths.shown(value)}",
            )
        return int(value)

    def task_started_event(
        self, frame_id: str, frame: dict[str, Any], resource: str
    ) -> dict[str, Any]:
        details = {"resource": resource}
        return self.event_record("TaskStarted", frame["state"], "running", details, frame_id)

    def task_event(self, kind: str, event: dict[str, Any]) -> None:
        pending = self.snapshot["pending"].get(event["key"])
        if pending is not None and pending["kind"] == "iteration":
            self.iteration_event(kind, event, pending)  # type: ignore[attr-defined]
            return
        if pending is not None and pending["kind"] in ("reader", "writer"):
            self.io_event(kind, event, pending)  # type: ignore[attr-defined]
            return
        if pending is None or pending["kind"] != "task":
            self.step.stale = True
            return
        frame_id = pending["frame"]
        frame = self.frame(frame_id)
        state = self.states(frame_id)[frame["state"]]
        resource = state["Resource"]
        if kind == "task_started":
            # History only, decided when the task was scheduled: the runtime records the
            # run_task command's ``started`` at claim time without loading the snapshot,
            # and this event (for callers of the pure engine) records the same thing.
            started = self.task_started_event(frame_id, frame, resource)
            self.step.events.append({"timestamp": self.now_iso, **started})
            self.step.snapshot_changed = False
            return
        if kind == "task_submitted":
            # A callback task's handler has run; the state now waits for its token.
            self.emit(
                "TaskSubmitted",
                frame["state"],
                "running",
                {"resource": resource, "output": event.get("output")},
                frame_id,
            )
            return
        if kind == "task_heartbeat":
            # A heartbeat records no history event (as in Step Functions); it only moves
            # the heartbeat deadline, by replacing the pending timer.
            if frame.get("heartbeat"):
                self.snapshot["pending"].pop(frame["heartbeat"], None)
                frame["heartbeat"] = self.timer(
                    frame_id,
                    "heartbeat_timeout",
                    self.later(frame["heartbeat_seconds"], "The task's heartbeat"),
                )
            else:
                self.step.stale = True
            return
        self.close_task(frame)
        if kind == "task_succeeded":
            output = event.get("output")
            self.emit(
                "TaskSucceeded",
                frame["state"],
                None,
                {"resource": resource, "output": output},
                frame_id,
            )
            target, data = self.guarded(frame_id, frame, state, self._task_result, output)
        else:
            exc = StatesError(event.get("error") or errors.TASK_FAILED, event.get("cause") or "")
            target, data = self.fail_state(frame_id, frame, state, exc, resource=resource)
        self.enter(frame_id, target, data)

    def _task_result(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], result: Any
    ) -> tuple[str | None, Any]:
        output, assigned = self.result_output(frame_id, frame, state, result)
        return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))

    def task_token(self, key: str) -> str:
        """An unguessable, replayable token for a callback task (``$$.Task.Token``)."""
        secret = self.snapshot.get("secret") or str(self.snapshot["seed"])
        digest = hashlib.sha256(f"{secret}:{key}".encode()).hexdigest()
        return f"{key}.{digest[:40]}"

    def close_task(self, frame: dict[str, Any]) -> None:
        frame.pop("heartbeat_seconds", None)
        frame.pop("token", None)
        for slot in ("task", "timeout", "heartbeat"):
            key = frame.pop(slot, None)
            if key is not None:
                self.snapshot["pending"].pop(key, None)

    def guarded(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], fn: Any, *args: Any
    ) -> tuple[str | None, Any]:
        """Run a step of a state; an ASL error goes through Retry/Catch."""
        try:
            return fn(frame_id, frame, state, *args)
        except StatesError as exc:
            return self.fail_state(frame_id, frame, state, exc)

    # --- failures ----------------------------------------------------------------------------

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
        # Where the interpreter itself raised it (not a task's own failure, nor one passed up
        # from a branch): locate the cause, and report a failed JSONata evaluation.
        origin = resource is None and not exc.propagated
        if origin:
            exc = self.located(frame, exc)
        retry_at = self.retry_delay(frame, state, exc)
        caught = None if retry_at is not None else self.catcher(state, exc)
        status = None if retry_at is not None else ("caught" if caught else "failed")
        if resource is not None:
            kind = "TaskTimedOut" if exc.error == errors.TIMEOUT else "TaskFailed"
            self.emit(
                kind,
                name,
                status,
                {"resource": resource, "error": exc.error, "cause": exc.cause},
                frame_id,
            )
        elif origin and exc.error == errors.QUERY_EVALUATION_ERROR:
            self.emit(
                "EvaluationFailed",
                name,
                status,
                {"state": name, "error": exc.error, "cause": exc.cause},
                frame_id,
            )
            if exc.state_failed:
                self.emit(f"{state['Type']}StateFailed", name, None, {"name": name}, frame_id)
        if retry_at is not None:
            frame["retry"] = self.timer(frame_id, "retry", retry_at)
            return None, None
        if caught is not None:
            error_output = {"Error": exc.error, "Cause": exc.cause}
            try:
                output, assigned = self.catch_output(frame_id, frame, state, caught, error_output)
            except StatesError as inner:
                inner = self.located(frame, inner)
                self.frame_failed(frame_id, inner.error, inner.cause, state_failed=name)
                return None, None
            extra = {"error": exc.error, "cause": exc.cause, **self.assign(frame_id, assigned)}
            return self.exit(
                frame_id, frame, state, output, status="caught", extra=extra, target=caught["Next"]
            )
        self.frame_failed(frame_id, exc.error, exc.cause, state_failed=name)
        return None, None

    @staticmethod
    def located(frame: dict[str, Any], exc: StatesError) -> StatesError:
        """``exc`` with its cause prefixed as Step Functions prefixes runtime errors."""
        if exc.error not in errors.LOCATED or "event" not in frame:
            return exc
        cause = errors.located(frame["state"], frame["event"], exc.cause)
        return StatesError(exc.error, cause, exc.aliases, state_failed=exc.state_failed)

    def retry_delay(
        self, frame: dict[str, Any], state: dict[str, Any], exc: StatesError
    ) -> datetime | None:
        if state["Type"] not in RETRYABLE:
            return None
        for index, retrier in enumerate(state.get("Retry", [])):
            if not errors.matches(retrier["ErrorEquals"], exc.error, exc.aliases):
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
            try:
                return self.later(delay, "The retry")
            except StatesError:  # backed off past the calendar: as good as never
                return END_OF_TIME
        return None

    @staticmethod
    def catcher(state: dict[str, Any], exc: StatesError) -> dict[str, Any] | None:
        for catcher in state.get("Catch", []):
            if errors.matches(catcher["ErrorEquals"], exc.error, exc.aliases):
                return catcher
        return None

    # --- timers ------------------------------------------------------------------------------

    def timer_fired(self, key: str) -> None:
        pending = self.snapshot["pending"].pop(key, None)
        if pending is None:
            self.step.stale = True
            return
        frame_id, kind = pending["frame"], pending["kind"]
        if kind == "execution_timeout":
            cause = "The execution ran longer than its TimeoutSeconds"
            self.finish(TIMED_OUT, error=errors.TIMEOUT, cause=cause)
            self.emit("ExecutionTimedOut", None, None, {"error": errors.TIMEOUT, "cause": cause})
            return
        frame = self.frame(frame_id)
        state = self.states(frame_id)[frame["state"]]
        if kind == "wait":
            frame.pop("timer", None)
            target, data = self.guarded(frame_id, frame, state, self._wait_done)
        elif kind == "retry":
            frame.pop("retry", None)
            frame["attempt"] = frame.get("attempt", 1) + 1
            handler = self._reschedule if state["Type"] == "Task" else self.state_handler(state)
            target, data = self.guarded(frame_id, frame, state, handler)
        else:  # task_timeout or heartbeat_timeout
            task_key = frame.get("task")
            self.close_task(frame)
            if task_key:
                self.command("cancel_task", key=task_key)
            if kind == "heartbeat_timeout":
                exc = StatesError(
                    errors.TIMEOUT,
                    "No heartbeat arrived within HeartbeatSeconds",
                    aliases=(errors.HEARTBEAT_TIMEOUT,),
                )
            else:
                exc = StatesError(errors.TIMEOUT, "The task did not finish within TimeoutSeconds")
            target, data = self.fail_state(
                frame_id, frame, state, exc, resource=state.get("Resource")
            )
        self.enter(frame_id, target, data)

    def state_handler(self, state: dict[str, Any]) -> Any:
        return getattr(self, "_" + state["Type"].lower())

    def _reschedule(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]):
        self.schedule_task(frame_id, frame, state)
        return None, None

    # --- operator actions ----------------------------------------------------------------------

    def redrive(self) -> None:
        """Run a failed, timed-out or aborted execution again from where it stopped.

        The top-level state that was running is entered again with its input; a Parallel or
        Map keeps the branches and iterations that had succeeded. Everything before it
        stays done: its history is not repeated.
        """
        snap = self.snapshot
        point = snap.pop("redrive")
        execution = snap["context"]["Execution"]
        execution["RedriveCount"] = execution.get("RedriveCount", 0) + 1
        snap.update(status=RUNNING, output=None, error=None, cause=None)
        self.emit("ExecutionRedriven", None, None, {"redriveCount": execution["RedriveCount"]})
        self.command("redriven", count=execution["RedriveCount"])
        self.enter("", point["state"], point["input"], redrive=point)

    def stop(self, error: str | None, cause: str | None, status: str = ABORTED) -> None:
        """End the execution from outside: an operator's stop (ABORTED), or the runtime
        failing it (FAILED, e.g. its history grew past the limit)."""
        aborted = {
            "task": "TaskStateAborted",
            "retry": "TaskStateAborted",
            "wait": "WaitStateAborted",
        }
        for pending in self.snapshot["pending"].values():
            frame = self.snapshot["frames"].get(pending["frame"])
            if frame is not None and pending["kind"] in aborted:
                self.emit(
                    aborted[pending["kind"]],
                    frame["state"],
                    "aborted",
                    {"name": frame["state"]},
                    pending["frame"],
                )
        for frame_id, frame in self.snapshot["frames"].items():
            if "children" in frame:
                kind = self.states(frame_id)[frame["state"]]["Type"]
                self.emit(
                    f"{kind}StateAborted",
                    frame["state"],
                    "aborted",
                    {"name": frame["state"]},
                    frame_id,
                )
        self.finish(status, error=error, cause=cause)
        kind = "ExecutionAborted" if status == ABORTED else "ExecutionFailed"
        self.emit(kind, None, None, {"error": error, "cause": cause})
