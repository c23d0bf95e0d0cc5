"""`make bench`, part 2: runtime figures for scaled and embedded mode.

Starts its own stack on 127.0.0.1 — a fresh PostgreSQL database on the local server, its
own ``redis-server`` on a free port, ONE Celery worker with a prefork pool of 2 processes,
one sweeper and one uvicorn — runs the scenarios below, prints a table, writes
``artifacts/bench-runtime.json`` and tears everything down. Then it runs the embedded mode
(``manage.py serve``: SQLite and the in-process broker) in a fresh data directory.

Scenarios (docs/benchmarks.md explains each figure):
  latency      one 50-Task chain (builtin:echo) at a time: step-to-step p50/p99
  chain        50-Task chain x 100 concurrent executions: steps/s, history events/s
  passchoice   50-state Pass/Choice-only chain: executions/s and states/s
  celery       the floor: a plain Celery chain of 50 no-op tasks, single and x 100
  map          Map of no-op Tasks, inline and DISTRIBUTED, on a size ladder up to 10,000
  memory       VmHWM of the worker's main process and pool children (and the rest)
  embedded     manage.py serve: single-chain latency and a small throughput figure

Environment:
  LEGATO_BENCH_SCALE          multiplies the counts (default 1; 0.1 for a smoke run)
  LEGATO_BENCH_MAP_BUDGET     seconds for all Map runs together (default 330)
  LEGATO_BENCH_CHAIN_TIMEOUT  seconds the 100-execution chain may take (default 360)
  LEGATO_BENCH_POSTGRES_URL   server to create the database on
                              (default postgres://postgres@127.0.0.1:5432/postgres)
  LEGATO_BENCH_SKIP           comma-separated scenario names to skip
  LEGATO_BENCH_MAP_MODES      Map modes to run (default inline,distributed)
  LEGATO_BENCH_MAP_SIZES      Map sizes instead of the ladder (e.g. 2000,10000)
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import platform
import pstats
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import stack  # noqa: E402

SCALE = float(os.environ.get("LEGATO_BENCH_SCALE", "1"))
MAP_BUDGET = float(os.environ.get("LEGATO_BENCH_MAP_BUDGET", "330"))
POSTGRES_URL = os.environ.get(
    "LEGATO_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
SKIP = {s.strip() for s in os.environ.get("LEGATO_BENCH_SKIP", "").split(",") if s.strip()}
CHAIN = 50
QUEUE = "legato"
ARTIFACT = ROOT / "artifacts" / "bench-runtime.json"


def scaled(count: int, minimum: int = 1) -> int:
    return max(minimum, round(count * SCALE))


CONCURRENT = scaled(100, 2)
LATENCY_RUNS = scaled(4)
PASS_RUNS = scaled(300, 10)
EMBEDDED_CONCURRENT = scaled(20, 2)
CHAIN_TIMEOUT = float(os.environ.get("LEGATO_BENCH_CHAIN_TIMEOUT", "360"))
MAP_TOP = scaled(10_000, 10)
MAP_LADDER = sorted({n for n in (100, 1_000, 2_000, 5_000, 10_000) if n < MAP_TOP} | {MAP_TOP})
if os.environ.get("LEGATO_BENCH_MAP_SIZES"):
    MAP_LADDER = sorted(int(n) for n in os.environ["LEGATO_BENCH_MAP_SIZES"].split(","))
MAP_MODES = os.environ.get("LEGATO_BENCH_MAP_MODES", "inline,distributed").split(",")


# --- flows -----------------------------------------------------------------------------------


def task_chain(length: int = CHAIN) -> dict[str, Any]:
    states = {
        f"T{i}": {
            "Type": "Task",
            "Resource": "builtin:echo",
            **({"Next": f"T{i + 1}"} if i < length - 1 else {"End": True}),
        }
        for i in range(length)
    }
    return {"StartAt": "T0", "States": states}


def pass_choice_chain(length: int = CHAIN) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        follow = {"Next": f"S{i + 1}"} if i < length - 1 else {"End": True}
        if i % 2 == 0 or i == length - 1:
            states[f"S{i}"] = {"Type": "Pass", "Result": i, "ResultPath": "$.last", **follow}
        else:
            states[f"S{i}"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": f"S{i + 1}"}
                ],
                "Default": f"S{i + 1}",
            }
    return {"StartAt": "S0", "States": states}


def map_flow(distributed: bool) -> dict[str, Any]:
    processor: dict[str, Any] = {
        "StartAt": "Noop",
        "States": {"Noop": {"Type": "Task", "Resource": "builtin:echo", "End": True}},
    }
    if distributed:
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": processor,
                "ResultPath": None,
                "End": True,
            }
        },
    }


# --- small helpers ---------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def step_gaps(rows: list[tuple[Any, str, float]]) -> tuple[list[float], list[float]]:
    """From (execution, type, time) rows in seq order: TaskStarted->next TaskStarted, and
    TaskSucceeded->next TaskStarted (the hand-off), per execution."""
    cycle: list[float] = []
    handoff: list[float] = []
    last_started: dict[Any, float] = {}
    last_done: dict[Any, float] = {}
    for execution, kind, moment in rows:
        if kind == "TaskStarted":
            if execution in last_started:
                cycle.append(moment - last_started[execution])
            if execution in last_done:
                handoff.append(moment - last_done.pop(execution))
            last_started[execution] = moment
        elif kind == "TaskSucceeded":
            last_done[execution] = moment
    return cycle, handoff


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])  # kB
    return out


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def postgres_backends(database: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes()
                if cmd.startswith(b"postgres: ") and f" {database} ".encode() in cmd:
                    pids.append(int(entry.name))
    return pids


# --- the scaled stack ------------------------------------------------------------------------


class Stack:
    """PostgreSQL database + own redis-server + worker + sweeper + uvicorn, all local."""

    def __init__(self, workdir: Path) -> None:
        import psycopg

        self.workdir = workdir
        self.database = f"legato_bench_{secrets.token_hex(4)}"
        self.admin = psycopg.connect(POSTGRES_URL, autocommit=True)
        self.admin.execute(f'CREATE DATABASE "{self.database}"')
        self.db_url = urlunparse(urlparse(POSTGRES_URL)._replace(path=f"/{self.database}"))
        self.redis_port = stack.free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.log = workdir / "processes.log"
        self.redis = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
                "--dir", str(workdir), "--loglevel", "warning",
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.env = stack.base_env(
            workdir / "data",
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
            DJANGO_SECRET_KEY="bench-" + secrets.token_hex(16),
            LEGATO_INSECURE_COOKIES="1",
            LEGATO_LOG_LEVEL="INFO",
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.db = psycopg.connect(self.db_url, autocommit=True)

    def start(self) -> None:
        self._wait_redis()
        stack.manage(self.env, "migrate", "--no-input", timeout=300)
        stack.manage(self.env, "bootstrap", "--no-examples")
        token = stack.create_token(self.env)
        celery = str(ROOT / ".venv" / "bin" / "celery")
        if not Path(celery).exists():
            celery = shutil.which("celery") or celery
        port = stack.free_port()
        self.processes["worker"] = stack.spawn(
            self.env,
            [
                celery, "-A", "workflows", "worker", "-P", "prefork", "-c", "2", "-Q", QUEUE,
                "-I", "scripts.bench_tasks", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-l", "warning", "-n", f"bench-{secrets.token_hex(3)}@%h",
            ],
            self.log,
        )  # fmt: skip
        self.processes["sweeper"] = stack.spawn(
            self.env, [stack.PYTHON, "manage.py", "sweeper"], self.log
        )
        self.processes["uvicorn"] = stack.spawn(
            self.env,
            [
                stack.PYTHON, "-m", "uvicorn", "workflows.asgi:application", "--host",
                "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            ],
            self.log,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        stack.wait_healthy(base, process=self.processes["uvicorn"], log=self.log)
        self.api = stack.Api(base, token)
        self._wait_worker()

    def _wait_redis(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis_port)
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def _wait_worker(self) -> None:
        """Until the pool children exist (a prefork worker forks them at start-up)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(children_of(self.processes["worker"].pid)) >= 2:
                time.sleep(1.0)
                return
            if self.processes["worker"].poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError("worker pool did not start")

    def create_flow(self, name: str, definition: dict[str, Any]) -> None:
        status, body = self.api.call(
            "POST", "/api/v1/flows/", {"name": name, "definition": definition}
        )
        if status != 201:
            raise RuntimeError(f"creating flow {name}: {status} {body}")

    def redis_stats(self) -> tuple[int, int]:
        """(connections accepted, commands processed) by this bench's redis-server."""
        import redis

        info = redis.Redis.from_url(self.redis_url).info("stats")
        return info["total_connections_received"], info["total_commands_processed"]

    def commits(self) -> int:
        row = self.db.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [self.database]
        ).fetchone()
        return int(row[0])

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            stack.stop(process)
        stack.stop(self.redis)
        with contextlib.suppress(Exception):
            self.db.close()
        with contextlib.suppress(Exception):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.admin.close()


