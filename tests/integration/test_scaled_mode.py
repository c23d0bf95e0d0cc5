"""Scaled mode for real: PostgreSQL, Redis, prefork Celery workers, uvicorn and a sweeper,
each its own process, as on a multi-host install."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse, urlunparse

import pytest

from tests.support import stack

FLOW = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "id.$": "$$.Execution.Name"},
            "Next": "Work",
        },
        "Work": {
            "Type": "Task",
            "Resource": "builtin:echo",
            "ResultPath": "$.echo",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Default": "Small",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 10, "Next": "Big"}],
        },
        "Big": {
            "Type": "Task",
            "Resource": "builtin:sleep",
            "Parameters": {"seconds": 0.2},
            "ResultPath": "$.slept",
            "Next": "Done",
        },
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(scope="module")
def scaled(postgres_url, redis_url, tmp_path_factory):
    import psycopg
    import redis

    database = f"legato_scaled_{secrets.token_hex(4)}"
    admin = psycopg.connect(postgres_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    redis.Redis.from_url(redis_url).flushdb()
    url = urlparse(postgres_url)
    data_dir = tmp_path_factory.mktemp("scaled")
    port = stack.free_port()
    env = stack.base_env(
        data_dir,
        DATABASE_URL=urlunparse(url._replace(path=f"/{database}")),
        REDIS_URL=redis_url,
        LEGATO_SWEEP_INTERVAL="0.5",
        DJANGO_SECRET_KEY="scaled-test-" + secrets.token_hex(16),
        LEGATO_INSECURE_COOKIES="1",
    )
    stack.manage(env, "migrate", "--no-input")
    stack.manage(env, "bootstrap", "--no-examples")
    token = stack.create_token(env)
    celery = str(stack.ROOT / ".venv" / "bin" / "celery")
    log = data_dir / "processes.log"
    processes = [
        stack.spawn(
            env,
            [
                celery,
                "-A",
                "workflows",
                "worker",
                "-P",
                "prefork",
                "-c",
                "2",
                "-Q",
                "legato",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
                "-n",
                f"w1-{uuid.uuid4().hex[:6]}@%h",
            ],
            log,
        ),
        stack.spawn(env, [stack.PYTHON, "manage.py", "sweeper"], log),
        stack.spawn(
            env,
            [
                stack.PYTHON,
                "-m",
                "uvicorn",
                "workflows.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            log,
        ),
    ]
    base_url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(base_url, process=processes[-1], log=log)
        api = stack.Api(base_url, token)
        status, body = api.call("POST", "/api/v1/flows/", {"name": "scaled", "definition": FLOW})
        assert status == 201, body
        api.database = database
        api.database_url = env["DATABASE_URL"]
        api.admin = admin
        yield api
    finally:
        for process in processes:
            stack.stop(process)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def test_executions_run_to_completion_on_separate_worker_processes(scaled):
    ids = []
    for n in range(20):
        body = scaled.post(
            "/api/v1/flows/scaled/executions/", {"input": {"n": n}, "name": f"run-{n}"}
        )
        ids.append(body["id"])
    done = scaled.wait_terminal(ids, timeout=90)
    assert len(done) == 20
    assert {body["status"] for body in done.values()} == {"SUCCEEDED"}
    big = [b for b in done.values() if b["input"]["n"] >= 10]
    assert all(b["output"]["slept"] == {"seconds": 0.2} for b in big)


def test_worker_processes_reuse_their_database_connections_across_steps(scaled):
    chain = {
        "StartAt": "T0",
        "States": {
            f"T{i}": {"Type": "Task", "Resource": "builtin:echo", "Next": f"T{i + 1}"}
            for i in range(19)
        }
        | {"T19": {"Type": "Task", "Resource": "builtin:echo", "End": True}},
    }
    import psycopg

    scaled.post("/api/v1/flows/", {"name": "reuse", "definition": chain})
    seen: set[int] = set()
    with psycopg.connect(scaled.database_url, autocommit=True) as watch:
        ids = [
            scaled.post("/api/v1/flows/reuse/executions/", {"input": {}})["id"] for _ in range(2)
        ]
        deadline = time.monotonic() + 90
        statuses: set[str] = set()
        while statuses != {"SUCCEEDED"} and time.monotonic() < deadline:
            # Sample the workers' backends while the 40 steps run.
            seen |= {
                pid
                for (pid,) in watch.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'legato-worker'"
                    " AND datname = current_database()"
                ).fetchall()
            }
            statuses = {
                s
                for (s,) in watch.execute(
                    "SELECT status FROM workflows_execution WHERE id::text = ANY(%s)", [ids]
                ).fetchall()
            }
            time.sleep(0.02)
    assert statuses == {"SUCCEEDED"}
    # Two pool processes, each with its connection (a keep-alive thread may add one). With
    # Celery's own Django fix-up every step was a new backend, and samples see many.
    assert 1 <= len(seen) <= 6, seen


def test_the_web_process_keeps_no_database_connection_per_request_thread(scaled):
    with ThreadPoolExecutor(24) as pool:
        list(pool.map(lambda _: scaled.get("/api/v1/executions/"), range(96)))
    (connections,) = scaled.admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [scaled.database]
    ).fetchone()
    # Workers, sweeper and the web process: a handful. One kept connection per request
    # thread would have left dozens here.
    assert connections < 16


def test_history_in_scaled_mode_has_consecutive_sequence_numbers(scaled):
    body = scaled.post("/api/v1/flows/scaled/executions/", {"input": {"n": 11}})
    scaled.wait_terminal([body["id"]], timeout=60)
    events = scaled.get(f"/api/v1/executions/{body['id']}/history/")["results"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "ExecutionSucceeded"


def test_a_browser_session_receives_live_events_through_redis(scaled):
    import websockets

    cookie = stack.session_cookie(scaled.base_url)
    body = scaled.post("/api/v1/flows/scaled/executions/", {"input": {"n": 50}})
    ws_url = scaled.base_url.replace("http", "ws") + f"/ws/executions/{body['id']}/"

    async def listen():
        seen = []
        async with websockets.connect(
            ws_url, additional_headers={"Cookie": cookie, "Origin": scaled.base_url}
        ) as socket:
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 30))
                seen.extend(e["type"] for e in message["events"])
                if message["execution"]["status"] != "RUNNING":
                    return seen

    # Not asyncio.run: the session's Playwright browser may own this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(asyncio.run, listen()).result()
    assert seen[-1] == "ExecutionSucceeded"
    assert "TaskSucceeded" in seen


@pytest.fixture
def two_web_processes(postgres_url, redis_url, tmp_path):
    """Two uvicorn processes on one PostgreSQL database, as behind a load balancer."""
    import psycopg

    database = f"legato_lockout_{secrets.token_hex(4)}"
    admin = psycopg.connect(postgres_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    url = urlparse(postgres_url)
    env = stack.base_env(
        tmp_path,
        DATABASE_URL=urlunparse(url._replace(path=f"/{database}")),
        REDIS_URL=redis_url,
        DJANGO_SECRET_KEY="lockout-test-" + secrets.token_hex(16),
        LEGATO_INSECURE_COOKIES="1",
        LEGATO_LOGIN_FAILURE_LIMIT="4",
    )
    stack.manage(env, "migrate", "--no-input")
    stack.manage(env, "bootstrap", "--no-examples")
    ports = [stack.free_port(), stack.free_port()]
    log = tmp_path / "web.log"
    command = [stack.PYTHON, "-m", "uvicorn", "workflows.asgi:application", "--port"]
    processes = [stack.spawn(env, [*command, str(port)], log) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            stack.wait_healthy(f"http://127.0.0.1:{port}", process=process, log=log)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            stack.stop(process)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def test_failed_sign_ins_on_different_web_processes_add_up_to_a_lockout(two_web_processes):
    first, second = two_web_processes
    for base_url in (first, second, first):
        assert stack.sign_in(base_url, "admin", "not-the-password") == (200, None)
    # The fourth failure, on the other process, reaches the limit of four.
    assert stack.sign_in(second, "admin", "not-the-password") == (429, None)
    assert stack.sign_in(first, "admin", stack.ADMIN_PASSWORD) == (429, None)
    assert stack.sign_in(second, "admin", stack.ADMIN_PASSWORD) == (429, None)
