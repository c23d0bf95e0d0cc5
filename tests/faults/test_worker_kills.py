"""Scenario 1: SIGKILL worker processes (pool children and main processes) at random while
hundreds of executions of Task → Parallel → Map → Choice → Task run."""

from __future__ import annotations

import pytest

from . import harness
from .flows import PIPELINE, pipeline_input

EXECUTIONS = harness.scaled(300, minimum=300)
CONTROL_EXECUTIONS = harness.scaled(40, minimum=40)
CHAOS = {"every": (1.2, 3.0), "deadline": 240 * harness.scale()}
CONTROL_CHAOS = {"every": (0.6, 1.4), "deadline": 60}
PRODUCTION_LEASE = 60


def inputs(n: int, prefix: str) -> dict[str, dict]:
    return {f"{prefix}-{i}": pipeline_input(i) for i in range(n)}


# Workers continue their own executions by default (see docs/architecture.md), which
# keeps one execution's steps on one worker; with continuation off every step goes through
# the broker and sibling branches of one execution complete on both workers at once.
MODES = {"continued": None, "broker-only": 0}


@pytest.fixture(scope="module", params=list(MODES))
def chaos_run(request, fault_template, tmp_path_factory):
    # The production lease: a step a killed worker held must come back because its
    # process is gone (the sweeper sees that at once), not because a lease ran out.
    with harness.Cluster(
        fault_template,
        tmp_path_factory.mktemp("kills"),
        lease=PRODUCTION_LEASE,
        continue_seconds=MODES[request.param],
    ) as cluster:
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(EXECUTIONS, "k"),
            chaos=CHAOS,
            drain_timeout=180,
        )
        name = "worker-kills" if request.param == "continued" else f"worker-kills/{request.param}"
        harness.report(name, **harness.run_figures(run))
    return run


def test_the_chaos_agent_killed_pool_children_and_main_processes_mid_step(chaos_run):
    kinds = {k.kind for k in chaos_run.kills}
    assert not chaos_run.chaos_errors
    assert kinds == {"child", "main"}
    assert sum(1 for k in chaos_run.kills if k.affected) >= 5


def test_steps_of_killed_workers_come_back_without_waiting_for_their_lease(chaos_run):
    assert chaos_run.recovery
    assert max(chaos_run.recovery) < PRODUCTION_LEASE


def test_every_start_was_acknowledged(chaos_run):
    assert len(chaos_run.started.acknowledged) == EXECUTIONS, chaos_run.started.errors


def test_every_execution_reaches_a_terminal_state(chaos_run):
    assert chaos_run.findings.executions == EXECUTIONS
    assert chaos_run.findings.not_terminal == []


def test_every_output_equals_the_pure_interpreters(chaos_run):
    assert chaos_run.findings.wrong_output == []


def test_no_transition_is_recorded_twice(chaos_run):
    assert chaos_run.findings.duplicate_transitions == []
    assert chaos_run.findings.diverged_transitions == []


def test_every_keyed_side_effect_is_applied_exactly_once(chaos_run):
    assert chaos_run.findings.duplicate_effects == []
    assert chaos_run.findings.missing_effects == []


def test_some_steps_were_invoked_more_than_once_as_at_least_once_allows(chaos_run):
    assert chaos_run.findings.invocations > chaos_run.findings.effects


def test_nothing_is_left_stuck(chaos_run):
    assert chaos_run.findings.stuck == []


# --- negative controls: each protection off makes its check fail ----------------------


def control_run(
    fault_template, tmp, name, *, unsafe=(), prepare=None, step=(0.05, 0.2), continue_seconds=None
):
    prefix = "".join(c for c in name if c.isalnum() or c == "-")
    with harness.Cluster(
        fault_template, tmp, unsafe=unsafe, step=step, continue_seconds=continue_seconds
    ) as cluster:
        if prepare is not None:
            cluster.sql(prepare)
        run = harness.run_pipeline(
            cluster,
            PIPELINE,
            inputs(CONTROL_EXECUTIONS, prefix),
            chaos=CONTROL_CHAOS,
            drain_timeout=15,
            window_wait=3,
        )
        harness.report(f"worker-kills/control:{name}", **harness.run_figures(run))
        return run


@pytest.fixture(scope="module")
def unswept(fault_template, tmp_path_factory):
    return control_run(
        fault_template, tmp_path_factory.mktemp("unswept"), "sweeper-off", unsafe=["sweeper"]
    )


@pytest.fixture(scope="module")
def unkeyed(fault_template, tmp_path_factory):
    return control_run(
        fault_template,
        tmp_path_factory.mktemp("unkeyed"),
        "idempotency-key-off",
        unsafe=["idempotency_key"],
    )


@pytest.fixture(scope="module")
def unserialised(fault_template, tmp_path_factory):
    # Equal step durations make sibling branches and Map iterations finish together, and
    # with every step going through the broker both workers run siblings of one execution
    # at once (continuation keeps an execution on one worker, which makes races rare).
    return control_run(
        fault_template,
        tmp_path_factory.mktemp("unserialised"),
        "row-lock+fencing+unique-seq-off",
        unsafe=["row_lock", "fencing"],
        prepare="ALTER TABLE workflows_event DROP CONSTRAINT IF EXISTS event_unique_seq",
        step=(0.1, 0.1),
        continue_seconds=0,
    )


def test_without_the_sweeper_killed_steps_leave_executions_unfinished(unswept):
    assert unswept.findings.not_terminal


def test_without_the_sweeper_killed_steps_are_left_stuck(unswept):
    assert unswept.findings.stuck


def test_without_a_stable_idempotency_key_a_killed_step_applies_its_effect_twice(unkeyed):
    assert unkeyed.findings.duplicate_effects


def test_without_a_stable_idempotency_key_outputs_differ_from_the_pure_interpreters(unkeyed):
    assert unkeyed.findings.wrong_output


def test_without_row_lock_fencing_and_unique_seq_transitions_are_recorded_twice(unserialised):
    assert unserialised.findings.duplicate_transitions
