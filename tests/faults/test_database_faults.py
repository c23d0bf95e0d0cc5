"""Scenario 6: the database goes away. Three times mid-run, every connection to the
scenario's database is cut and new ones are refused for a few seconds (what clients see
of a PostgreSQL restart or fail-over). Workers, sweepers and the web process reconnect;
an outcome a worker holds is recorded once the database is back; nothing is lost."""

from __future__ import annotations

import time

import pytest

from . import harness
from .flows import PIPELINE, pipeline_input
from .test_broker_faults import pending, wait_for_progress

EXECUTIONS = harness.scaled(150, minimum=150)
CONTROL_EXECUTIONS = harness.scaled(40, minimum=40)
OUTAGE_SECONDS = 4.0
# The production lease: a step whose outcome met the outage must be recorded by its
# worker when the database is back, not recovered a lease later by the sweeper.
PRODUCTION_LEASE = 60


def inputs(n: int, prefix: str) -> dict[str, dict]:
    return {f"{prefix}-{i}": pipeline_input(i) for i in range(n)}


def database_outages(cluster: harness.Cluster, total: int) -> None:
    for done in (total // 4, total // 2, 3 * total // 4):
        wait_for_progress(cluster, done)
        affected = pending(cluster)
        at = time.time()
        cluster.database_outage(OUTAGE_SECONDS)
        cluster.kills.append(harness.Kill(at, "db-outage", [], affected))


def outage_scenario(template, tmp, name, executions, *, drain, unsafe=()) -> harness.Run:
    # The handlers' own world (their effects table) stays up: the outage is Legato's.
    with harness.Cluster(
        template, tmp, lease=PRODUCTION_LEASE, separate_sink=True, unsafe=unsafe
    ) as cluster:
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(executions, tmp.name[:8]),
            during=lambda c: database_outages(c, executions),
            drain_timeout=drain,
            # A start refused during an outage (503) is retried, as a client would.
            retry_for=60,
        )
        harness.report(name, **harness.run_figures(run))
    return run


@pytest.fixture(scope="module")
def outage_run(fault_template, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("database")
    return outage_scenario(fault_template, tmp, "database-outages", EXECUTIONS, drain=180)


def test_the_database_went_away_three_times_mid_run(outage_run):
    assert [k.kind for k in outage_run.kills] == ["db-outage"] * 3
    assert all(k.affected for k in outage_run.kills)


def test_every_start_was_acknowledged_despite_the_outages(outage_run):
    assert len(outage_run.started.acknowledged) == EXECUTIONS, outage_run.started.errors


def test_every_execution_reaches_a_terminal_state_after_the_outages(outage_run):
    assert outage_run.findings.executions == EXECUTIONS
    assert outage_run.findings.not_terminal == []


def test_every_output_equals_the_pure_interpreters_after_the_outages(outage_run):
    assert outage_run.findings.wrong_output == []


def test_no_transition_is_recorded_twice_after_the_outages(outage_run):
    assert outage_run.findings.duplicate_transitions == []
    assert outage_run.findings.diverged_transitions == []


def test_every_keyed_side_effect_is_applied_once_after_the_outages(outage_run):
    assert outage_run.findings.duplicate_effects == []
    assert outage_run.findings.missing_effects == []


def test_nothing_is_left_stuck_after_the_outages(outage_run):
    assert outage_run.findings.stuck == []


def test_steps_caught_by_an_outage_resume_without_waiting_for_their_lease(outage_run):
    assert outage_run.recovery
    assert max(outage_run.recovery) < PRODUCTION_LEASE / 2


# --- negative control: without the worker's retry, an outage strands outcomes -----------


@pytest.fixture(scope="module")
def unretried_run(fault_template, tmp_path_factory):
    return outage_scenario(
        fault_template,
        tmp_path_factory.mktemp("database-unretried"),
        "database-outages/control:outage-retry-off",
        CONTROL_EXECUTIONS,
        drain=20,
        unsafe=["outage_retry"],
    )


def test_without_the_worker_s_retry_an_outage_leaves_steps_to_their_lease(unretried_run):
    assert unretried_run.findings.not_terminal
    assert unretried_run.findings.stuck
