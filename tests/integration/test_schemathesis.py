"""Fuzz the live API against its own OpenAPI schema with schemathesis.

A real embedded server (``manage.py serve``), a token, a few real flows, executions, a
waiting task token and an activity task (so the fuzzer reaches more than 404s), then the
schemathesis CLI over every operation in ``/api/schema/``: examples, coverage, fuzzing and
stateful phases, every check but one (see CHECKS). Any 5xx, any response that does not
match the schema, any invalid request the API accepts fails the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import stack

pytestmark = pytest.mark.timeout(420)

SCHEMATHESIS = Path(stack.PYTHON).with_name("schemathesis")

# Every check schemathesis has, except ``positive_data_acceptance``: it wants every
# schema-valid request to succeed, but a schema cannot say which strings are valid state
# machines (400 InvalidDefinition), which states ran in an execution (rerun: 400) or that
# a string must not hold NUL characters (400: the database cannot store them).
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"

# A deeper run: LEGATO_FUZZ_EXAMPLES=200 LEGATO_FUZZ_SEED=7 pytest <this file>

WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
CALLBACK = {
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": "builtin:echo.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"},
            "End": True,
        }
    },
}
ACTIVITY = {
    "StartAt": "Review",
    "States": {"Review": {"Type": "Task", "Resource": "activity:fuzz-review", "End": True}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fuzz")
    port = stack.free_port()
    env = stack.base_env(data_dir)
    log = data_dir / "serve.log"
    process = stack.spawn(env, [stack.PYTHON, "manage.py", "serve", "--port", str(port)], log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(base_url, process=process, log=log)
        yield stack.Api(base_url, stack.create_token(env)), log
    finally:
        stack.stop(process)


def seed(api: stack.Api) -> dict[str, list[str]]:
    """Real objects for the fuzzer to hit alongside its random ids."""
    for name, definition in [
        ("fuzz-wait", WAITING),
        ("fuzz-callback", CALLBACK),
        ("fuzz-activity", ACTIVITY),
    ]:
        status, body = api.call("POST", "/api/v1/flows/", {"name": name, "definition": definition})
        assert status == 201, body
    start = "/api/v1/flows/{}/executions/"
    running = [api.post(start.format("fuzz-wait"), {"input": {"n": n}})["id"] for n in range(3)]
    stopped = api.post(start.format("fuzz-wait"), {"input": {}})["id"]
    assert api.call("POST", f"/api/v1/executions/{stopped}/stop/", {"cause": "seed"})[0] == 200
    waiting = [api.post(start.format("fuzz-callback"), {"input": {}})["id"] for _ in range(3)]
    api.post(start.format("fuzz-activity"), {"input": {"doc": 1}})
    tokens = []
    deadline = time.monotonic() + 30
    while len(tokens) < len(waiting) and time.monotonic() < deadline:
        tokens = [
            attempt["token"]
            for execution_id in waiting
            for attempt in api.get(f"/api/v1/executions/{execution_id}/states/")["results"]
            if attempt["token"]
        ]
        time.sleep(0.2)
    assert len(tokens) == len(waiting), "the callback tasks never started waiting"
    return {
        "flows": ["fuzz-wait", "fuzz-callback", "fuzz-activity"],
        "executions": [*running, stopped, *waiting],
        "tokens": tokens,
    }


def config(seeded: dict[str, list[str]]) -> str:
    """schemathesis.toml: real values for half the path parameters, short long polls."""

    def values(items: list[str]) -> str:
        return json.dumps(items)

    return f"""
# The activity long poll is fuzzed like the rest, but a valid ``wait`` may be 60 seconds:
# this hook shortens valid waits to a second at most (see the module).
hooks = "tests.integration.schemathesis_hooks"

# Like most HTTP APIs, this one ignores query parameters it does not know; the schema
# does not forbid them, so sending them is no negative test.
[generation]
allow-extra-parameters = false

[dictionaries]
flows = {{ values = {values(seeded["flows"])} }}
executions = {{ values = {values(seeded["executions"])} }}
tokens = {{ values = {values(seeded["tokens"])} }}
activities = {{ values = ["fuzz-review"] }}

[parameters]
"path.name" = {{ dictionary = "flows", probability = 0.5 }}
"path.execution_id" = {{ dictionary = "executions", probability = 0.5 }}
"path.token" = {{ dictionary = "tokens", probability = 0.5 }}

[[operations]]
include-operation-id = "pollActivity"
parameters = {{ "path.name" = {{ dictionary = "activities", probability = 0.5 }} }}
"""


def test_the_live_api_conforms_to_its_openapi_schema(server, tmp_path):
    api, log = server
    (tmp_path / "schemathesis.toml").write_text(config(seed(api)))
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{api.base_url}/api/schema/",
        "--header",
        f"Authorization: Token {api.token}",
        "--checks",
        CHECKS,
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        os.environ.get("LEGATO_FUZZ_EXAMPLES", "25"),
        "--seed",
        os.environ.get("LEGATO_FUZZ_SEED", "1"),
        "--request-timeout",
        "15",
        "--workers",
        "2",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    env = {**os.environ, "PYTHONPATH": str(stack.ROOT)}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=360, cwd=tmp_path, env=env, check=False
    )
    output = result.stdout + result.stderr
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert result.returncode == 0, output[-20000:]
    assert tested and int(tested.group(1)) == 26, output[-4000:]
    assert "Internal Server Error" not in log.read_text(errors="replace")
