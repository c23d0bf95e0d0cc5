"""The fault suite's machinery: a real Legato cluster, chaos, and the invariant checker.

A :class:`Cluster` is one scenario's world: a fresh PostgreSQL database (copied from a
migrated template), its own ``redis-server`` on a free loopback port, ``uvicorn`` for the
API, prefork Celery workers and sweepers — every process started here and signalled only
by the pid we got when starting it. :func:`check` compares what the cluster recorded with
what the pure interpreter (``workflows.runner.run``) computes for the same definition and
input. Every loop here is bounded in count and time.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from tests.support import stack

HOST = socket.gethostname()
CELERY = str(stack.ROOT / ".venv" / "bin" / "celery")
FLOW = "faults"
# Short recovery knobs (seconds): the lease a claim holds without renewal, how long an
# attempt may sit unclaimed before the sweeper publishes it again, and the sweep period.
LEASE, REPUBLISH, SWEEP = 4, 2, 0.5
TERMINAL_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
# TaskStarted is recorded once per *claim*: a step whose worker died is claimed (and
# started) again, by design. Every other event is a transition and must appear exactly as
# often as in the pure run.
REPEATABLE_EVENTS = {"TaskStarted"}


def scale() -> float:
    """``LEGATO_FAULT_SCALE``: 1 in CI, larger for ``make soak``."""
    return float(os.environ.get("LEGATO_FAULT_SCALE", "1"))


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, int(n * scale()))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- processes ---------------------------------------------------------------------------

_spawned: list[subprocess.Popen[bytes]] = []


def spawn(env: dict[str, str], args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``stack.spawn``, remembered so that an interrupted session still kills it at exit."""
    process = stack.spawn(env, args, log)
    _spawned.append(process)
    return process


@atexit.register
def _kill_leftovers() -> None:
    for process in _spawned:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


# --- PostgreSQL --------------------------------------------------------------------------


def db_url(postgres_url: str, name: str) -> str:
    return urlunparse(urlparse(postgres_url)._replace(path=f"/{name}"))


def admin_connection(postgres_url: str) -> Any:
    import psycopg

    return psycopg.connect(postgres_url, autocommit=True)


@dataclass
class Template:
    """A migrated, bootstrapped database (admin user, API token, sink tables) to copy."""

    postgres_url: str
    name: str
    token: str


