"""`make loadtest`: N concurrent clients start and poll executions for a fixed time.

By default it starts its own embedded server on a free port (loopback only); pass
``--url`` and ``--token`` to load an existing deployment instead. Prints requests/s,
latency p50/p99 and the error rate per request kind, and writes artifacts/loadtest.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import stack  # noqa: E402

FLOW = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": "builtin:echo", "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Default": "Done",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1000000, "Next": "Done"}],
        },
        "Done": {"Type": "Succeed"},
    },
}


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    def record(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1


def client(api: stack.Api, recorder: Recorder, deadline: float, number: int) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        began = time.monotonic()
        status, body = api.call(
            "POST", "/api/v1/flows/load/executions/", {"input": {"n": number * 100000 + n}}
        )
        recorder.record("start", time.monotonic() - began, status == 201)
        if status != 201:
            continue
        for _ in range(50):
            if time.monotonic() >= deadline:
                return
            began = time.monotonic()
            status, execution = api.call("GET", f"/api/v1/executions/{body['id']}/")
            recorder.record("get", time.monotonic() - began, status == 200)
            if status != 200 or execution["status"] != "RUNNING":
                break
            time.sleep(0.05)
        began = time.monotonic()
        status, _ = api.call("GET", f"/api/v1/executions/{body['id']}/history/")
        recorder.record("history", time.monotonic() - began, status == 200)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--url")
    parser.add_argument("--token")
    args = parser.parse_args()
    process = None
    if args.url:
        api = stack.Api(args.url.rstrip("/"), args.token)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="legato-load-"))
        env = stack.base_env(data_dir)
        port = stack.free_port()
        log = data_dir / "serve.log"
        process = stack.spawn(
            env, [stack.PYTHON, "manage.py", "serve", "--port", str(port), "--no-examples"], log
        )
        stack.wait_healthy(f"http://127.0.0.1:{port}", process=process, log=log)
        api = stack.Api(f"http://127.0.0.1:{port}", stack.create_token(env))
    try:
        api.call("POST", "/api/v1/flows/", {"name": "load", "definition": FLOW})
        recorder = Recorder()
        deadline = time.monotonic() + args.seconds
        began = time.monotonic()
        threads = [
            threading.Thread(target=client, args=(api, recorder, deadline, i))
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 60)
        elapsed = time.monotonic() - began
    finally:
        if process is not None:
            stack.stop(process)
    report = {"clients": args.clients, "seconds": round(elapsed, 1), "kinds": {}}
    total = sum(len(v) for v in recorder.latencies.values())
    errors = sum(recorder.errors.values())
    print(
        f"{args.clients} clients for {elapsed:.0f} s: {total} requests, "
        f"{total / elapsed:.1f} req/s, error rate {errors / max(total, 1):.2%}"
    )
    print(f"{'request':<10}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, values in sorted(recorder.latencies.items()):
        row = {
            "count": len(values),
            "rps": len(values) / elapsed,
            "p50_ms": percentile(values, 50) * 1000,
            "p99_ms": percentile(values, 99) * 1000,
            "mean_ms": statistics.mean(values) * 1000,
            "errors": recorder.errors[kind],
        }
        report["kinds"][kind] = row
        print(
            f"{kind:<10}{row['count']:>8}{row['rps']:>9.1f}{row['p50_ms']:>9.1f}"
            f"{row['p99_ms']:>9.1f}{row['errors']:>8}"
        )
    report.update(total=total, rps=total / elapsed, error_rate=errors / max(total, 1))
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "loadtest.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
