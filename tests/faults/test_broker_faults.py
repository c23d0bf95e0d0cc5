"""Scenario 2: the broker is only a wake-up hint. Flush Redis, and kill and restart it
(empty: no persistence), while executions run; the database and the sweeper recover."""

from __future__ import annotations

import time

import pytest

from . import harness
from .flows import PIPELINE, pipeline_input

EXECUTIONS = harness.scaled(150, minimum=150)
CONTROL_EXECUTIONS = harness.scaled(30, minimum=30)


def inputs(n: int, prefix: str) -> dict[str, dict]:
    return {f"{prefix}-{i}": pipeline_input(i) for i in range(n)}


def pending(cluster: harness.Cluster) -> list[int]:
    return [
        r[0]
        for r in cluster.sql(
            "SELECT id FROM workflows_taskattempt WHERE status IN ('SCHEDULED', 'RUNNING')"
        )
    ]


def wait_for_progress(cluster: harness.Cluster, done: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (
        time.monotonic() < deadline
        and cluster.sql("SELECT count(*) FROM workflows_execution WHERE status <> 'RUNNING'")[0][0]
        < done
    ):
        time.sleep(0.2)


def broker_faults(cluster: harness.Cluster, total: int, *, kill: bool = True) -> None:
    """FLUSHALL at a quarter of the run; kill Redis at half, restart it 3 s later (empty);
    FLUSHALL again at three quarters."""
    plan = [("redis-flush", total // 4)]
    if kill:
        plan += [("redis-kill", total // 2), ("redis-flush", 3 * total // 4)]
    for kind, done in plan:
        wait_for_progress(cluster, done)
        affected = pending(cluster)
        at = time.time()
        if kind == "redis-flush":
            cluster.redis.flush()
        else:
            cluster.redis.kill()
            time.sleep(3)
            cluster.redis.start()
        cluster.kills.append(harness.Kill(at, kind, [], affected))


@pytest.fixture(scope="module")
def broker_run(fault_template, tmp_path_factory):
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("broker")) as cluster:
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(EXECUTIONS, "b"),
            during=lambda c: broker_faults(c, EXECUTIONS),
            drain_timeout=180,
        )
        harness.report("broker-loss", **harness.run_figures(run))
    return run


def test_redis_was_flushed_twice_and_killed_once_mid_run(broker_run):
    kinds = [k.kind for k in broker_run.kills]
    assert kinds == ["redis-flush", "redis-kill", "redis-flush"]
    assert all(k.affected for k in broker_run.kills)


def test_every_start_was_acknowledged_despite_the_broker_outage(broker_run):
    assert len(broker_run.started.acknowledged) == EXECUTIONS, broker_run.started.errors


def test_every_execution_reaches_a_terminal_state_after_broker_loss(broker_run):
    assert broker_run.findings.executions == EXECUTIONS
    assert broker_run.findings.not_terminal == []


def test_every_output_equals_the_pure_interpreters_after_broker_loss(broker_run):
    assert broker_run.findings.wrong_output == []


def test_no_transition_is_recorded_twice_after_broker_loss(broker_run):
    assert broker_run.findings.duplicate_transitions == []
    assert broker_run.findings.diverged_transitions == []


def test_every_keyed_side_effect_is_applied_once_after_broker_loss(broker_run):
    assert broker_run.findings.duplicate_effects == []
    assert broker_run.findings.missing_effects == []


def test_nothing_is_left_stuck_after_broker_loss(broker_run):
    assert broker_run.findings.stuck == []


# --- negative control: without the sweeper, a flushed broker loses work -----------------


@pytest.fixture(scope="module")
def unswept_run(fault_template, tmp_path_factory):
    with harness.Cluster(
        fault_template, tmp_path_factory.mktemp("broker-unswept"), unsafe=["sweeper"]
    ) as cluster:
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(CONTROL_EXECUTIONS, "bu"),
            during=lambda c: broker_faults(c, CONTROL_EXECUTIONS, kill=False),
            drain_timeout=20,
        )
        harness.report("broker-loss/control:sweeper-off", **harness.run_figures(run))
    return run


def test_without_the_sweeper_a_redis_flush_leaves_executions_unfinished(unswept_run):
    assert unswept_run.findings.not_terminal
    assert unswept_run.findings.stuck
