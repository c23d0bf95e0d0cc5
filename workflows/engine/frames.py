"""The interpreter's core: frames, history events, commands, the inline loop, endings."""

from __future__ import annotations

import random
from collections import ChainMap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import errors, payloads
from .budget import json_size_exceeds, measure
from .errors import DATA_LIMIT_EXCEEDED, StatesError
from .intrinsics import Evaluator as IntrinsicEvaluator
from .jsonata import Evaluator as JsonataEvaluator
from .payloads import DEFAULT_MAX_DEPTH

RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED = (
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
)
JSONATA = "JSONata"
DEFAULT_MAX_PAYLOAD = 256 * 1024
DEFAULT_MAX_HISTORY = 25_000
DEFAULT_MAX_STEP_BYTES = 64 * 1024 * 1024
HISTORY_LIMIT = "Legato.HistoryLimitExceeded"
STEP_DATA_LIMIT = "Legato.StepDataLimitExceeded"
# The last moment a timer can be kept at (datetime's, and the database's, last year).
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass
class Step:
    """What one call to the interpreter produced."""

    snapshot: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    # True when the event changed nothing (a late or duplicate delivery): nothing to save.
    stale: bool = False
    # False when only history events were added: the snapshot need not be written again.
    snapshot_changed: bool = True

    @property
    def finished(self) -> bool:
        return self.snapshot["status"] != RUNNING