def make_template(postgres_url: str, data_dir: Path) -> Template:
    import psycopg

    from .handlers import SCHEMA

    name = f"legato_faults_tmpl_{secrets.token_hex(4)}"
    with admin_connection(postgres_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = stack.base_env(
        data_dir,
        DATABASE_URL=db_url(postgres_url, name),
        DJANGO_SECRET_KEY="faults-" + secrets.token_hex(16),
    )
    stack.manage(env, "migrate", "--no-input")
    stack.manage(env, "bootstrap", "--no-examples")
    token = stack.create_token(env)
    with psycopg.connect(db_url(postgres_url, name), autocommit=True) as conn:
        conn.execute(SCHEMA)
    return Template(postgres_url, name, token)


def drop_database(postgres_url: str, name: str) -> None:
    with admin_connection(postgres_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Redis -------------------------------------------------------------------------------


class RedisServer:
    """A private ``redis-server`` (no persistence) that scenarios may flush, kill, restart."""

    def __init__(self, log: Path) -> None:
        self.port = stack.free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = spawn(
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--maxmemory-policy",
                "noeviction",
            ],
            self.log,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=5)

    def flush(self) -> None:
        self.client().flushall()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stack.stop(self.process)


# --- the cluster -------------------------------------------------------------------------


@dataclass
class Kill:
    at: float
    kind: str  # "child", "main", "web", "embedded", "redis"
    pids: list[int]
    affected: list[int] = field(default_factory=list)  # attempt ids running in them


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


class Cluster:
    """One scenario's processes and database. Use as a context manager."""

    def __init__(
        self,
        template: Template,
        tmp: Path,
        *,
        unsafe: Iterable[str] = (),
        workers: int = 2,
        sweepers: int = 2,
        concurrency: int = 2,
        step: tuple[float, float] = (0.05, 0.2),
        lease: float = LEASE,
        continue_seconds: float | None = None,
        separate_sink: bool = False,
    ) -> None:
        self.template = template
        self.lease = lease
        self.continue_seconds = continue_seconds
        self.tmp = tmp
        self.unsafe = ",".join(unsafe)
        self.n_workers = workers
        self.n_sweepers = sweepers
        self.concurrency = concurrency
        self.database = f"legato_faults_{secrets.token_hex(4)}"
        self.url = db_url(template.postgres_url, self.database)
        # The handlers' "world" (fault_effects) lives in Legato's database unless the
        # scenario takes that database away: then the world must stay up.
        self.sink_database = f"{self.database}_sink" if separate_sink else None
        self.sink_url = db_url(template.postgres_url, self.sink_database) if separate_sink else None
        self.log = tmp / "processes.log"
        self.redis = RedisServer(tmp / "redis.log")
        self.port = stack.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api = stack.Api(self.base_url, template.token)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self.web: subprocess.Popen[bytes] | None = None
        self.kills: list[Kill] = []
        self.step = step
        self._conn: Any = None
        self._lock = threading.Lock()
        self._workers_lock = threading.Lock()
        self.worker_exits = 0  # workers that died on their own and the supervisor restarted
        self._supervising = threading.Event()

    # lifecycle

    def env(self) -> dict[str, str]:
        return stack.base_env(
            self.tmp,
            DATABASE_URL=self.url,
            REDIS_URL=self.redis.url,
            DJANGO_SECRET_KEY="faults-" + secrets.token_hex(16),
            LEGATO_CLAIM_LEASE=str(self.lease),
            LEGATO_REPUBLISH_AFTER=str(REPUBLISH),
            LEGATO_SWEEP_INTERVAL=str(SWEEP),
            LEGATO_TASK_MODULES="tests.faults.handlers",
            LEGATO_FAULT_SINK=self.sink_url or self.url,
            LEGATO_FAULT_STEP_MIN=str(self.step[0]),
            LEGATO_FAULT_STEP_MAX=str(self.step[1]),
            LEGATO_UNSAFE=self.unsafe,
            LEGATO_LOG_LEVEL="WARNING",
            LEGATO_INSECURE_COOKIES="1",
            **(
                {"LEGATO_CONTINUE_SECONDS": str(self.continue_seconds)}
                if self.continue_seconds is not None
                else {}
            ),
        )

    def __enter__(self) -> Cluster:
        with admin_connection(self.template.postgres_url) as admin:
            for name in filter(None, [self.database, self.sink_database]):
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template.name}"')
        self.redis.start()
        self._env = self.env()
        try:
            self.start_web()
            for _ in range(self.n_workers):
                self.start_worker()
            for _ in range(self.n_sweepers):
                self.others.append(
                    spawn(self._env, [stack.PYTHON, "manage.py", "sweeper"], self.log)
                )
            self.wait_web()
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _supervise(self) -> None:
        """Restart any worker that exited, as systemd or Kubernetes would (bounded: stops
        with the cluster)."""
        while not self._supervising.wait(0.5):
            with self._workers_lock:
                for index, worker in enumerate(self.workers):
                    if worker.poll() is not None:
                        self.worker_exits += 1
                        self.workers[index] = self._spawn_worker()

    def __exit__(self, *exc: Any) -> None:
        self._supervising.set()
        with self._workers_lock:
            pass
        for process in [*self.workers, *self.others, *([self.web] if self.web else [])]:
            stack.stop(process, wait=10)
        self.redis.stop()
        if self._conn is not None:
            self._conn.close()
        drop_database(self.template.postgres_url, self.database)
        if self.sink_database:
            drop_database(self.template.postgres_url, self.sink_database)

    def start_worker(self) -> subprocess.Popen[bytes]:
        process = self._spawn_worker()
        with self._workers_lock:
            self.workers.append(process)
        return process

    def _spawn_worker(self) -> subprocess.Popen[bytes]:
        name = f"fw-{uuid.uuid4().hex[:8]}@%h"
        return spawn(
            self._env,
            [
                CELERY,
                "-A",
                "workflows",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(self.concurrency),
                "-Q",
                "legato",
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier",
                "1",
                "-l",
                "warning",
                "-n",
                name,
            ],
            self.log,
        )

    def start_web(self) -> None:
        self.web = spawn(
            self._env,
            [
                stack.PYTHON,
                "-m",
                "uvicorn",
                "workflows.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            self.log,
        )

    def wait_web(self, timeout: float = 60) -> None:
        stack.wait_healthy(self.base_url, timeout=timeout, process=self.web, log=self.log)

    def create_flow(self, definition: dict[str, Any], name: str = FLOW) -> None:
        status, body = self.api.call(
            "POST", "/api/v1/flows/", {"name": name, "definition": definition}
        )
        assert status == 201, body

    # database

    def sql(self, query: str, params: Any = (), patience: float = 60) -> list[tuple[Any, ...]]:
        """Run a query on the scenario's database, waiting out a database outage (the
        scenario that causes them watches progress through here)."""
        import psycopg

        deadline = time.monotonic() + patience
        with self._lock:
            while True:
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.url, autocommit=True)
                    cursor = self._conn.execute(query, params)
                    return cursor.fetchall() if cursor.description is not None else []
                except psycopg.OperationalError:
                    if self._conn is not None:
                        self._conn.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def database_outage(self, seconds: float) -> None:
        """What clients see of a PostgreSQL restart or fail-over: every connection to the
        scenario's database is cut, and new ones are refused for ``seconds``."""
        with admin_connection(self.template.postgres_url) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
            try:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.database],
                )
                time.sleep(seconds)
            finally:
                admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')

    def running(self) -> int:
        return self.sql("SELECT count(*) FROM workflows_execution WHERE status = 'RUNNING'")[0][0]

    def wait_quiet(self, timeout: float) -> float:
        """Wait until no execution runs (bounded); return the seconds it took."""
        began = time.monotonic()
        while time.monotonic() - began < timeout and self.running():
            time.sleep(0.25)
        return time.monotonic() - began

    # faults

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def running_attempts(self, pids: list[int]) -> list[int]:
        # A claim names its worker as host:pid/thread (services.worker_name()).
        claimants = [f"{HOST}:{pid}/%" for pid in pids]
        rows = self.sql(
            "SELECT id FROM workflows_taskattempt WHERE status = 'RUNNING'"
            " AND claimed_by LIKE ANY(%s)",
            (claimants,),
        )
        return [r[0] for r in rows]

    def kill_child(self, rng: random.Random) -> Kill | None:
        """SIGKILL one prefork pool child, preferably one running a step."""
        children = [c for w in self.live_workers() for c in children_of(w.pid)]
        if not children:
            return None
        busy = [c for c in children if self.running_attempts([c])]
        victim = rng.choice(busy or children)
        affected = self.running_attempts([victim])
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        kill = Kill(time.time(), "child", [victim], affected)
        self.kills.append(kill)
        return kill

    def kill_main(self, rng: random.Random) -> Kill | None:
        """SIGKILL a worker's main process, then (as a supervisor's cgroup clean-up would)
        its orphaned pool children, and start a replacement worker."""
        live = self.live_workers()
        if not live:
            return None
        victim = rng.choice(live)
        children = children_of(victim.pid)
        affected = self.running_attempts(children)
        os.kill(victim.pid, signal.SIGKILL)
        at = time.time()
        time.sleep(0.2)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        victim.wait(10)
        kill = Kill(at, "main", [victim.pid, *children], affected)
        self.kills.append(kill)
        with self._workers_lock:
            if victim in self.workers:
                self.workers[self.workers.index(victim)] = self._spawn_worker()
        return kill

    def kill_web(self) -> Kill:
        assert self.web is not None
        pid = self.web.pid
        os.kill(pid, signal.SIGKILL)
        self.web.wait(10)
        kill = Kill(time.time(), "web", [pid])
        self.kills.append(kill)
        return kill


