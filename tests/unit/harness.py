"""Drive the pure interpreter in virtual time, round-tripping the snapshot through JSON
at every step so that anything not serialisable fails here, not in production."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from workflows import engine

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

TaskFn = Callable[[str, Any, int], dict[str, Any]]


def echo_tasks(resource: str, payload: Any, attempt: int) -> dict[str, Any]:
    return {"output": payload}


def _stored(value: Any) -> str:
    """JSON text as a database would take it: no NaN, and encodable as UTF-8."""
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    return text


class Run:
    def __init__(self, definition: dict[str, Any], tasks: TaskFn = echo_tasks) -> None:
        self.definition = definition
        self.tasks = tasks
        self.events: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.now = T0
        self.snapshot: dict[str, Any] = {}

    def _take(self, step: engine.Step) -> list[dict[str, Any]]:
        self.snapshot = json.loads(_stored(step.snapshot))
        self.events.extend(json.loads(_stored(step.events)))
        self.commands.extend(step.commands)
        return step.commands

    def start(self, execution_input: Any = None) -> Run:
        step = engine.start(
            self.definition,
            {} if execution_input is None else execution_input,
            now=self.now,
            execution_id="exec-1",
            execution_name="test",
            state_machine_name="machine",
            seed=7,
        )
        self._take(step)
        return self

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._take(engine.advance(self.definition, self.snapshot, event, self.now))

    def finish(self, execution_input: Any = None, max_steps: int = 1000) -> Run:
        """Start and run to the end: tasks answered by ``tasks``, timers fired in order."""
        queue = list(self.start(execution_input).commands)
        timers: list[tuple[datetime, str]] = []
        tasks: list[dict[str, Any]] = []
        for _ in range(max_steps):
            for command in queue:
                if command["type"] == "run_task":
                    tasks.append(command)
                elif command["type"] == "start_timer":
                    timers.append((engine.parse_iso(command["fire_at"]), command["key"]))
            queue = []
            if self.snapshot["status"] != "RUNNING":
                return self
            if tasks:
                command = tasks.pop(0)
                result = self.tasks(command["resource"], command["input"], command["attempt"])
                if "error" in result:
                    event = {"type": "task_failed", "key": command["key"], **result}
                else:
                    event = {
                        "type": "task_succeeded",
                        "key": command["key"],
                        "output": result["output"],
                    }
                queue = self.send(event)
            elif timers:
                timers.sort()
                fire_at, key = timers.pop(0)
                self.now = max(self.now, fire_at)
                queue = self.send({"type": "timer_fired", "key": key})
            else:
                raise AssertionError("the execution is stuck: no task, no timer")
        raise AssertionError("too many steps")

    @property
    def status(self) -> str:
        return self.snapshot["status"]

    @property
    def output(self) -> Any:
        return self.snapshot["output"]

    @property
    def error(self) -> str | None:
        return self.snapshot["error"]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def elapsed(self) -> timedelta:
        return self.now - T0


def machine(states: dict[str, Any], start: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **extra}
