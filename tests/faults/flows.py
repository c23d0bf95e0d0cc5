"""The definitions the fault scenarios run, and their inputs."""

from __future__ import annotations

from typing import Any

# Handlers named by module path, not by their short names: see test_resource_resolution.py.
RECORD = "python:tests.faults.handlers.record"
HOLD_RESOURCE = "python:tests.faults.handlers.hold"


def _record(label: Any, x: str, **more: Any) -> dict[str, Any]:
    params = {"x.$": x}
    params.update({"label.$": label} if label.startswith("States.") else {"label": label})
    return {"Type": "Task", "Resource": RECORD, "Parameters": params, **more}


# Task -> Parallel -> Map -> Choice -> Task (the shape).
PIPELINE: dict[str, Any] = {
    "Comment": "fault suite: Task, Parallel, Map, Choice, Task",
    "StartAt": "Prepare",
    "States": {
        "Prepare": _record("prepare", "$.n", ResultPath="$.prepared", Next="Fan"),
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": _record("left", "$.n", End=True)}},
                {"StartAt": "Right", "States": {"Right": _record("right", "$.n", End=True)}},
            ],
            "ResultPath": "$.fan",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {"Item": _record("States.Format('item-{}', $.i)", "$.v", End=True)},
            },
            "ResultPath": "$.mapped",
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 50, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": _record("big", "$.n", ResultPath="$.final", End=True),
        "Small": _record("small", "$.n", ResultPath="$.final", End=True),
    },
}

# One task that finishes at a moment the test chooses, which ends the execution: its
# completion races an operator's stop for the same execution row.
HOLD: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {
        "Hold": {
            "Type": "Task",
            "Resource": HOLD_RESOURCE,
            "ResultPath": "$.held",
            "End": True,
        },
    },
}


def pipeline_input(i: int) -> dict[str, Any]:
    """Input of the i-th execution: 2–4 Map items, and both Choice branches over a run."""
    return {"n": i % 100, "items": [i * 10 + k for k in range(2 + i % 3)]}
