"""Run one state on an input and show every processing stage (like Step Functions'
TestState): for trying a state in the designer or from the API without an execution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import payloads
from .errors import PARAMETER_PATH_FAILURE, StatesError
from .frames import iso
from .interpreter import _Run

NAME = "__state_under_test__"  # cannot clash with a real target: user names are shown as-is


def inspect_state(
    state: dict[str, Any],
    state_input: Any,
    *,
    now: datetime,
    result: Any = None,
    error: str | None = None,
    cause: str | None = None,
    variables: dict[str, Any] | None = None,
    query_language: str | None = None,
) -> dict[str, Any]:
    """Run ``state`` once on ``state_input``.

    A Task does not run its resource here: give its ``result``, or an ``error`` (and
    ``cause``) to see what Retry and Catch would do. Returns ``status`` (SUCCEEDED, FAILED,
    RETRIABLE or CAUGHT_ERROR), ``nextState``, ``output``, ``error``, ``cause``, the
    assigned ``variables`` and ``inspectionData`` (the value after each stage).
    """
    if state.get("Type") in ("Parallel", "Map"):
        raise ValueError("Parallel and Map states cannot be tested on their own")
    body = {k: v for k, v in state.items() if k not in ("Next", "End")}
    machine: dict[str, Any] = {"StartAt": NAME, "States": {NAME: {**body, "End": True}}}
    if query_language:
        machine["QueryLanguage"] = query_language
    snapshot: dict[str, Any] = {
        "status": "RUNNING",
        "seed": 0,
        "counter": 0,
        "pending": {},
        "output": None,
        "error": None,
        "cause": None,
        "context": {
            "Execution": {
                "Id": "test-state",
                "Name": "test-state",
                "Input": state_input,
                "StartTime": iso(now),
            },
            "StateMachine": {"Id": "test-state", "Name": "test-state"},
        },
        "frames": {
            "": {
                "scope": {"parent": None, "index": None, "states": ""},
                "vars": dict(variables or {}),
                "state": NAME,
                "input": state_input,
                "entered": iso(now),
                "attempt": 1,
                "retries": {},
            }
        },
    }
    run = _Run(machine, snapshot, now)
    run.trace = {"input": state_input}
    frame = snapshot["frames"][""]
    vars_before = dict(frame["vars"])
    kind = body["Type"]
    run.emit(f"{kind}StateEntered", NAME, "running", {"name": NAME, "input": state_input})
    try:
        if kind == "Task":
            if error is not None:
                target, output = run.fail_state(
                    "", frame, machine["States"][NAME], StatesError(error, cause or "")
                )
                if "retry" in frame:
                    return _answer("RETRIABLE", None, None, error, cause, run, {})
            else:
                run.effective_input("", frame, machine["States"][NAME], PARAMETER_PATH_FAILURE)
                target, output = run._task_result("", frame, machine["States"][NAME], result)
        elif kind == "Wait":
            frame["effective"] = run.selected_input("", frame, machine["States"][NAME])
            target, output = run._wait_done("", frame, machine["States"][NAME])
        else:
            target, output = run.run_state("", frame, machine["States"][NAME])
    except StatesError as exc:
        return _answer("FAILED", None, None, exc.error, exc.cause, run, {})
    return _outcome(run, state, target, output, vars_before)


def _outcome(
    run: _Run, state: dict[str, Any], target: str | None, output: Any, vars_before: dict[str, Any]
) -> dict[str, Any]:
    snap = run.snapshot
    assigned = {
        k: v
        for k, v in snap["frames"][""].get("vars", {}).items()
        if vars_before.get(k, object()) != v
    }
    caught = [e for e in run.step.events if e["status"] == "caught"]
    if caught:
        return _answer(
            "CAUGHT_ERROR",
            target,
            output,
            caught[-1]["details"].get("error"),
            caught[-1]["details"].get("cause"),
            run,
            assigned,
        )
    if snap["status"] == "FAILED":
        return _answer("FAILED", None, None, snap["error"], snap["cause"], run, assigned)
    if snap["status"] == "SUCCEEDED":
        output = snap["output"]
        target = state.get("Next")
    return _answer(
        "SUCCEEDED", target if target != NAME else None, output, None, None, run, assigned
    )


def _answer(
    status: str,
    next_state: str | None,
    output: Any,
    error: str | None,
    cause: str | None,
    run: _Run,
    assigned: dict[str, Any],
) -> dict[str, Any]:
    trace = {stage: _shown(value) for stage, value in (run.trace or {}).items()}
    if status in ("SUCCEEDED", "CAUGHT_ERROR"):
        trace["output"] = output
    return {
        "status": status,
        "nextState": next_state,
        "output": output,
        "error": error,
        "cause": cause,
        "variables": assigned,
        "inspectionData": trace,
    }


def _shown(value: Any) -> Any:
    """A stage's value, or what keeps it from being shown: the failure a stage caused (a
    lone surrogate or NaN parsed by ``States.StringToJson``) is reported as the state's
    error, and the stage itself must still render as JSON."""
    found = payloads.problem(value, payloads.MAX_DEPTH_CEILING)
    return value if found is None else f"(not shown: {found})"
