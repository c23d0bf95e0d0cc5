"""ASL conformance suite: data-driven cases run against the pure engine in virtual time.

Each case under ``cases/<feature>/<topic>.json`` holds a definition, an input, scripted
task responses and the result AWS Step Functions documents (or was recorded producing).
The driver below plays the runtime's part: it answers ``run_task`` commands from the
case's ``tasks`` script, fires timers in time order (virtual time only moves when a timer
fires) and round-trips the snapshot through JSON after every step. See README.md.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workflows import engine

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
PENDING_FILE = HERE / "pending.txt"
MIN_CASES = 300

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
EXECUTION_ID = "arn:legato:execution:conformance"
EXECUTION_NAME = "conformance"
STATE_MACHINE_NAME = "conformance"
MAX_STEPS = 5000


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*/*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        feature, topic = path.parent.name, path.stem
        assert doc.get("feature") == feature, f"{path}: 'feature' must be {feature!r}"
        for case in doc["cases"]:
            cases.append((f"{feature}/{topic}/{case['name']}", case))
    return cases


def load_pending() -> dict[str, str]:
    pending = {}
    for raw in PENDING_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        case_id, _, reason = line.partition("#")
        pending[case_id.strip()] = reason.strip() or "pending"
    return pending


CASES = load_cases()
PENDING = load_pending()


MAP_RESOURCE = "legato:map:"


class Driver:
    """Runs one case to completion in virtual time."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.definition = case["definition"]
        self.script: dict[str, list[dict[str, Any]]] = case.get("tasks", {})
        self.calls: dict[str, int] = defaultdict(int)
        self.now = T0
        self.snapshot: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []  # outstanding run_task commands, in issue order
        self.timers: list[tuple[datetime, int, str]] = []
        self.issued = 0
        self.child_results: dict[str, Any] = {}  # "entry#index" -> output or error
        self.gathers: list[dict[str, Any]] = []

    def take(self, step: engine.Step) -> None:
        self.snapshot = json.loads(json.dumps(step.snapshot))
        self.events.extend(json.loads(json.dumps(step.events)))
        for command in json.loads(json.dumps(step.commands)):
            kind = command["type"]
            if kind == "run_task" and command["resource"].startswith(MAP_RESOURCE):
                self.tasks.append({**command, "_answer": self.child_run(command)})
            elif kind == "run_task":
                self.tasks.append(command)
            elif kind == "gather_results":
                self.gathers.append(command)
            elif kind == "start_timer":
                self.issued += 1
                fire_at = engine.parse_iso(command["fire_at"])
                self.timers.append((fire_at, self.issued, command["key"]))
            elif kind == "cancel_task":
                self.tasks = [t for t in self.tasks if t["key"] != command["key"]]

    def send(self, event: dict[str, Any]) -> None:
        self.take(engine.advance(self.definition, self.snapshot, event, self.now))

    def response(self, command: dict[str, Any]) -> dict[str, Any]:
        """The scripted answer to a task: the n-th run of a state gets the n-th entry."""
        state = command.get("state")
        script = self.script.get(state) if state is not None else None
        if script:
            index = self.calls[state]
            self.calls[state] += 1
            answer = script[min(index, len(script) - 1)]
            if answer.get("echo"):
                return {"output": command.get("input")}
            return answer
        if command.get("resource") == "builtin:fail":
            payload = command.get("input")
            payload = payload if isinstance(payload, dict) else {}
            return {"error": payload.get("error"), "cause": payload.get("cause")}
        return {"output": command.get("input")}

    def run(self, execution_input: Any) -> Driver:
        self.take(
            engine.start(
                self.definition,
                execution_input,
                now=self.now,
                execution_id=EXECUTION_ID,
                execution_name=EXECUTION_NAME,
                state_machine_name=STATE_MACHINE_NAME,
                seed=0,
            )
        )
        for _ in range(MAX_STEPS):
            if self.snapshot["status"] != "RUNNING":
                return self
            fresh = [command for command in self.tasks if "_answer" not in command]
            finished_children = [c for c in self.tasks if c["resource"].startswith(MAP_RESOURCE)]
            if self.gathers:
                self.gather(self.gathers.pop(0))
            elif finished_children:
                self.finish_child(finished_children[0])
            elif fresh:
                self.answer(fresh[0])
            elif self.timers:
                self.timers.sort()
                fire_at, _, key = self.timers.pop(0)
                self.now = max(self.now, fire_at)
                self.send({"type": "timer_fired", "key": key})
            else:
                raise AssertionError("the execution is stuck: no task to answer and no timer")
        raise AssertionError(f"no result after {MAX_STEPS} steps")

    def child_run(self, command: dict[str, Any]) -> dict[str, Any]:
        """A Distributed Map iteration: its processor runs as a child execution."""
        pointer = command["resource"].removeprefix(MAP_RESOURCE)
        child = Driver(
            {"definition": engine.sub_machine(self.definition, pointer), "tasks": self.script}
        )
        child.calls = self.calls
        child.now = self.now
        child.run(command["input"])
        snap = child.snapshot
        if snap["status"] == "SUCCEEDED":
            result: dict[str, Any] = {"output": snap["output"]}
        else:
            result = {"error": snap["error"], "cause": snap["cause"]}
        self.child_results[command["entry"]] = result
        return result

    def finish_child(self, command: dict[str, Any]) -> None:
        self.tasks = [t for t in self.tasks if t["key"] != command["key"]]
        result = command["_answer"]
        if "error" in result:
            self.send({"type": "task_failed", "key": command["key"], **result})
        else:
            self.send({"type": "task_succeeded", "key": command["key"], "output": None})

    def gather(self, command: dict[str, Any]) -> None:
        results = []
        for index in range(command["total"]):
            result = self.child_results.get(f"{command['entry']}#{index}", {})
            results.append(
                result["output"]
                if "output" in result
                else {"Error": result.get("error"), "Cause": result.get("cause")}
            )
        self.send({"type": "map_gathered", "frame": command["frame"], "results": results})

    def answer(self, command: dict[str, Any]) -> None:
        """A worker takes the task, then answers at once or (``timeout``) never."""
        result = command["_answer"] = self.response(command)
        key = command["key"]
        self.send({"type": "task_started", "key": key})
        if result.get("timeout"):
            return  # stays outstanding until a timer (TimeoutSeconds, heartbeat) ends it
        self.tasks = [t for t in self.tasks if t["key"] != key]
        if self.snapshot["status"] != "RUNNING":
            return
        if "error" in result:
            event = {"type": "task_failed", "key": key}
            event["error"] = result.get("error")
            event["cause"] = result.get("cause")
        else:
            event = {"type": "task_succeeded", "key": key, "output": result.get("output")}
        self.send(event)


