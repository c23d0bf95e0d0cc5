"""Run a definition to the end in this process, with no database, broker or server.

This is what ``flow run`` uses: the same pure interpreter and the same task handlers as
the durable runtime, with tasks run on a local thread pool and timers kept in memory
(waits really wait). Handy in CI pipelines and as the reference the fault tests compare
the durable runtime against.
"""

from __future__ import annotations

import heapq
import random
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import engine
from .engine.distributed import MAP_RESOURCE
from .engine.payloads import DEFAULT_MAX_DEPTH
from .resources import TaskContext, invoke


@dataclass
class Outcome:
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def run(
    definition: dict[str, Any],
    execution_input: Any = None,
    *,
    name: str = "local",
    max_workers: int = 8,
    seed: int | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Outcome:
    """Run ``definition`` on ``execution_input`` until it ends; return how it ended."""
    execution_id = str(uuid.uuid4())
    step = engine.start(
        definition,
        {} if execution_input is None else execution_input,
        now=_now(),
        execution_id=execution_id,
        execution_name=name,
        state_machine_name=name,
        seed=random.SystemRandom().getrandbits(32) if seed is None else seed,
        max_depth=max_depth,
    )
    events = list(step.events)
    timers: list[tuple[datetime, str]] = []
    running: dict[Future[dict[str, Any]], str] = {}
    child_results: dict[str, Any] = {}  # Distributed Map runs by "entry#index"
    gathers: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flow-run") as pool:
        while True:
            for command in step.commands:
                if command["type"] == "run_task" and command["resource"].startswith(MAP_RESOURCE):
                    child = engine.sub_machine(
                        definition, command["resource"].removeprefix(MAP_RESOURCE)
                    )
                    future = pool.submit(
                        _child_run, child, command["input"], name, command["entry"], child_results
                    )
                    running[future] = command["key"]
                elif command["type"] == "gather_results":
                    gathers.append(command)
                elif command["type"] == "run_task":
                    context = TaskContext(
                        execution_id,
                        command["state"],
                        command["attempt"],
                        f"{execution_id}:{command['entry']}",
                        task_token=command.get("token"),
                    )
                    future = pool.submit(_invoke, command["resource"], command["input"], context)
                    running[future] = command["key"]
                elif command["type"] == "start_timer":
                    heapq.heappush(timers, (engine.parse_iso(command["fire_at"]), command["key"]))
            if step.finished:
                snap = step.snapshot
                for future in running:
                    future.cancel()
                return Outcome(snap["status"], snap["output"], snap["error"], snap["cause"], events)
            if gathers:
                event = _gathered(gathers.pop(0), child_results)
            else:
                event = _next_event(running, timers)
            step = engine.advance(definition, step.snapshot, event, _now())
            events.extend(step.events)


def _next_event(
    running: dict[Future[dict[str, Any]], str], timers: list[tuple[datetime, str]]
) -> dict[str, Any]:
    while True:
        timeout = None
        if timers:
            timeout = max(0.0, (timers[0][0] - _now()).total_seconds())
            if timeout == 0:
                return {"type": "timer_fired", "key": heapq.heappop(timers)[1]}
        if not running:
            if timeout is None:
                raise RuntimeError("the execution waits for nothing")
            time.sleep(timeout)
            continue
        done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
        if done:
            future = done.pop()
            key = running.pop(future)
            result = future.result()
            if "error" in result:
                return {"type": "task_failed", "key": key, **result}
            # A .waitForTaskToken task completes with what its handler returned: there is
            # no server here for anyone to call back.
            return {"type": "task_succeeded", "key": key, "output": result["output"]}


def _child_run(
    child: dict[str, Any], payload: Any, name: str, entry: str, results: dict[str, Any]
) -> dict[str, Any]:
    """A Distributed Map iteration, run as a nested local execution."""
    outcome = run(child, payload, name=f"{name}-child", max_workers=2)
    if outcome.status == engine.SUCCEEDED:
        results[entry] = {"output": outcome.output}
        return {"output": None}
    results[entry] = {"error": outcome.error, "cause": outcome.cause}
    return {"error": outcome.error or "States.TaskFailed", "cause": outcome.cause or ""}


def _gathered(command: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    ordered = []
    for index in range(command["total"]):
        result = results.get(f"{command['entry']}#{index}", {})
        ordered.append(
            result["output"]
            if "output" in result
            else {"Error": result.get("error"), "Cause": result.get("cause")}
        )
    return {"type": "map_gathered", "frame": command["frame"], "results": ordered}


def _invoke(resource: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    if resource.startswith(("activity:", "flow:")):
        return {
            "error": "Legato.NotAvailableOffline",
            "cause": f"{resource.split(':')[0]}: tasks need the Legato server; "
            "flow run executes a definition on its own",
        }
    return invoke(resource, payload, context)
