"""Embedded mode for real: ``manage.py serve`` as one process, killed and restarted."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
import time

import pytest

from tests.support import stack

FLOW = {
    "StartAt": "Nap",
    "States": {
        "Nap": {
            "Type": "Task",
            "Resource": "builtin:sleep",
            "Parameters": {"seconds": 3},
            "ResultPath": "$.nap",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
def embedded(tmp_path):
    yield from _serve(tmp_path)


def _serve(tmp_path, **env_extra):
    env = stack.base_env(tmp_path, **env_extra)
    port = stack.free_port()
    log = tmp_path / "serve.log"
    state = {}

    def start():
        state["process"] = stack.spawn(
            env, [stack.PYTHON, "manage.py", "serve", "--port", str(port), "--no-examples"], log
        )
        stack.wait_healthy(f"http://127.0.0.1:{port}", process=state["process"], log=log)
        return state["process"]

    start()
    api = stack.Api(f"http://127.0.0.1:{port}", stack.create_token(env))
    yield api, start, state
    stack.stop(state["process"])


def test_executions_in_flight_resume_after_the_process_is_killed(embedded):
    api, start, state = embedded
    assert api.call("POST", "/api/v1/flows/", {"name": "nap", "definition": FLOW})[0] == 201
    in_task = api.post("/api/v1/flows/nap/executions/", {"input": {"n": 1}})
    time.sleep(1)  # the first one is now inside its 3-second task
    stack.stop(state["process"], sig=signal.SIGKILL)
    start()
    done = api.wait_terminal([in_task["id"]], timeout=60)
    assert done[in_task["id"]]["status"] == "SUCCEEDED"
    assert done[in_task["id"]]["output"]["nap"] == {"seconds": 3}


def test_a_durable_wait_survives_a_restart(embedded):
    api, start, state = embedded
    api.call("POST", "/api/v1/flows/", {"name": "nap", "definition": FLOW})
    execution = api.post("/api/v1/flows/nap/executions/", {"input": {}})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        types = [
            e["type"] for e in api.get(f"/api/v1/executions/{execution['id']}/history/")["results"]
        ]
        if "WaitStateEntered" in types:
            break
        time.sleep(0.1)
    stack.stop(state["process"], sig=signal.SIGKILL)
    start()
    done = api.wait_terminal([execution["id"]], timeout=30)
    history = api.get(f"/api/v1/executions/{execution['id']}/history/")["results"]
    assert done[execution["id"]]["status"] == "SUCCEEDED"
    assert [e["type"] for e in history].count("WaitStateExited") == 1


# An expression that never ends on its own: it runs until its time budget stops it.
SPIN = "{% ($spin := function(){ $spin() }; $spin()) %}"
QUICK = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def slow_expressions(tmp_path):
    api, _, _ = next(gen := _serve(tmp_path, LEGATO_EXPRESSION_TIMEOUT_MS="5000"))
    yield api
    next(gen, None)


def _flows(api, first_a_task: bool) -> None:
    states = {"Spin": {"Type": "Pass", "Output": SPIN, "End": True}}
    if first_a_task:
        states = {"Echo": {"Type": "Task", "Resource": "builtin:echo", "Next": "Spin"}, **states}
    spin = {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states}
    api.call("POST", "/api/v1/flows/", {"name": "spin", "definition": spin})
    api.call("POST", "/api/v1/flows/", {"name": "quick", "definition": QUICK})


def _start_in_background(api) -> threading.Thread:
    thread = threading.Thread(
        target=api.post, args=("/api/v1/flows/spin/executions/", {"input": {}}), daemon=True
    )
    thread.start()
    time.sleep(1)  # the slow one is now inside its five-second expression
    return thread


def test_a_slow_expression_in_a_start_does_not_hold_up_an_unrelated_start(slow_expressions):
    api = slow_expressions
    _flows(api, first_a_task=False)
    slow = _start_in_background(api)
    quick = api.post("/api/v1/flows/quick/executions/", {"input": {}})
    # Had the quick start waited for the slow one, the slow one would be recorded by now.
    spinning = api.get("/api/v1/executions/?flow=spin")["results"]
    assert (quick["status"], spinning) == ("SUCCEEDED", [])
    slow.join(30)
    [failed] = api.get("/api/v1/executions/?flow=spin")["results"]
    assert failed["error"] == "States.QueryEvaluationError"


def test_a_slow_expression_after_a_task_does_not_hold_up_an_unrelated_start(slow_expressions):
    api = slow_expressions
    _flows(api, first_a_task=True)
    _start_in_background(api).join(30)
    quick = api.post("/api/v1/flows/quick/executions/", {"input": {}})
    [spinning] = api.get("/api/v1/executions/?flow=spin")["results"]
    # Had the quick start waited for the slow step, the slow one would have ended by now.
    assert (quick["status"], spinning["status"]) == ("SUCCEEDED", "RUNNING")
    done = api.wait_terminal([spinning["id"]], timeout=30)[spinning["id"]]
    assert done["error"] == "States.QueryEvaluationError"


@contextlib.contextmanager
def serving(env, log):
    port = stack.free_port()
    process = stack.spawn(
        env, [stack.PYTHON, "manage.py", "serve", "--port", str(port), "--no-examples"], log
    )
    try:
        stack.wait_healthy(f"http://127.0.0.1:{port}", process=process, log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stack.stop(process)


def serve_once(env, log):
    with serving(env, log):
        pass
    return log.read_text()


def test_the_generated_admin_password_is_printed_on_the_first_start_only(tmp_path):
    env = stack.base_env(tmp_path / "data")
    del env["LEGATO_ADMIN_PASSWORD"]
    first = serve_once(env, tmp_path / "first.log")
    password = (tmp_path / "data" / "admin-password").read_text().strip()
    assert password in first
    second = serve_once(env, tmp_path / "second.log")
    assert "log in as 'admin'" in second
    assert password not in second


PRIVATE_FILES = [
    "legato.sqlite3",
    "legato.sqlite3-wal",
    "legato.sqlite3-shm",
    "secret_key",
    "admin-password",
]


def modes(data):
    return {
        name: oct(stat.S_IMODE((data / name).stat().st_mode))
        for name in ["", *PRIVATE_FILES]
        if (data / name).exists()
    }


PRIVATE = {name: ("0o700" if name == "" else "0o600") for name in ["", *PRIVATE_FILES]}


def test_the_data_folder_and_the_database_in_it_are_private_to_their_owner(tmp_path):
    """The database holds sessions and tokens; its WAL and shared-memory files too."""
    data = tmp_path / "data"
    env = stack.base_env(data)
    del env["LEGATO_ADMIN_PASSWORD"]
    with serving(env, tmp_path / "serve.log"):
        seen = modes(data)
    assert seen == PRIVATE


def test_an_existing_data_folder_with_loose_modes_is_made_private(tmp_path):
    data = tmp_path / "data"
    env = stack.base_env(data)
    del env["LEGATO_ADMIN_PASSWORD"]
    serve_once(env, tmp_path / "first.log")
    for path in [data, *data.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    with serving(env, tmp_path / "second.log"):
        seen = modes(data)
    assert seen == PRIVATE


def test_a_locked_out_admin_cannot_sign_in_to_the_embedded_process(tmp_path):
    env = stack.base_env(tmp_path / "data", LEGATO_LOGIN_FAILURE_LIMIT="3")
    with serving(env, tmp_path / "serve.log") as base_url:
        assert stack.sign_in(base_url, "admin", stack.ADMIN_PASSWORD)[1] is not None
        for _ in range(2):
            assert stack.sign_in(base_url, "admin", "not-the-password") == (200, None)
        # The failure that reaches the limit already answers with the lockout page.
        assert stack.sign_in(base_url, "admin", "not-the-password") == (429, None)
        assert stack.sign_in(base_url, "admin", stack.ADMIN_PASSWORD) == (429, None)


def test_a_forwarded_for_header_does_not_move_a_client_out_of_its_address_lockout(tmp_path):
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: a local
    client would name a new address for every guess."""
    env = stack.base_env(tmp_path / "data", LEGATO_LOGIN_FAILURE_LIMIT="3")
    with serving(env, tmp_path / "serve.log") as base_url:
        for n in range(3):
            forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            stack.sign_in(base_url, f"someone-{n}", "not-the-password", forwarded)
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        assert stack.sign_in(base_url, "admin", stack.ADMIN_PASSWORD, forwarded) == (429, None)