def _short(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def check(case: dict[str, Any]) -> None:
    diagnostics = engine.validate(case["definition"]).diagnostics
    rejected = [
        f"{d.code}/{d.rule} at {d.path}: {d.message}" for d in diagnostics if d.severity == "ERROR"
    ]
    assert not rejected, "the validator rejects this valid definition:\n" + "\n".join(rejected)
    run = Driver(case).run(case.get("input", {}))
    expected = case["expected"]
    snap = run.snapshot
    got = {key: snap.get(key) for key in ("status", "output", "error", "cause")}
    shown = _short(got)
    assert got["status"] == expected["status"], f"status: got {shown}"
    if expected["status"] == "SUCCEEDED":
        assert got["output"] == expected["output"], f"output differs: got {shown}"
        assert json.dumps(got["output"], sort_keys=True) == json.dumps(
            expected["output"], sort_keys=True
        ), f"output differs in JSON types (1 vs 1.0, true vs 1): got {shown}"
    else:
        assert got["error"] == expected["error"], f"error: got {shown}"
        if "cause" in expected:
            assert got["cause"] == expected["cause"], f"cause: got {got['cause']!r}"
    if "events" in case:
        types = [event["type"] for event in run.events]
        assert types == case["events"], f"event types differ: got {types}"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case_id,
            marks=[pytest.mark.xfail(strict=True, reason=PENDING[case_id])]
            if case_id in PENDING
            else [],
        )
        for case_id, case in CASES
    ],
)
def test_case(case: dict[str, Any]) -> None:
    check(case)


def test_enough_cases_and_unique_ids() -> None:
    ids = [case_id for case_id, _ in CASES]
    assert len(ids) >= MIN_CASES, f"only {len(ids)} conformance cases"
    assert len(ids) == len(set(ids)), "duplicate case ids"


def test_pending_entries_exist() -> None:
    known = {case_id for case_id, _ in CASES}
    stale = sorted(set(PENDING) - known)
    assert not stale, f"pending.txt names cases that do not exist: {stale}"