class Chaos:
    """Kill a random worker process every ``every`` seconds (a random pick from the range)
    until stopped, ``max_kills`` is reached or ``deadline`` seconds pass: 70% pool
    children, 30% main processes (restarted at once, like a supervisor would)."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        every: tuple[float, float] = (0.8, 2.0),
        max_kills: int = 1000,
        deadline: float = 600,
        seed: int | None = None,
    ) -> None:
        self.cluster = cluster
        self.every = every
        self.max_kills = max_kills
        self.deadline = deadline
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.rng = random.Random(self.seed)
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        began = time.monotonic()
        kills = 0
        while (
            kills < self.max_kills
            and time.monotonic() - began < self.deadline
            and not self.stop.wait(self.rng.uniform(*self.every))
        ):
            try:
                child = self.rng.random() < 0.7
                pick = self.cluster.kill_child if child else self.cluster.kill_main
                kills += pick(self.rng) is not None
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return

    def __enter__(self) -> Chaos:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(30)


# --- starting executions -----------------------------------------------------------------


@dataclass
class Started:
    """What clients were told: name -> (status code, execution id, input)."""

    acknowledged: dict[str, tuple[int, str, Any]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    lost_responses: int = 0  # a retry answered 200: the first try had committed
    finished_at: float = 0.0  # when the last client was done (time.time())


def start_all(
    api: stack.Api,
    inputs: dict[str, Any],
    *,
    in_flight: Callable[[], int] | None = None,
    window: int = 60,
    threads: int = 4,
    retry_for: float = 0.0,
    window_wait: float = 120,
) -> Started:
    """Start one execution per ``name -> input`` (client-chosen names, so a retry after a
    lost response is safe), keeping at most ``window`` running. With ``retry_for`` a client
    retries a start on connection errors and 503 answers for up to that many seconds."""
    result = Started()
    lock = threading.Lock()

    def one(item: tuple[str, Any]) -> None:
        name, body = item
        if in_flight is not None:
            waited = time.monotonic()
            while in_flight() >= window and time.monotonic() - waited < window_wait:
                time.sleep(0.1)
        began = time.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                status, reply = api.call(
                    "POST", f"/api/v1/flows/{FLOW}/executions/", {"name": name, "input": body}
                )
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                with lock:
                    result.errors[type(exc).__name__] += 1
                if time.monotonic() - began < retry_for:
                    with lock:
                        result.retries += 1
                    time.sleep(0.2)
                    continue
                return
            if status == 503 and time.monotonic() - began < retry_for:
                # The API's answer while its database is unreachable: retry, as told.
                with lock:
                    result.errors["HTTP 503"] += 1
                    result.retries += 1
                time.sleep(0.5)
                continue
            with lock:
                if status in (200, 201):
                    result.acknowledged[name] = (status, reply["id"], body)
                    if status == 200 and tries > 1:
                        result.lost_responses += 1
                else:
                    result.errors[f"HTTP {status}"] += 1
            return

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, inputs.items()))
    result.finished_at = time.time()
    return result


# --- the pure reference ------------------------------------------------------------------


@dataclass
class Expected:
    status: str
    output: Any
    transitions: Counter[tuple[Any, ...]]
    labels: Counter[str]


_pure_cache: dict[str, Expected] = {}


def transition(event: dict[str, Any]) -> tuple[Any, ...]:
    details = event.get("details") or {}
    return (event["type"], event.get("state"), details.get("frame", ""), details.get("index"))


def expected(definition: dict[str, Any], execution_input: Any) -> Expected:
    """Run the definition in-process with the pure interpreter (handlers without a sink)."""
    from django.conf import settings
    from django.test import override_settings

    from workflows.runner import run

    key = json.dumps([definition, execution_input], sort_keys=True)
    if key not in _pure_cache:
        allowed = {**settings.LEGATO, "TASK_MODULES": ["tests.faults.handlers"]}
        with override_settings(LEGATO=allowed):
            outcome = run(definition, execution_input, name="pure")
        transitions = Counter(
            transition(e) for e in outcome.events if e["type"] not in REPEATABLE_EVENTS
        )
        labels = Counter(
            e["details"]["parameters"]["label"]
            for e in outcome.events
            if e["type"] == "TaskScheduled"
        )
        _pure_cache[key] = Expected(outcome.status, outcome.output, transitions, labels)
    return _pure_cache[key]


# --- the checker -------------------------------------------------------------------------


@dataclass
class Findings:
    """Violations of each invariant (empty lists: it holds), plus the counts to report."""

    executions: int = 0
    not_terminal: list[str] = field(default_factory=list)
    wrong_output: list[str] = field(default_factory=list)
    duplicate_transitions: list[str] = field(default_factory=list)
    diverged_transitions: list[str] = field(default_factory=list)  # another path
    duplicate_effects: list[str] = field(default_factory=list)
    missing_effects: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    invocations: int = 0
    effects: int = 0
    steps: int = 0
    reclaims: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "executions": self.executions,
            "not_terminal": len(self.not_terminal),
            "wrong_output": len(self.wrong_output),
            "duplicate_transitions": len(self.duplicate_transitions),
            "diverged_transitions": len(self.diverged_transitions),
            "duplicate_effects": len(self.duplicate_effects),
            "missing_effects": len(self.missing_effects),
            "stuck": len(self.stuck),
            "steps": self.steps,
            "invocations": self.invocations,
            "effects_applied": self.effects,
            "duplicate_invocations": self.invocations - self.effects,
            "reclaimed_claims": self.reclaims,
        }


class Rows:
    """Read-only access to a Legato database: PostgreSQL (psycopg) or SQLite (embedded)."""

    def __init__(self, url: str) -> None:
        self.sqlite = not url.startswith("postgres")
        if self.sqlite:
            import sqlite3

            self.conn = sqlite3.connect(f"file:{url}?mode=ro", uri=True, timeout=30)
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def __call__(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        if self.sqlite:
            query = query.replace("%s", "?")
        return list(self.conn.execute(query, params).fetchall())

    def json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def close(self) -> None:
        self.conn.close()


def norm(execution_id: Any) -> str:
    return str(uuid.UUID(str(execution_id)))


def check(
    url: str,
    definition: dict[str, Any],
    sink_url: str | None = None,
    *,
    only: Iterable[str] | None = None,
) -> Findings:
    """Check every execution of the database at ``url`` (or just the ids in ``only``)."""
    rows = Rows(url)
    sink = Rows(sink_url or url)
    found = Findings()
    try:
        executions = rows("SELECT id, status, input, output FROM workflows_execution")
        wanted = {norm(i) for i in only} if only is not None else None
        events: dict[str, list[tuple[Any, ...]]] = {}
        for execution_id, seq, kind, state, details in rows(
            "SELECT execution_id, seq, type, state, details FROM workflows_event"
        ):
            events.setdefault(norm(execution_id), []).append((seq, kind, state, rows.json(details)))
        effects: dict[str, Counter[str]] = {}
        for execution_id, label, count in sink(
            "SELECT execution_id, label, count(*) FROM fault_effects GROUP BY 1, 2"
        ):
            effects.setdefault(norm(execution_id), Counter())[label] += count
        found.invocations = sink("SELECT count(*) FROM fault_invocations")[0][0]
        found.effects = sink("SELECT count(*) FROM fault_effects")[0][0]
        found.reclaims = rows(
            "SELECT coalesce(sum(claims - 1), 0) FROM workflows_taskattempt WHERE claims > 1"
        )[0][0]
        for execution_id, status, raw_input, raw_output in executions:
            eid = norm(execution_id)
            if wanted is not None and eid not in wanted:
                continue
            found.executions += 1
            want = expected(definition, rows.json(raw_input))
            found.steps += sum(want.labels.values())
            if status == "RUNNING":
                found.not_terminal.append(eid)
            elif (status, rows.json(raw_output)) != (want.status, want.output):
                found.wrong_output.append(eid)
            history = sorted(events.get(eid, []), key=lambda e: e[0])
            seqs = [e[0] for e in history]
            got = Counter(
                transition({"type": k, "state": s, "details": d})
                for _, k, s, d in history
                if k not in REPEATABLE_EVENTS
            )
            terminal = [i for i, e in enumerate(history) if e[1] in TERMINAL_EVENTS]
            repeated = any(got[t] > n for t, n in want.transitions.items())
            if (
                repeated
                or seqs != list(range(1, len(seqs) + 1))
                or len(terminal) > 1
                or (terminal and terminal[0] != len(history) - 1)
            ):
                found.duplicate_transitions.append(eid)
            elif status != "RUNNING" and got != want.transitions:
                found.diverged_transitions.append(eid)
            applied = effects.get(eid, Counter())
            if any(n > 1 for n in applied.values()):
                found.duplicate_effects.append(eid)
            elif status == "SUCCEEDED" and set(applied) != set(want.labels):
                found.missing_effects.append(eid)
        found.stuck = stuck(rows)
    finally:
        rows.close()
        if sink is not rows:
            sink.close()
    return found


def stuck(rows: Rows) -> list[str]:
    """Anything left behind: open executions, unfinished attempts, due but unfired timers."""
    left = [
        f"execution {norm(r[0])} RUNNING"
        for r in rows("SELECT id FROM workflows_execution WHERE status = 'RUNNING'")
    ]
    left += [
        f"attempt {r[0]} {r[1]}"
        for r in rows(
            "SELECT id, status FROM workflows_taskattempt WHERE status IN ('SCHEDULED', 'RUNNING')"
        )
    ]
    now = time.time()
    for timer_id, fire_at in rows("SELECT id, fire_at FROM workflows_timer WHERE fired_at IS NULL"):
        moment = fire_at if not isinstance(fire_at, str) else _parse(fire_at)
        if moment.timestamp() < now - 2 * SWEEP - 1:
            left.append(f"timer {timer_id} due but unfired")
    return left


def _parse(text: str) -> Any:
    from datetime import UTC, datetime

    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recovery_times(url: str, kills: list[Kill]) -> list[float]:
    """Seconds from each kill to the completion of each step it interrupted."""
    return [seconds for _, seconds in recoveries(url, kills)]


def recoveries(url: str, kills: list[Kill]) -> list[tuple[str, float]]:
    """(kill kind, seconds) for each step a kill interrupted, from one read."""
    if not any(k.affected for k in kills):
        return []
    rows = Rows(url)
    try:
        finished = dict(
            rows("SELECT id, finished_at FROM workflows_taskattempt WHERE finished_at IS NOT NULL")
        )
    finally:
        rows.close()
    times = []
    for kill in kills:
        for attempt_id in kill.affected:
            at = finished.get(attempt_id)
            if at is not None:
                at = at if not isinstance(at, str) else _parse(at)
                if at.timestamp() > kill.at:
                    times.append((kill.kind, at.timestamp() - kill.at))
    return times


# --- reporting ---------------------------------------------------------------------------

REPORT: list[dict[str, Any]] = []


def report(scenario: str, **figures: Any) -> dict[str, Any]:
    """Print a one-line summary and keep it for the session's report file."""
    line = {"scenario": scenario, "scale": scale(), **figures}
    for key in ("recovery", "drain"):
        values = figures.get(key)
        if isinstance(values, list):
            line[key] = {
                "n": len(values),
                "p50": _round(percentile(values, 50)),
                "p99": _round(percentile(values, 99)),
                "max": _round(max(values) if values else None),
            }
    REPORT.append(line)
    print(f"\n[faults] {json.dumps(line, sort_keys=True, default=str)}")
    return line


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- a whole run -------------------------------------------------------------------------


