"""`make bench`: speed figures for the pure engine (more land with the runtime issues).

- local transitions per second: a chain of Pass states with Parameters and ResultPath,
  run inside one `engine.start` (goal: >= 50,000/s on one core)
- validation time for a 500-state definition, as JSON and as YAML text (goal: < 100 ms)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from workflows import engine  # noqa: E402


def pass_chain(length: int) -> dict:
    states = {}
    for i in range(length):
        states[f"S{i}"] = {
            "Type": "Pass",
            "Parameters": {"step": i, "value.$": "$.value", "tag.$": "$$.State.Name"},
            "ResultPath": "$.last",
            **({"Next": f"S{i + 1}"} if i < length - 1 else {"End": True}),
        }
    return {"StartAt": "S0", "States": states}


def task_chain_text(length: int) -> str:
    states = {}
    for i in range(length):
        states[f"State{i}"] = {
            "Type": "Task",
            "Resource": "builtin:echo",
            "Parameters": {"n.$": "$.n", "fmt.$": "States.Format('step {}', $.n)"},
            "ResultPath": f"$.r{i % 7}",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}],
            **({"Next": f"State{i + 1}"} if i < length - 1 else {"End": True}),
        }
    return json.dumps({"StartAt": "State0", "States": states}, indent=2)


def task_chain_yaml(length: int) -> str:
    """The same definition as YAML (block style, as people write it)."""
    return yaml.safe_dump(json.loads(task_chain_text(length)), sort_keys=False, width=1000)


def best_of(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return min(times), statistics.median(times)


def main() -> None:
    now = datetime.now(UTC)
    length = 2000
    definition = pass_chain(length)
    best, median = best_of(lambda: engine.start(definition, {"value": 1}, now=now), 7)
    print(
        f"pass-chain transitions/s: {length / best:,.0f} (best of 7; median "
        f"{length / median:,.0f}) — goal >= 50,000"
    )
    for label, text in (("JSON", task_chain_text(500)), ("YAML", task_chain_yaml(500))):
        best, median = best_of(lambda text=text: engine.validate(text), 15)
        print(
            f"validate 500-state definition ({label}): {best * 1000:.1f} ms (best of 15; "
            f"median {median * 1000:.1f} ms) — goal < 100 ms"
        )


if __name__ == "__main__":
    main()