def iso(moment: datetime) -> str:
    """UTC timestamp with milliseconds, as Step Functions prints them."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def child_id(parent_id: str, state: str, index: int) -> str:
    return f"{parent_id}/{state}[{index}]"


class FramesMixin:
    """Bookkeeping shared by every state type."""

    def __init__(
        self,
        definition: dict[str, Any],
        snapshot: dict[str, Any],
        now: datetime,
        first_event_id: int | None = None,
    ):
        self.definition = definition
        self.snapshot = snapshot
        self.now = now
        # History ids (ExecutionStarted is #1) name the state in a runtime error's cause.
        # The runtime knows them (it also records TaskStarted events the interpreter never
        # sees) and passes the next one; pure callers rely on the snapshot's own count.
        self.events_before = (
            first_event_id - 1 if first_event_id is not None else snapshot.get("events", 0)
        )
        self.now_iso = iso(now)
        self.step = Step(snapshot)
        self._intrinsics: IntrinsicEvaluator | None = None
        self._jsonata: JsonataEvaluator | None = None
        self._scopes: dict[str, dict[str, Any]] = {}
        # Bytes of state inputs this step recorded, and the sizes of values already
        # measured (by identity: a state's output is the next one's input).
        self.recorded = 0
        self._sizes: dict[int, int] = {}
        # Filled with each processing stage's value when a state is inspected (test-state).
        self.trace: dict[str, Any] | None = None

    def note(self, stage: str, value: Any) -> Any:
        if self.trace is not None:
            self.trace[stage] = value
        return value

    # --- records ---------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        state: str | None = None,
        status: str | None = None,
        details: dict[str, Any] | None = None,
        frame_id: str = "",
    ) -> None:
        details = details or {}
        if frame_id:
            details = {**details, "frame": frame_id}
        # The hot path of every transition: one dict, built here (event_record's shape).
        self.step.events.append(
            {
                "type": kind,
                "timestamp": self.now_iso,
                "state": state,
                "status": status,
                "details": details,
            }
        )

    @staticmethod
    def event_record(
        kind: str,
        state: str | None = None,
        status: str | None = None,
        details: dict[str, Any] | None = None,
        frame_id: str = "",
    ) -> dict[str, Any]:
        """A history event without its time: what ``emit`` records now, or what a
        ``run_task`` command hands the runtime to record later (``TaskStarted``)."""
        details = details or {}
        if frame_id:
            details = {**details, "frame": frame_id}
        return {"type": kind, "state": state, "status": status, "details": details}

    def next_event_id(self) -> int:
        return self.events_before + len(self.step.events) + 1

    def count_events(self) -> None:
        """Keep the snapshot's event count for callers that do not pass event ids."""
        self.snapshot["events"] = self.events_before + len(self.step.events)

    def command(self, command_type: str, /, **fields: Any) -> None:
        self.step.commands.append({"type": command_type, **fields})

    def next_key(self, prefix: str) -> str:
        self.snapshot["counter"] += 1
        return f"{prefix}{self.snapshot['counter']}"

    def rng(self) -> random.Random:
        self.snapshot["counter"] += 1
        return random.Random(self.snapshot["seed"] * 1_000_003 + self.snapshot["counter"])  # noqa: S311

    @property
    def intrinsics(self) -> IntrinsicEvaluator:
        if self._intrinsics is None:
            self._intrinsics = IntrinsicEvaluator(self.rng())
        return self._intrinsics

    @property
    def jsonata(self) -> JsonataEvaluator:
        if self._jsonata is None:
            limit = self.snapshot.get("max_payload", DEFAULT_MAX_PAYLOAD)
            self._jsonata = JsonataEvaluator(self.now, self.rng(), limit)
        return self._jsonata

    def later(self, seconds: float, what: str) -> datetime:
        """``seconds`` from now; a moment after the calendar's end (year 9999 in UTC, which
        a number from the input can ask for) fails the execution instead of the runtime."""
        try:
            return self.at(self.now + timedelta(seconds=seconds), what)
        except OverflowError:
            raise StatesError(errors.RUNTIME, f"{what} ends after the year 9999") from None

    @staticmethod
    def at(moment: datetime, what: str) -> datetime:
        """``moment``, if the year 9999 has not ended by then in UTC (timers are kept there)."""
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise StatesError(errors.RUNTIME, f"{what} ends after the year 9999") from None
        return moment

    def timer(self, frame_id: str, kind: str, fire_at: datetime) -> str:
        key = self.next_key("w")
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": kind}
        self.command("start_timer", key=key, kind=kind, fire_at=iso(fire_at))
        return key

    # --- scopes and data views -----------------------------------------------------------

    def frame(self, frame_id: str) -> dict[str, Any]:
        return self.snapshot["frames"][frame_id]

    def scope_of(self, frame_id: str) -> dict[str, Any]:
        """The machine (``StartAt`` + ``States``) a frame runs: top level, branch, processor."""
        pointer = self.frame(frame_id)["scope"]["states"]
        machine = self._scopes.get(pointer)
        if machine is None:
            machine = self.definition
            for raw in pointer.split("/")[1:]:
                token = raw.replace("~1", "/").replace("~0", "~")
                machine = machine[int(token)] if isinstance(machine, list) else machine[token]
            self._scopes[pointer] = machine
        return machine

    def states(self, frame_id: str) -> dict[str, Any]:
        return self.scope_of(frame_id)["States"]

    def language(self, state: dict[str, Any]) -> str:
        return state.get("QueryLanguage") or self.definition.get("QueryLanguage") or "JSONPath"

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

    def variables(self, frame_id: str) -> ChainMap[str, Any]:
        """Variables visible in a frame: its own scope's, then each enclosing scope's."""
        maps = []
        current: str | None = frame_id
        while current is not None:
            frame = self.snapshot["frames"].get(current)
            if frame is None:
                break
            maps.append(frame.get("vars", {}))
            current = frame["scope"]["parent"]
        return ChainMap(*maps)

    # --- the inline loop ------------------------------------------------------------------

    def enter(
        self, frame_id: str, name: str | None, data: Any, redrive: dict[str, Any] | None = None
    ) -> None:
        """Run states inline until one has to wait (a task, a timer, children) or the frame
        ends. ``redrive`` re-enters a failed state: same entry time, kept children."""
        while name is not None:
            if len(self.step.events) > self.snapshot.get("max_history", DEFAULT_MAX_HISTORY):
                # A loop of Pass/Choice states that never waits would otherwise spin here
                # forever; Step Functions ends such an execution at its history limit.
                self.stop(
                    HISTORY_LIMIT,
                    "The execution's history passed its limit without "  # type: ignore[attr-defined]
                    "waiting (a loop of states that never waits?)",
                    status=FAILED,
                )
                return
            if self.record_input(data):
                return
            old = self.frame(frame_id)
            frame = {
                "scope": old["scope"],
                "vars": old.get("vars", {}),
                "state": name,
                "input": data,
                "entered": (redrive or {}).get("entered") or self.now_iso,
                "attempt": 1,
                "retries": {},
                "event": self.next_event_id(),  # the StateEntered emitted below
            }
            if redrive and redrive.get("kept"):
                frame.update(redriving=True, kept=redrive["kept"])
            redrive = None
            self.snapshot["frames"][frame_id] = frame
            state = self.states(frame_id)[name]
            kind = state["Type"]
            self.emit(
                f"{kind}StateEntered", name, "running", {"name": name, "input": data}, frame_id
            )
            name, data = self.run_state(frame_id, frame, state)

    def run_state(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]
    ) -> tuple[str | None, Any]:
        from .errors import StatesError

        try:
            return getattr(self, "_" + state["Type"].lower())(frame_id, frame, state)
        except StatesError as exc:
            return self.fail_state(frame_id, frame, state, exc)  # type: ignore[attr-defined]

    def exit(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        output: Any,
        status: str = "succeeded",
        extra: dict[str, Any] | None = None,
        target: str | None = None,
    ) -> tuple[str | None, Any]:
        name = frame["state"]
        self.check_size(output)
        details = {"name": name, "output": output, **(extra or {})}
        self.emit(f"{state['Type']}StateExited", name, status, details, frame_id)
        if target is not None:
            return target, output
        if state.get("End"):
            self.frame_done(frame_id, output)
            return None, None
        return state["Next"], output

    def record_input(self, data: Any) -> bool:
        """Count a state's input against what one step may record; True if that stopped
        the execution. Each input is within the payload limit, but a step records every
        one in the history and the snapshot: a Map of a thousand items that each select
        the same large part of the input, or a loop of Pass states passing a large
        document, would write gigabytes in one transaction."""
        size = self._sizes.get(id(data))
        if size is None:
            size = measure(data, self.snapshot.get("max_payload", DEFAULT_MAX_PAYLOAD))[0]
        self.recorded += size
        limit = self.snapshot.get("max_step_bytes", DEFAULT_MAX_STEP_BYTES)
        if self.recorded <= limit:
            return False
        self.stop(  # type: ignore[attr-defined]
            STEP_DATA_LIMIT,
            f"One step of the execution recorded more than {limit} bytes of state inputs "
            "without waiting (LEGATO_MAX_STEP_BYTES): a loop of states that never waits, or "
            "a Map or Parallel whose every item or branch carries a large input (a "
            "Distributed Map keeps each run's data apart)",
            status=FAILED,
        )
        return True

    def bounded(self, value: Any) -> Any:
        """``value``, unless it is surely over the payload limit (uncatchable then).

        Measured without serialising: a template that names one large value many times
        is cheap to build (references) but would take gigabytes as JSON, in the snapshot
        or the history, before any exact check could refuse it.
        """
        limit = self.snapshot.get("max_payload", DEFAULT_MAX_PAYLOAD)
        if json_size_exceeds(value, limit):
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The state/task returned a result with a size exceeding the maximum number "
                f"of bytes service limit (more than {limit} bytes).",
            )
        return value

    def storable(self, value: Any, what: str) -> str:
        """``value`` as JSON text; a value no JSON column can hold (too deep, NaN, a NUL
        or a lone surrogate, which only text parsed at run time can bring) fails the
        execution, uncatchably: saving it would fail in the runtime instead."""
        try:
            return payloads.dumps(value, self.snapshot.get("max_depth", DEFAULT_MAX_DEPTH))
        except payloads.Unstorable as exc:
            raise StatesError(errors.RUNTIME, f"{what} cannot be stored: {exc}") from None

    def check_size(self, value: Any) -> None:
        """A state output over the payload limit fails the execution (uncatchably)."""
        limit = self.snapshot.get("max_payload", DEFAULT_MAX_PAYLOAD)
        # Not measured first (``bounded``): every value a state can output was bounded
        # where it was built (templates, expressions, gathered results), so it is safe to
        # print, and printing it in C is the cheapest measure.
        text = self.storable(value, "A state output")
        size = len(text.encode())
        self._sizes[id(value)] = size
        if size > limit:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The state/task returned a result with a size exceeding the maximum number "
                f"of bytes service limit ({size} > {limit} bytes).",
            )

    # --- endings ----------------------------------------------------------------------------

    def frame_done(self, frame_id: str, output: Any) -> None:
        if frame_id == "":
            self.finish(SUCCEEDED, output=output)
            self.emit("ExecutionSucceeded", None, None, {"output": output})
            return
        self.child_finished(frame_id, output)  # type: ignore[attr-defined]

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
            return
        self.child_failed(frame_id, error, cause)  # type: ignore[attr-defined]

    def finish(
        self, status: str, output: Any = None, error: str | None = None, cause: str | None = None
    ) -> None:
        snap = self.snapshot
        snap.update(status=status, output=output, error=error, cause=cause)
        for key, pending in snap["pending"].items():
            if pending["kind"] in ("task", "iteration", "reader", "writer"):
                self.command("cancel_task", key=key)
        snap["pending"] = {}
        root = snap["frames"].get("", {"scope": {}})
        if status != SUCCEEDED and root.get("state"):
            # Where a redrive picks up: the top-level state that was running, its input,
            # and which of its branches or iterations had already succeeded.
            snap["redrive"] = {key: root.get(key) for key in ("state", "input", "entered", "kept")}
        snap["frames"] = {"": {"scope": root["scope"], "vars": root.get("vars", {})}}
        self.command("finish", status=status, output=output, error=error, cause=cause)