@dataclass
class Run:
    cluster: Cluster
    started: Started
    findings: Findings
    drain_seconds: float
    wall_seconds: float
    kills: list[Kill]
    recoveries: list[tuple[str, float]]  # (kill kind, seconds) per interrupted step
    chaos_errors: list[BaseException]

    @property
    def recovery(self) -> list[float]:
        return [seconds for _, seconds in self.recoveries]


def run_pipeline(
    cluster: Cluster,
    definition: dict[str, Any],
    inputs: dict[str, Any],
    *,
    chaos: dict[str, Any] | None = None,
    during: Callable[[Cluster], None] | None = None,
    window: int = 16,
    drain_timeout: float = 180,
    retry_for: float = 0.0,
    window_wait: float = 120,
    threads: int = 4,
) -> Run:
    """Start every execution (at most ``window`` at once) while ``chaos`` kills workers
    and/or ``during(cluster)`` runs in a thread, then wait for the cluster to drain and
    check every execution."""
    began = time.monotonic()
    cluster.create_flow(definition)
    agent = Chaos(cluster, **chaos) if chaos is not None else None
    side = threading.Thread(target=during, args=(cluster,), daemon=True) if during else None
    errors: list[BaseException] = []
    with agent or contextlib.nullcontext():
        if side is not None:
            side.start()
        started = start_all(
            cluster.api,
            inputs,
            in_flight=cluster.running,
            window=window,
            retry_for=retry_for,
            window_wait=window_wait,
            threads=threads,
        )
        if side is not None:
            side.join(drain_timeout)
        if agent is not None:
            limit = time.monotonic() + drain_timeout
            while time.monotonic() < limit and cluster.running() > 5 and agent.thread.is_alive():
                time.sleep(0.25)
            errors = agent.errors
    drain = cluster.wait_quiet(drain_timeout)
    findings = check(cluster.url, definition, cluster.sink_url)
    return Run(
        cluster,
        started,
        findings,
        drain,
        time.monotonic() - began,
        list(cluster.kills),
        recoveries(cluster.url, cluster.kills),
        errors,
    )


def run_figures(run: Run) -> dict[str, Any]:
    kinds = Counter(k.kind for k in run.kills)
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in run.recoveries:
        by_kind.setdefault(kind, []).append(seconds)
    return {
        "recovery_by_kind": {
            kind: {"n": len(v), "p50": _round(percentile(v, 50)), "p99": _round(percentile(v, 99))}
            for kind, v in by_kind.items()
            if v
        },
        **run.findings.summary(),
        "kills": dict(kinds),
        "kills_mid_step": sum(1 for k in run.kills if k.affected),
        "acknowledged_starts": len(run.started.acknowledged),
        "start_errors": dict(run.started.errors),
        "worker_self_exits": run.cluster.worker_exits,
        "drain_seconds": round(run.drain_seconds, 1),
        "wall_seconds": round(run.wall_seconds, 1),
        "recovery": run.recovery,
    }
