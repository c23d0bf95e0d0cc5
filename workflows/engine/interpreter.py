"""The ASL interpreter: a pure state machine from (snapshot, event, now) to the next step.

``start`` and ``advance`` never read a clock, touch a database or run a task. They take
the current snapshot (plain JSON data), one event (the execution started, a task
finished, a timer fired, an operator stopped it) and the current time, and return the
next snapshot, the history events to record, and the commands for the runtime to carry
out (run a task, start a timer, finish). The runtime persists all three atomically;
because the snapshot is plain JSON it can be stored, reloaded and replayed anywhere.

An execution is a tree of *frames*: the root frame runs the top-level ``States``; each
Parallel branch and Map iteration runs in a child frame whose id is its path, such as
``/Fan[3]/Split[1]``. ``advance`` takes ownership of the snapshot it is given and may
modify it in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .distributed import DistributedMixin
from .errors import StatesError
from .frames import (
    ABORTED,
    END_OF_TIME,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    Step,
    iso,
    parse_iso,
)
from .payloads import DEFAULT_MAX_DEPTH
from .states import StatesMixin

SNAPSHOT_VERSION = 2

__all__ = [
    "ABORTED",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "TIMED_OUT",
    "Step",
    "advance",
    "iso",
    "parse_iso",
    "start",
]


class _Run(StatesMixin, DistributedMixin):
    """One interpreter step over a mutable snapshot."""


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
    max_payload_bytes: int = 256 * 1024,
    secret: str = "",
    max_map_items: int = 0,
    max_history: int = 25_000,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_step_bytes: int = 64 * 1024 * 1024,
) -> Step:
    """Begin an execution: record ExecutionStarted and run until the first wait.

    ``start_at`` lets an operator re-run from a chosen top-level state (its recorded
    input given as ``execution_input``). ``max_depth`` bounds how deep state outputs and
    variables may nest (``payloads``).
    """
    snapshot: dict[str, Any] = {
        "v": SNAPSHOT_VERSION,
        "status": RUNNING,
        "seed": seed,
        "counter": 0,
        "max_payload": max_payload_bytes,
        "max_map_items": max_map_items,
        "max_history": max_history,
        "max_depth": max_depth,
        "max_step_bytes": max_step_bytes,
        "secret": secret,
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
        "frames": {"": {"scope": {"parent": None, "index": None, "states": ""}, "vars": {}}},
        "pending": {},
        "output": None,
        "error": None,
        "cause": None,
    }
    run = _Run(definition, snapshot, now)
    run.emit("ExecutionStarted", details={"input": execution_input})
    timeout = definition.get("TimeoutSeconds")
    if isinstance(timeout, int) and timeout > 0:
        try:
            deadline = run.later(timeout, "The execution's timeout")
        except StatesError:  # after the calendar's end: as good as none
            deadline = END_OF_TIME
        run.timer("", "execution_timeout", deadline)
    run.enter("", start_at or definition["StartAt"], execution_input)
    run.count_events()
    return run.step


def advance(
    definition: dict[str, Any],
    snapshot: dict[str, Any],
    event: dict[str, Any],
    now: datetime,
    *,
    first_event_id: int | None = None,
) -> Step:
    """Apply one event to a running execution.

    Events: ``task_started``/``task_heartbeat``/``task_succeeded``/``task_failed`` (with
    ``key`` and ``output`` or ``error``/``cause``), ``timer_fired`` (``key``), ``stop``
    (``error``/``cause``), ``redrive`` (a failed, timed-out or aborted execution runs
    again from where it stopped). An event for a task or timer the execution no longer
    waits for is stale and changes nothing. ``first_event_id`` is the history id the
    first event of this step will get (the runtime's next sequence number); without it
    the interpreter counts the events it produced itself.
    """
    run = _Run(definition, snapshot, now, first_event_id)
    step = _apply(run, snapshot, event)
    if not step.stale:
        run.count_events()
    return step


def _apply(run: _Run, snapshot: dict[str, Any], event: dict[str, Any]) -> Step:
    kind = event["type"]
    if kind == "redrive":
        if snapshot["status"] != RUNNING and snapshot.get("redrive"):
            run.redrive()
        else:
            run.step.stale = True
        return run.step
    if snapshot["status"] != RUNNING:
        run.step.stale = True
        return run.step
    if kind == "stop":
        run.stop(event.get("error"), event.get("cause"))
    elif kind == "fail":
        run.stop(event.get("error"), event.get("cause"), status=FAILED)
    elif kind == "timer_fired":
        run.timer_fired(event["key"])
    elif kind == "map_gathered":
        run.map_gathered(event["frame"], event["results"])
    elif kind in (
        "task_started",
        "task_submitted",
        "task_heartbeat",
        "task_succeeded",
        "task_failed",
    ):
        run.task_event(kind, event)
    else:
        raise ValueError(f"unknown event type {kind!r}")
    return run.step
