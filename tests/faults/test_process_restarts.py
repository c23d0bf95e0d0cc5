"""Scenario 3: kill the web (ASGI) process while clients start executions, and kill the
embedded-mode process (``manage.py serve``: web, worker and sweeper in one) with
executions in flight; restart each, and every acknowledged execution finishes."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import time

import pytest

from tests.support import stack

from . import harness
from .flows import PIPELINE, pipeline_input

WEB_EXECUTIONS = harness.scaled(150, minimum=150)
WEB_KILLS = harness.scaled(6, minimum=6)
EMBEDDED_EXECUTIONS = harness.scaled(60, minimum=60)
EMBEDDED_KILLS = harness.scaled(3, minimum=3)
CLIENT_RETRY_SECONDS = 60


def inputs(n: int, prefix: str) -> dict[str, dict]:
    return {f"{prefix}-{i}": pipeline_input(i) for i in range(n)}


# --- the web process -----------------------------------------------------------------------


def web_kills(cluster: harness.Cluster, kills: int, total: int, seed: int = 3) -> None:
    """SIGKILL uvicorn every 1–2.5 s while clients are still starting executions (until
    ``kills`` kills, or every start is stored); restart it each time."""
    rng = random.Random(seed)
    for _ in range(kills):
        time.sleep(rng.uniform(1.0, 2.5))
        if cluster.sql("SELECT count(*) FROM workflows_execution")[0][0] >= total:
            return
        cluster.kill_web()
        cluster.start_web()
        cluster.wait_web()


def duplicates_by_name(cluster: harness.Cluster) -> dict[str, int]:
    return dict(
        cluster.sql(
            "SELECT name, count(*) FROM workflows_execution GROUP BY name HAVING count(*) > 1"
        )
    )


@pytest.fixture(scope="module")
def web_run(fault_template, tmp_path_factory):
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("web")) as cluster:
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(WEB_EXECUTIONS, "w"),
            during=lambda c: web_kills(c, WEB_KILLS, WEB_EXECUTIONS),
            retry_for=CLIENT_RETRY_SECONDS,
            window=32,
            threads=8,
            drain_timeout=180,
        )
        ids = {name: row[1] for name, row in run.started.acknowledged.items()}
        stored = dict(cluster.sql("SELECT name, id::text FROM workflows_execution"))
        figures = harness.run_figures(run)
        figures.update(
            client_retries=run.started.retries,
            lost_responses_recovered_by_name=run.started.lost_responses,
        )
        harness.report("web-kills", **figures)
        duplicates = duplicates_by_name(cluster)
    return run, ids, stored, duplicates


def test_the_web_process_was_killed_while_clients_were_starting_executions(web_run):
    run, *_ = web_run
    during_starts = [k for k in run.kills if k.at < run.started.finished_at]
    assert {k.kind for k in run.kills} == {"web"}
    assert len(during_starts) >= min(3, WEB_KILLS)


def test_every_client_got_its_start_acknowledged_after_retrying_by_name(web_run):
    run, *_ = web_run
    assert len(run.started.acknowledged) == WEB_EXECUTIONS


def test_every_acknowledged_start_is_the_one_stored_execution_of_its_name(web_run):
    _, ids, stored, duplicates = web_run
    assert duplicates == {}
    assert all(stored.get(name) == execution_id for name, execution_id in ids.items())


def test_every_acknowledged_execution_finishes_with_the_pure_interpreters_output(web_run):
    run, *_ = web_run
    assert run.findings.not_terminal == []
    assert run.findings.wrong_output == []


def test_no_transition_or_effect_is_doubled_by_web_process_kills(web_run):
    run, *_ = web_run
    assert run.findings.duplicate_transitions == []
    assert run.findings.duplicate_effects == []
    assert run.findings.missing_effects == []


def test_nothing_is_left_stuck_after_web_process_kills(web_run):
    run, *_ = web_run
    assert run.findings.stuck == []


@pytest.fixture(scope="module")
def replayed_without_unique_name(fault_template, tmp_path_factory):
    """Negative control: every start sent twice (as a client does when a response is lost)
    with UNIQUE(flow, name) dropped — the constraint is what makes the retry safe."""
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("web-nounique")) as cluster:
        cluster.create_flow(PIPELINE)
        cluster.sql(
            "ALTER TABLE workflows_execution DROP CONSTRAINT IF EXISTS execution_unique_name"
        )
        names = inputs(10, "wr")
        harness.start_all(cluster.api, names)
        harness.start_all(cluster.api, names)
        duplicates = duplicates_by_name(cluster)
        harness.report("web-kills/control:no-unique-name", names_duplicated=len(duplicates))
    return duplicates


def test_without_the_unique_name_constraint_a_retried_start_is_a_duplicate(
    replayed_without_unique_name,
):
    assert len(replayed_without_unique_name) == 10


# --- embedded mode -------------------------------------------------------------------------

NO_RESUME = (
    "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
    "'workflows.settings'); django.setup(); import workflows.embedded as e; "
    "e.resume = lambda: 0; from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', *sys.argv[1:]])"
)


class Embedded:
    """``manage.py serve`` (SQLite, in-process broker) with the effect sink in PostgreSQL."""

    def __init__(self, template, tmp, *, resume=True, unsafe=()):
        self.tmp = tmp
        self.sink_db = f"legato_faults_sink_{os.urandom(4).hex()}"
        with harness.admin_connection(template.postgres_url) as admin:
            admin.execute(f'CREATE DATABASE "{self.sink_db}" TEMPLATE "{template.name}"')
        self.sink_url = harness.db_url(template.postgres_url, self.sink_db)
        self.template = template
        self.port = stack.free_port()
        self.env = stack.base_env(
            tmp,
            LEGATO_CLAIM_LEASE=str(harness.LEASE),
            LEGATO_REPUBLISH_AFTER=str(harness.REPUBLISH),
            LEGATO_SWEEP_INTERVAL=str(harness.SWEEP),
            LEGATO_TASK_MODULES="tests.faults.handlers",
            LEGATO_FAULT_SINK=self.sink_url,
            LEGATO_UNSAFE=",".join(unsafe),
            LEGATO_LOG_LEVEL="WARNING",
            DJANGO_SECRET_KEY="faults-embedded-" + os.urandom(8).hex(),
        )
        launcher = ["manage.py"] if resume else ["-c", NO_RESUME]
        self.args = [stack.PYTHON, *launcher, "serve", "--port", str(self.port), "--no-examples"]
        self.path = tmp / "legato.sqlite3"
        self.log = tmp / "serve.log"
        self.process = None
        self.kills: list[harness.Kill] = []

    def start(self):
        self.process = harness.spawn(self.env, self.args, self.log)
        stack.wait_healthy(f"http://127.0.0.1:{self.port}", process=self.process, log=self.log)

    def kill(self):
        pid = self.process.pid
        affected = [
            r[0] for r in self.sql("SELECT id FROM workflows_taskattempt WHERE status = 'RUNNING'")
        ]
        os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self.kills.append(harness.Kill(time.time(), "embedded", [pid], affected))

    def sql(self, query, params=()):
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn:
            return conn.execute(query.replace("%s", "?"), params).fetchall()

    def running(self):
        return self.sql("SELECT count(*) FROM workflows_execution WHERE status = 'RUNNING'")[0][0]

    def close(self):
        if self.process is not None:
            stack.stop(self.process)
        harness.drop_database(self.template.postgres_url, self.sink_db)


def embedded_run(template, tmp, name, *, executions, kills, resume=True, unsafe=(), drain=120):
    node = Embedded(template, tmp, resume=resume, unsafe=unsafe)
    try:
        node.start()
        api = stack.Api(f"http://127.0.0.1:{node.port}", stack.create_token(node.env))
        status, body = api.call(
            "POST", "/api/v1/flows/", {"name": harness.FLOW, "definition": PIPELINE}
        )
        assert status == 201, body
        began = time.monotonic()
        names = inputs(executions, name)
        batch = len(names) // (kills + 1) + 1
        items = list(names.items())
        started = harness.Started()
        for k in range(kills + 1):
            chunk = dict(items[k * batch : (k + 1) * batch])
            part = harness.start_all(api, chunk, threads=4)
            started.acknowledged.update(part.acknowledged)
            started.errors.update(part.errors)
            if k < kills:
                time.sleep(1.5)  # steps are now running in the process we kill
                node.kill()
                node.start()
        limit = time.monotonic() + drain
        while time.monotonic() < limit and node.running():
            time.sleep(0.25)
        findings = harness.check(str(node.path), PIPELINE, node.sink_url)
        recovery = harness.recovery_times(str(node.path), node.kills)
        figures = {
            **findings.summary(),
            "kills": {"embedded": len(node.kills)},
            "kills_mid_step": sum(1 for k in node.kills if k.affected),
            "acknowledged_starts": len(started.acknowledged),
            "wall_seconds": round(time.monotonic() - began, 1),
            "recovery": recovery,
        }
        harness.report(f"embedded-restarts{'' if resume else '/control:' + name}", **figures)
        return node, started, findings
    finally:
        node.close()


@pytest.fixture(scope="module")
def embedded(fault_template, tmp_path_factory):
    return embedded_run(
        fault_template,
        tmp_path_factory.mktemp("embedded"),
        "e",
        executions=EMBEDDED_EXECUTIONS,
        kills=EMBEDDED_KILLS,
    )


def test_the_embedded_process_was_killed_with_steps_running(embedded):
    node, _, _ = embedded
    assert len(node.kills) == EMBEDDED_KILLS
    assert all(k.affected for k in node.kills)


def test_every_embedded_execution_finishes_after_restarts(embedded):
    _, started, findings = embedded
    assert len(started.acknowledged) == EMBEDDED_EXECUTIONS
    assert findings.executions == EMBEDDED_EXECUTIONS
    assert findings.not_terminal == []


def test_every_embedded_output_equals_the_pure_interpreters(embedded):
    assert embedded[2].wrong_output == []


def test_no_embedded_transition_is_recorded_twice(embedded):
    assert embedded[2].duplicate_transitions == []
    assert embedded[2].diverged_transitions == []


def test_every_embedded_side_effect_is_applied_once(embedded):
    assert embedded[2].duplicate_effects == []
    assert embedded[2].missing_effects == []


def test_nothing_is_left_stuck_in_embedded_mode(embedded):
    assert embedded[2].stuck == []


@pytest.fixture(scope="module")
def embedded_without_recovery(fault_template, tmp_path_factory):
    """Negative control: start-up ``resume()`` patched out and the sweeper off."""
    return embedded_run(
        fault_template,
        tmp_path_factory.mktemp("embedded-noresume"),
        "no-resume-no-sweeper",
        executions=20,
        kills=1,
        resume=False,
        unsafe=["sweeper"],
        drain=15,
    )


def test_without_resume_and_sweeper_a_restart_leaves_executions_unfinished(
    embedded_without_recovery,
):
    _, _, findings = embedded_without_recovery
    assert findings.not_terminal
    assert findings.stuck
