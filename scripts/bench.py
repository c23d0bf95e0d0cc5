"""`make bench`: speed figures for the pure engine (more land with the runtime issues).

- local transitions per second: a chain of Pass states with Parameters and ResultPath,
  run inside one `engine.start` (goal: >= 50,000/s on one core)
- validation time for a 500-state definition (goal: < 100 ms)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    text = task_chain_text(500)
    best, median = best_of(lambda: engine.validate(text), 7)
    print(
        f"validate 500-state definition: {best * 1000:.1f} ms (best of 7; median "
        f"{median * 1000:.1f} ms) — goal < 100 ms"
    )


if __name__ == "__main__":
    main()