def start_in_bulk(env: dict[str, str], flow: str, count: int, payload: Any) -> dict[str, float]:
    """Create ``count`` executions in ONE transaction from a subprocess (``--start``), so the
    start costs nothing measurable and all executions become runnable at the same commit."""
    args = ["--start", flow, str(count), json.dumps(payload)]
    result = subprocess.run(
        [stack.PYTHON, str(Path(__file__).resolve()), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"bulk start failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bulk_start_main(flow_name: str, count: int, payload: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows.settings")
    import django

    django.setup()
    from django.db import transaction

    from workflows import services
    from workflows.models import Flow

    flow = Flow.objects.get(name=flow_name)
    data = json.loads(payload)
    marks: dict[str, float] = {"begin": time.time()}
    with transaction.atomic():
        transaction.on_commit(lambda: marks.__setitem__("committed", time.time()))
        for index in range(count):
            services.start_execution(flow, data, name=f"{flow_name}-{index}")
        marks["prepared"] = time.time()
    marks["published"] = time.time()
    print(json.dumps(marks))


def wait_flow_done(st: Stack, flow: str, timeout: float) -> tuple[bool, int]:
    """Poll PostgreSQL (every 0.25 s) until no execution of the flow runs; returns polls."""
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        row = st.db.execute(
            "SELECT count(*) FROM workflows_execution e JOIN workflows_flow f ON f.id = e.flow_id"
            " WHERE f.name = %s AND e.status = 'RUNNING'",
            [flow],
        ).fetchone()
        if row[0] == 0:
            return True, polls
        time.sleep(0.25)
    return False, polls


def stop_running(st: Stack, flow: str) -> None:
    """Stop what a timed-out scenario left running, so the next one starts clean."""
    ids = st.db.execute(
        "SELECT e.id FROM workflows_execution e JOIN workflows_flow f ON f.id = e.flow_id"
        " WHERE f.name = %s AND e.status = 'RUNNING'",
        [flow],
    ).fetchall()
    for (execution,) in ids:
        st.api.call("POST", f"/api/v1/executions/{execution}/stop/", {})
    _drain(st)


def flow_events(st: Stack, flow: str) -> list[tuple[Any, str, float]]:
    rows = st.db.execute(
        "SELECT ev.execution_id, ev.type, ev.timestamp FROM workflows_event ev"
        " JOIN workflows_execution e ON e.id = ev.execution_id"
        " JOIN workflows_flow f ON f.id = e.flow_id WHERE f.name = %s"
        " ORDER BY ev.execution_id, ev.seq",
        [flow],
    ).fetchall()
    return [(r[0], r[1], epoch(r[2])) for r in rows]


def flow_window(st: Stack, flow: str) -> tuple[float, float, int]:
    row = st.db.execute(
        "SELECT min(e.started_at), max(e.stopped_at), count(*) FILTER"
        " (WHERE e.status <> 'SUCCEEDED') FROM workflows_execution e"
        " JOIN workflows_flow f ON f.id = e.flow_id WHERE f.name = %s",
        [flow],
    ).fetchone()
    return epoch(row[0]), epoch(row[1]), row[2]


class CpuMeter:
    """CPU seconds used by each process of the stack between two points."""

    def __init__(self, st: Stack) -> None:
        self.st = st
        self.before = self._sample()

    def _sample(self) -> dict[str, float]:
        worker = self.st.processes["worker"].pid
        sample = {
            "worker main": cpu_seconds(worker),
            "worker pool": sum(cpu_seconds(pid) for pid in children_of(worker)),
            "sweeper": cpu_seconds(self.st.processes["sweeper"].pid),
            "uvicorn": cpu_seconds(self.st.processes["uvicorn"].pid),
            "redis-server": cpu_seconds(self.st.redis.pid),
            "postgres backends": sum(
                cpu_seconds(pid) for pid in postgres_backends(self.st.database)
            ),
        }
        return sample

    def done(self) -> dict[str, float]:
        after = self._sample()
        return {key: round(after[key] - self.before.get(key, 0.0), 2) for key in after}


# --- scaled scenarios ------------------------------------------------------------------------


def scenario_latency(st: Stack) -> dict[str, Any]:
    st.create_flow("lat", task_chain())
    ids = []
    walls = []
    for index in range(LATENCY_RUNS):
        begin = time.time()
        body = st.api.post("/api/v1/flows/lat/executions/", {"input": {"i": index}})
        ids.append(body["id"])
        done = st.api.wait_terminal([body["id"]], timeout=120)
        if body["id"] not in done:
            raise RuntimeError("single-chain execution did not finish in 120 s")
        walls.append(time.time() - begin)
    cycle, handoff = step_gaps(flow_events(st, "lat"))
    start, stop, failed = flow_window(st, "lat")
    return {
        "executions": LATENCY_RUNS,
        "samples": len(cycle),
        "step_p50_s": pct(cycle, 50),
        "step_p99_s": pct(cycle, 99),
        "handoff_p50_s": pct(handoff, 50),
        "handoff_p99_s": pct(handoff, 99),
        "execution_wall_median_s": statistics.median(walls),
        "failed": failed,
    }


def scenario_chain(st: Stack) -> dict[str, Any]:
    st.create_flow("chain", task_chain())
    commits = st.commits()
    redis_before = st.redis_stats()
    meter = CpuMeter(st)
    marks = start_in_bulk(st.env, "chain", CONCURRENT, {"i": 0})
    finished, polls = wait_flow_done(st, "chain", timeout=CHAIN_TIMEOUT)
    cpu = meter.done()
    redis_after = st.redis_stats()
    if not finished:
        stop_running(st, "chain")
    time.sleep(1.2)  # PostgreSQL flushes its statistics at most once a second
    commits = st.commits() - commits - polls - 1
    start, stop, failed = flow_window(st, "chain")
    rows = flow_events(st, "chain")
    steps = sum(1 for r in rows if r[1] == "TaskSucceeded")
    # Unfinished (timed out): the rate is what finished within the time limit.
    wall = (stop if finished else marks["committed"] + CHAIN_TIMEOUT) - marks["committed"]
    first = min(r[2] for r in rows if r[1] == "TaskStarted")
    cycle, handoff = step_gaps(rows)
    return {
        "executions": CONCURRENT,
        "finished": finished,
        "failed": failed,
        "steps": steps,
        "events": len(rows),
        "bulk_start_s": marks["prepared"] - marks["begin"],
        "publish_s": marks["published"] - marks["committed"],
        "wall_s": wall,
        "steps_per_s": steps / wall,
        "events_per_s": len(rows) / wall,
        "first_step_after_commit_s": first - marks["committed"],
        "step_under_load_p50_s": pct(cycle, 50),
        "step_under_load_p99_s": pct(cycle, 99),
        "handoff_under_load_p50_s": pct(handoff, 50),
        "pg_commits_per_step": round(commits / steps, 2) if steps else None,
        "redis_connections_per_step": round(
            (redis_after[0] - redis_before[0]) / steps if steps else 0, 2
        ),
        "redis_commands_per_step": round(
            (redis_after[1] - redis_before[1]) / steps if steps else 0, 1
        ),
        "cpu_seconds": cpu,
    }


def scenario_passchoice(st: Stack) -> dict[str, Any]:
    st.create_flow("pc", pass_choice_chain())
    # Through the API (what a client sees), with 4 client threads.
    begin = time.time()
    deadline = time.monotonic() + 120

    def one(index: int) -> str:
        if time.monotonic() > deadline:
            return "skipped"
        return st.api.post("/api/v1/flows/pc/executions/", {"input": {"n": index}})["status"]

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(one, range(PASS_RUNS)))
    api_wall = time.time() - begin
    api_runs = sum(1 for s in statuses if s == "SUCCEEDED")
    # In-process through services.start_execution (no HTTP), one transaction per start.
    result = subprocess.run(
        [stack.PYTHON, str(Path(__file__).resolve()), "--pass-loop", "pc", str(PASS_RUNS)],
        cwd=ROOT, env=st.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    loop = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "states_per_execution": CHAIN,
        "api_executions": api_runs,
        "api_executions_per_s": api_runs / api_wall,
        "api_states_per_s": api_runs * CHAIN / api_wall,
        "service_executions": loop["count"],
        "service_executions_per_s": loop["count"] / loop["seconds"],
        "service_states_per_s": loop["count"] * CHAIN / loop["seconds"],
        "service_ms_per_execution": loop["seconds"] / loop["count"] * 1000,
        "not_succeeded": len(statuses) - api_runs,
    }


def pass_loop_main(flow_name: str, count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows.settings")
    import django

    django.setup()
    from workflows import services
    from workflows.models import Flow

    flow = Flow.objects.get(name=flow_name)
    services.start_execution(flow, {"n": -1}, name="warmup")
    begin = time.perf_counter()
    done = 0
    for index in range(count):
        execution, _ = services.start_execution(flow, {"n": index}, name=f"loop-{index}")
        done += execution.status == "SUCCEEDED"
        if time.perf_counter() - begin > 60:
            break
    print(json.dumps({"count": done, "seconds": time.perf_counter() - begin}))


def scenario_celery(st: Stack) -> dict[str, Any]:
    import redis
    from celery import Celery, chain

    app = Celery("bench", broker=st.redis_url)
    app.conf.update(task_serializer="json", accept_content=["json"], task_default_queue=QUEUE)
    client = redis.Redis.from_url(st.redis_url)

    def build(index: int, trace: str, done: str) -> Any:
        sigs = [
            app.signature("bench.noop", args=([{"i": index}] if k == 0 else []), queue=QUEUE,
                          kwargs={"trace": trace, "done": done if k == CHAIN - 1 else ""})
            for k in range(CHAIN)
        ]  # fmt: skip
        return chain(*sigs)

    # Single chain, each step traced: step-to-step latency.
    cycle: list[float] = []
    for index in range(LATENCY_RUNS):
        trace, done = f"bench:lat:{index}", f"bench:latdone:{index}"
        build(index, trace, done).apply_async()
        deadline = time.monotonic() + 60
        while client.llen(done) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        stamps = [float(x) for x in client.lrange(trace, 0, -1)]
        cycle += [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    # x CONCURRENT chains, only the last task of each records its end.
    meter = CpuMeter(st)
    done = "bench:done"
    chains = [build(index, "", done) for index in range(CONCURRENT)]
    begin = time.time()
    for item in chains:
        item.apply_async()
    published = time.time()
    deadline = time.monotonic() + 300
    while client.llen(done) < CONCURRENT and time.monotonic() < deadline:
        time.sleep(0.05)
    ends = [float(x) for x in client.lrange(done, 0, -1)]
    cpu = meter.done()
    wall = max(ends) - begin
    steps = len(ends) * CHAIN
    return {
        "executions": CONCURRENT,
        "finished": len(ends),
        "steps": steps,
        "publish_s": published - begin,
        "wall_s": wall,
        "steps_per_s": steps / wall,
        "step_p50_s": pct(cycle, 50),
        "step_p99_s": pct(cycle, 99),
        "samples": len(cycle),
        "cpu_seconds": cpu,
    }


def run_map(st: Stack, flow: str, size: int, timeout: float) -> dict[str, Any]:
    begin = time.time()
    status, body = st.api.call(
        "POST", f"/api/v1/flows/{flow}/executions/", {"input": {"items": list(range(size))}}
    )
    if status not in (200, 201):
        raise RuntimeError(f"map start: {status} {body}")
    started = time.time() - begin
    execution = body["id"]
    deadline = time.monotonic() + timeout
    finished = False
    while time.monotonic() < deadline:
        row = st.db.execute(
            "SELECT status, started_at, stopped_at FROM workflows_execution WHERE id = %s",
            [execution],
        ).fetchone()
        if row[0] != "RUNNING":
            finished = True
            break
        time.sleep(0.5)
    elapsed = time.time() - begin
    done = _map_progress(st, execution)
    result: dict[str, Any] = {
        "items": size,
        "finished": finished,
        "start_request_s": started,
        "items_done": done,
    }
    if finished:
        result.update(status=row[0], seconds=epoch(row[2]) - epoch(row[1]))
    else:
        st.api.call("POST", f"/api/v1/executions/{execution}/stop/", {})
        result.update(status="stopped after timeout", seconds=None, elapsed_s=elapsed)
        _settle(st)
    result["items_per_s"] = done / (result["seconds"] or elapsed)
    snap = st.db.execute(
        "SELECT pg_column_size(snapshot), length(snapshot::text) FROM workflows_execution"
        " WHERE id = %s",
        [execution],
    ).fetchone()
    result["parent_events"] = st.db.execute(
        "SELECT count(*) FROM workflows_event WHERE execution_id = %s", [execution]
    ).fetchone()[0]
    result["final_snapshot_bytes"] = snap[1]
    return result


def _map_progress(st: Stack, execution: str) -> int:
    inline = st.db.execute(
        "SELECT count(*) FROM workflows_taskattempt WHERE execution_id = %s"
        " AND status = 'SUCCEEDED' AND resource = 'builtin:echo'",
        [execution],
    ).fetchone()[0]
    children = st.db.execute(
        "SELECT count(*) FROM workflows_execution WHERE parent_id = %s AND status = 'SUCCEEDED'",
        [execution],
    ).fetchone()[0]
    return inline + children


def _settle(st: Stack, timeout: float = 90) -> None:
    """After a stopped Map: wait until no execution runs and the queue is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = st.db.execute(
            "SELECT count(*) FROM workflows_execution WHERE status = 'RUNNING'"
        ).fetchone()[0]
        if not running:
            break
        time.sleep(0.5)
    _drain(st, max(1.0, deadline - time.monotonic()))


def _drain(st: Stack, timeout: float = 60) -> None:
    """After a stopped Map: wait until the broker queue is empty, so the next run is clean."""
    import redis

    client = redis.Redis.from_url(st.redis_url)
    deadline = time.monotonic() + timeout
    while client.llen(QUEUE) and time.monotonic() < deadline:
        time.sleep(0.5)


def scenario_map(st: Stack) -> dict[str, Any]:
    st.create_flow("mapinline", map_flow(False))
    st.create_flow("mapdist", map_flow(True))
    out: dict[str, Any] = {"inline": [], "distributed": [], "budget_s": MAP_BUDGET}
    budget_end = time.monotonic() + MAP_BUDGET
    # Inline first (a timed-out distributed run leaves children being stopped behind it).
    for mode, flow, share, growth in (
        ("inline", "mapinline", 0.4, 2.0),
        ("distributed", "mapdist", 1.0, 1.0),
    ):
        if mode not in MAP_MODES:
            continue
        mode_end = time.monotonic() + (budget_end - time.monotonic()) * share
        previous: dict[str, Any] | None = None
        for size in MAP_LADDER:
            remaining = mode_end - time.monotonic()
            if previous is not None:
                # Predict from the previous size: linear for children, quadratic for inline
                # (its snapshot, rewritten on every transition, grows with the size).
                # An unfinished run gives only its rate: linear at that rate (for inline a
                # lower bound).
                if previous["finished"]:
                    predicted = previous["seconds"] * (size / previous["items"]) ** growth
                else:
                    predicted = size / max(previous["items_per_s"], 1e-6)
                if not previous["finished"] or predicted > remaining:
                    out[mode].append(
                        {
                            "items": size,
                            "skipped": True,
                            "predicted_s": round(predicted, 1),
                            "basis": "size ratio" if previous["finished"] else "measured rate",
                        }
                    )
                    continue
            if remaining < 5:
                out[mode].append({"items": size, "skipped": True, "predicted_s": None})
                continue
            print(f"  map {mode} {size} items (up to {remaining:.0f} s) ...", flush=True)
            previous = run_map(st, flow, size, timeout=remaining)
            out[mode].append(previous)
    return out


def scenario_memory(st: Stack) -> dict[str, Any]:
    worker = st.processes["worker"].pid
    out: dict[str, Any] = {"worker main": proc_status(worker)}
    for index, pid in enumerate(children_of(worker)):
        out[f"worker pool child {index + 1}"] = proc_status(pid)
    out["sweeper"] = proc_status(st.processes["sweeper"].pid)
    out["uvicorn"] = proc_status(st.processes["uvicorn"].pid)
    out["redis-server"] = proc_status(st.redis.pid)
    return out


def republished(st: Stack) -> int:
    with contextlib.suppress(OSError):
        return st.log.read_text(errors="replace").count("re-published attempt")
    return 0


# --- embedded mode ---------------------------------------------------------------------------


def run_embedded(workdir: Path) -> dict[str, Any]:
    data = workdir / "embedded"
    env = stack.base_env(data, LEGATO_LOG_LEVEL="WARNING")
    port = stack.free_port()
    log = workdir / "embedded.log"
    server = stack.spawn(
        env,
        [stack.PYTHON, "manage.py", "serve", "--no-examples", "--port", str(port)],
        log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        stack.wait_healthy(base, timeout=120, process=server, log=log)
        api = stack.Api(base, stack.create_token(env))
        status, body = api.call(
            "POST", "/api/v1/flows/", {"name": "lat", "definition": task_chain()}
        )
        if status != 201:
            raise RuntimeError(f"{status} {body}")
        api.call("POST", "/api/v1/flows/", {"name": "chain", "definition": task_chain()})
        walls = []
        for index in range(LATENCY_RUNS):
            begin = time.time()
            body = api.post("/api/v1/flows/lat/executions/", {"input": {"i": index}})
            if body["id"] not in api.wait_terminal([body["id"]], timeout=120):
                raise RuntimeError("embedded chain did not finish")
            walls.append(time.time() - begin)
        db = sqlite3.connect(f"file:{data / 'legato.sqlite3'}?mode=ro", uri=True, timeout=30)

        def events(flow: str) -> list[tuple[Any, str, float]]:
            rows = db.execute(
                "SELECT ev.execution_id, ev.type, ev.timestamp FROM workflows_event ev"
                " JOIN workflows_execution e ON e.id = ev.execution_id"
                " JOIN workflows_flow f ON f.id = e.flow_id WHERE f.name = ?"
                " ORDER BY ev.execution_id, ev.seq",
                [flow],
            ).fetchall()
            return [(r[0], r[1], epoch(r[2])) for r in rows]

        cycle, handoff = step_gaps(events("lat"))
        # Throughput: EMBEDDED_CONCURRENT executions started through the API at once.
        begin = time.time()
        with ThreadPoolExecutor(4) as pool:
            ids = list(
                pool.map(
                    lambda i: api.post("/api/v1/flows/chain/executions/", {"input": {"i": i}})[
                        "id"
                    ],
                    range(EMBEDDED_CONCURRENT),
                )
            )
        started = time.time() - begin
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            running = db.execute(
                "SELECT count(*) FROM workflows_execution WHERE status = 'RUNNING'"
            ).fetchone()[0]
            if running == 0:
                break
            time.sleep(0.25)
        row = db.execute(
            "SELECT min(e.started_at), max(e.stopped_at), count(*) FILTER"
            " (WHERE e.status <> 'SUCCEEDED') FROM workflows_execution e"
            " JOIN workflows_flow f ON f.id = e.flow_id WHERE f.name = 'chain'"
        ).fetchone()
        rows = events("chain")
        steps = sum(1 for r in rows if r[1] == "TaskSucceeded")
        wall = epoch(row[1]) - epoch(row[0])
        memory = proc_status(server.pid)
        db.close()
        return {
            "latency_executions": LATENCY_RUNS,
            "samples": len(cycle),
            "step_p50_s": pct(cycle, 50),
            "step_p99_s": pct(cycle, 99),
            "handoff_p50_s": pct(handoff, 50),
            "handoff_p99_s": pct(handoff, 99),
            "execution_wall_median_s": statistics.median(walls),
            "throughput_executions": len(ids),
            "throughput_start_s": started,
            "throughput_failed": row[2],
            "steps": steps,
            "wall_s": wall,
            "steps_per_s": steps / wall,
            "events_per_s": len(rows) / wall,
            "process_memory_kb": memory,
        }
    finally:
        stack.stop(server)


# --- profiling one step in-process (no Celery) -----------------------------------------------


def profile_main(count: int) -> None:
    """Run a chain in-process as a worker does (a claim, then completions that each hand
    over the next attempt), with cProfile, counting SQL statements per step."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows import dispatch, services
    from workflows.models import Flow, TaskAttempt

    # Nothing is published: this loop, not the bench's worker, runs the attempts.
    dispatch.publish_attempts = lambda *args, **kwargs: None
    flow = Flow.objects.get(name="lat")
    execution, _ = services.start_execution(flow, {"i": 0}, name="profile")
    claim_s, complete_s, claim_q, complete_q, statements = [], [], [], [], []
    profiler = cProfile.Profile()
    attempt = TaskAttempt.objects.get(execution=execution, status="SCHEDULED")
    with CaptureQueriesContext(connection) as queries:
        begin = time.perf_counter()
        claim = services.claim_attempt(attempt.pk, "profile")
        claim_s.append(time.perf_counter() - begin)
    claim_q.append(len(queries))
    # Then as a worker runs a chain: each completion hands it the next attempt.
    while claim is not None and len(complete_s) < count:
        with CaptureQueriesContext(connection) as queries:
            begin = time.perf_counter()
            profiler.enable()
            claim = services.complete_and_continue(claim, "profile", None, output=claim.input)
            profiler.disable()
            complete_s.append(time.perf_counter() - begin)
        complete_q.append(len(queries))
        if len(complete_s) == count // 2:
            statements = [q["sql"][:100] for q in queries.captured_queries]
    stats = pstats.Stats(profiler)
    steps = max(1, len(complete_s))
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)  # type: ignore[attr-defined]
    hot = [
        f"{Path(file).name}:{line}({func}) {cum / steps * 1000:.2f} ms/step cumulative"
        for (file, line, func), (_, _, _, cum, _) in top[:40]
    ]
    print(
        json.dumps(
            {
                "hot": hot,
                "steps": len(complete_s),
                "first_claim_ms": claim_s[0] * 1000,
                "first_claim_queries": claim_q[0],
                "complete_and_continue_ms_p50": statistics.median(complete_s) * 1000,
                "complete_and_continue_queries": statistics.median(complete_q),
                "statements_of_a_middle_step": statements,
            }
        )
    )


def scenario_profile(st: Stack) -> dict[str, Any]:
    result = subprocess.run(
        [stack.PYTHON, str(Path(__file__).resolve()), "--profile", str(CHAIN)],
        cwd=ROOT, env=st.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def report(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    lat, chain, celery = results.get("latency"), results.get("chain"), results.get("celery")
    if lat:
        rows.append(("scaled: step-to-step p50 / p99 (single 50-Task chain)",
                     f"{ms(lat['step_p50_s'])} / {ms(lat['step_p99_s'])}"))  # fmt: skip
        rows.append(("scaled: TaskSucceeded -> next TaskStarted p50 / p99",
                     f"{ms(lat['handoff_p50_s'])} / {ms(lat['handoff_p99_s'])}"))  # fmt: skip
    if chain:
        rows.append((f"scaled: 50-Task chain x {chain['executions']}: steps/s",
                     f"{chain['steps_per_s']:.0f} steps/s ({chain['steps']} steps in "
                     f"{chain['wall_s']:.1f} s)"))  # fmt: skip
        rows.append(("scaled: history events/s (same run)", f"{chain['events_per_s']:.0f}/s"))
        rows.append(("scaled: PG transactions per step (same run)",
                     f"{chain['pg_commits_per_step']}"))  # fmt: skip
        if "redis_connections_per_step" in chain:
            rows.append(("scaled: new Redis connections / Redis commands per step",
                         f"{chain['redis_connections_per_step']} / "
                         f"{chain['redis_commands_per_step']}"))  # fmt: skip
    if celery:
        rows.append(("floor: Celery chain(50) single, step p50 / p99",
                     f"{ms(celery['step_p50_s'])} / {ms(celery['step_p99_s'])}"))  # fmt: skip
        rows.append((f"floor: Celery chain(50) x {celery['executions']}: steps/s",
                     f"{celery['steps_per_s']:.0f} steps/s ({1000 / celery['steps_per_s']:.2f} "
                     "ms/step)"))  # fmt: skip
    if chain and celery:
        tput = ratio(celery["steps_per_s"], chain["steps_per_s"])
        rows.append(("overhead ratio, throughput (Legato ms/step / Celery ms/step)",
                     f"{tput:.1f}x (goal <= 2x: {'met' if tput <= 2 else 'NOT met'})"))  # fmt: skip
    if lat and celery:
        lr = ratio(lat["step_p50_s"], celery["step_p50_s"])
        rows.append(("overhead ratio, single-chain step p50",
                     f"{lr:.1f}x (goal <= 2x: {'met' if lr <= 2 else 'NOT met'})"))  # fmt: skip
    pc = results.get("passchoice")
    if pc:
        rows.append(("scaled: Pass/Choice 50-state chain via API (4 clients)",
                     f"{pc['api_executions_per_s']:.0f} executions/s, "
                     f"{pc['api_states_per_s']:,.0f} states/s"))  # fmt: skip
        rows.append(("scaled: Pass/Choice 50-state chain via services (1 process)",
                     f"{pc['service_executions_per_s']:.0f} executions/s, "
                     f"{pc['service_states_per_s']:,.0f} states/s"))  # fmt: skip
        if celery:
            per_state = 1 / pc["service_states_per_s"]
            rows.append(("Pass/Choice state vs Celery floor step",
                         f"{1000 * per_state:.3f} ms vs {1000 / celery['steps_per_s']:.2f} ms"
                         f" ({(1 / celery['steps_per_s']) / per_state:.0f}x faster)"))  # fmt: skip
    maps = results.get("map")
    if maps:
        for mode in ("inline", "distributed"):
            for run in maps[mode]:
                if run.get("skipped"):
                    pred = run.get("predicted_s")
                    basis = run.get("basis", "size ratio")
                    text = "not run" + (
                        f" (EXTRAPOLATED, {basis} of the previous size: ~{pred:.0f} s)"
                        if pred
                        else ""
                    )
                elif run["finished"]:
                    text = (f"{run['seconds']:.1f} s end to end ({run['items_per_s']:.0f} items/s;"
                            f" start request {run['start_request_s']:.2f} s)")  # fmt: skip
                else:
                    text = (f"did not finish in {run['elapsed_s']:.0f} s: {run['items_done']} "
                            f"items done ({run['items_per_s']:.0f} items/s)")  # fmt: skip
                rows.append((f"scaled: Map {mode}, {run['items']:,} no-op Tasks", text))
    mem = results.get("memory")
    if mem:
        for name, values in mem.items():
            if name.startswith("worker"):
                rows.append((f"peak RSS (VmHWM) {name}", f"{values.get('VmHWM', 0) / 1024:.0f} MB"))
    emb = results.get("embedded")
    if emb:
        rows.append(("embedded: step-to-step p50 / p99 (single chain)",
                     f"{ms(emb['step_p50_s'])} / {ms(emb['step_p99_s'])}"))  # fmt: skip
        rows.append((f"embedded: 50-Task chain x {emb['throughput_executions']}: steps/s",
                     f"{emb['steps_per_s']:.0f} steps/s ({emb['steps']} steps in "
                     f"{emb['wall_s']:.1f} s)"))  # fmt: skip
    return rows


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--start":
        bulk_start_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--pass-loop":
        pass_loop_main(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--profile":
        profile_main(int(sys.argv[2]))
        return 0
    began = time.time()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": SCALE,
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": loadavg(),
        },
        "setup": "PostgreSQL (fresh database) + own redis-server + 1 Celery worker, prefork -c 2"
        " + 1 sweeper + 1 uvicorn, all on 127.0.0.1",
    }
    workdir = Path(tempfile.mkdtemp(prefix="legato-bench-"))
    st: Stack | None = None
    scenarios = [
        ("latency", scenario_latency),
        ("profile", scenario_profile),
        ("chain", scenario_chain),
        ("passchoice", scenario_passchoice),
        ("celery", scenario_celery),
        ("map", scenario_map),
        ("memory", scenario_memory),
    ]
    try:
        print("runtime bench: starting the scaled stack ...", flush=True)
        st = Stack(workdir)
        st.start()
        for name, scenario in scenarios:
            if name in SKIP:
                continue
            print(f"runtime bench: {name} (load {loadavg()}) ...", flush=True)
            begin = time.time()
            try:
                results[name] = scenario(st)
            except Exception as exc:  # noqa: BLE001 - report it, go on with the rest
                results[name] = None
                results.setdefault("errors", {})[name] = repr(exc)
                print(f"  {name} failed: {exc!r}", flush=True)
            print(f"  {name}: {time.time() - begin:.1f} s", flush=True)
        results["republished_attempts"] = republished(st)
    finally:
        if st is not None:
            st.stop()
    if "embedded" not in SKIP:
        print(f"runtime bench: embedded (load {loadavg()}) ...", flush=True)
        try:
            results["embedded"] = run_embedded(workdir)
        except Exception as exc:  # noqa: BLE001
            results.setdefault("errors", {})["embedded"] = repr(exc)
            print(f"  embedded failed: {exc!r}", flush=True)
    results["total_s"] = time.time() - began
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(results, indent=2, default=str))
    rows = report(results)
    width = max(len(r[0]) for r in rows) if rows else 10
    print()
    print(f"Runtime ({results['date']}, scale {SCALE}, load at start {results['machine']})")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print(f"\nfull results: {ARTIFACT.relative_to(ROOT)}; took {results['total_s']:.0f} s")
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
