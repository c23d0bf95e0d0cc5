"""Scenario 4, continued: operator actions racing callbacks on one execution.

- a callback's ``SendTaskSuccess`` against a stop, released together;
- two redrives, a stop and a late callback with the token from before the failure,
  all released together on a failed execution.

Whatever wins, each execution must end each run exactly once, every redrive that was
acknowledged must be in the history, a stale token must be refused, and no request may
fail with anything but a conflict.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from . import harness
from .test_operator_races import leftovers, simultaneously

RACES = harness.scaled(30, minimum=30)
CALLBACK_FLOW = "callbacks"
TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}

# A task that hands out its token and waits; an answer without ok=true fails the run.
CALLBACK: dict[str, Any] = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "builtin:echo.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"},
            "ResultPath": "$.answer",
            "End": True,
        },
    },
}


def start(cluster: harness.Cluster, name: str) -> str:
    status, body = cluster.api.call(
        "POST", f"/api/v1/flows/{CALLBACK_FLOW}/executions/", {"name": name, "input": {}}
    )
    assert status == 201, body
    return body["id"]


def waiting_token(cluster: harness.Cluster, execution_id: str, timeout: float = 30) -> str:
    """The token of the execution's task once its handler has run and it waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = cluster.sql(
            "SELECT token FROM workflows_taskattempt WHERE execution_id = %s"
            " AND status = 'WAITING'",
            (execution_id,),
        )
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} never waited for its token")


def succeed(cluster: harness.Cluster, token: str) -> int:
    path = f"/api/v1/task-tokens/{token}/success/"
    return cluster.api.call("POST", path, {"output": {"ok": True}})[0]


def fail(cluster: harness.Cluster, token: str) -> int:
    path = f"/api/v1/task-tokens/{token}/failure/"
    return cluster.api.call("POST", path, {"error": "Review.Rejected", "cause": "race"})[0]


def stop(cluster: harness.Cluster, execution_id: str) -> int:
    path = f"/api/v1/executions/{execution_id}/stop/"
    return cluster.api.call("POST", path, {"cause": "race"})[0]


def redrive(cluster: harness.Cluster, execution_id: str) -> int:
    return cluster.api.call("POST", f"/api/v1/executions/{execution_id}/redrive/", {})[0]


def wait_status(cluster: harness.Cluster, execution_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            cluster.sql("SELECT status FROM workflows_execution WHERE id = %s", (execution_id,))[0][
                0
            ]
            == status
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} never became {status}")


def history_faults(cluster: harness.Cluster, execution_id: str) -> list[str]:
    """What is wrong with one execution's history, if anything: every run (the start, and
    each redrive) ends at most once, redrives follow endings, the last ending agrees with
    the status, sequence numbers are consecutive, and the redrive count matches."""
    status, redrives = cluster.sql(
        "SELECT status, redrive_count FROM workflows_execution WHERE id = %s", (execution_id,)
    )[0]
    rows = cluster.sql(
        "SELECT seq, type FROM workflows_event WHERE execution_id = %s ORDER BY seq, id",
        (execution_id,),
    )
    seqs = [r[0] for r in rows]
    marks = [r[1] for r in rows if r[1] in TERMINAL or r[1] == "ExecutionRedriven"]
    faults = []
    if seqs != list(range(1, len(seqs) + 1)):
        faults.append("sequence numbers not consecutive")
    expected = ["end", "redrive"] * marks.count("ExecutionRedriven")
    shape = ["redrive" if m == "ExecutionRedriven" else "end" for m in marks]
    if shape not in (expected, [*expected, "end"]):
        faults.append(f"endings and redrives out of order: {marks}")
    if marks.count("ExecutionRedriven") != redrives:
        faults.append(f"{redrives} redrives counted, {marks.count('ExecutionRedriven')} recorded")
    ended = bool(shape) and shape[-1] == "end"
    if ended and TERMINAL[marks[-1]] != status:
        faults.append(f"history ends {marks[-1]} but the status is {status}")
    if not ended and status != "RUNNING":
        faults.append(f"history has not ended but the status is {status}")
    return faults


def callback_against_stop(cluster: harness.Cluster) -> dict[str, list[int]]:
    ids = [start(cluster, f"cb-stop-{i}") for i in range(RACES)]
    responses = {}
    for execution_id in ids:
        token = waiting_token(cluster, execution_id)
        responses[execution_id] = simultaneously(
            [lambda t=token: succeed(cluster, t), lambda e=execution_id: stop(cluster, e)]
        )
    return responses


def redrives_against_stop_and_a_stale_token(cluster: harness.Cluster) -> dict[str, Any]:
    ids = [start(cluster, f"cb-redrive-{i}") for i in range(RACES)]
    outcome: dict[str, Any] = {}
    for execution_id in ids:
        old = waiting_token(cluster, execution_id)
        assert fail(cluster, old) == 200
        wait_status(cluster, execution_id, "FAILED")
        codes = simultaneously(
            [
                lambda e=execution_id: ("redrive", redrive(cluster, e)),
                lambda e=execution_id: ("redrive", redrive(cluster, e)),
                lambda e=execution_id: ("stop", stop(cluster, e)),
                lambda t=old: ("stale-token", succeed(cluster, t)),
            ]
        )
        outcome[execution_id] = codes
    # Finish what the races left waiting, with the tokens the redrives handed out.
    for execution_id in ids:
        status = cluster.sql(
            "SELECT status FROM workflows_execution WHERE id = %s", (execution_id,)
        )[0][0]
        if status == "RUNNING":
            assert succeed(cluster, waiting_token(cluster, execution_id)) == 200
    cluster.wait_quiet(30)
    return outcome


@pytest.fixture(scope="module")
def callback_races(fault_template, tmp_path_factory):
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("callback-races")) as cluster:
        cluster.create_flow(CALLBACK, name=CALLBACK_FLOW)
        against_stop = callback_against_stop(cluster)
        cluster.wait_quiet(30)
        redrives = redrives_against_stop_and_a_stale_token(cluster)
        ids = [*against_stop, *redrives]
        faults = {e: f for e in ids if (f := history_faults(cluster, e))}
        counts = dict(
            cluster.sql(
                "SELECT id::text, redrive_count FROM workflows_execution WHERE name LIKE 'cb-%%'"
            )
        )
        outcome = Counter(
            r[0]
            for r in cluster.sql("SELECT status FROM workflows_execution WHERE name LIKE 'cb-%%'")
        )
        result = {
            "against_stop": against_stop,
            "redrives": redrives,
            "faults": faults,
            "redrive_counts": counts,
            "stuck": leftovers(cluster),
        }
        harness.report(
            "callback-races",
            callback_vs_stop=RACES,
            redrive_vs_redrive_vs_stop_vs_stale_token=RACES,
            outcomes=dict(outcome),
            acknowledged_redrives=sum(
                1
                for codes in redrives.values()
                for kind, code in codes
                if kind == "redrive" and code == 200
            ),
            history_faults=len(faults),
        )
    return result


def test_a_callback_racing_a_stop_ends_the_execution_once(callback_races):
    assert {
        e: f for e, f in callback_races["faults"].items() if e in callback_races["against_stop"]
    } == {}


def test_exactly_one_of_a_callback_and_a_stop_racing_it_wins(callback_races):
    winners = [sorted(codes) for codes in callback_races["against_stop"].values()]
    assert all(codes == [200, 409] for codes in winners), winners


def test_racing_redrives_and_a_stop_leave_one_clean_history_per_run(callback_races):
    assert {
        e: f for e, f in callback_races["faults"].items() if e in callback_races["redrives"]
    } == {}


def test_every_acknowledged_redrive_is_in_the_history(callback_races):
    for execution_id, codes in callback_races["redrives"].items():
        acknowledged = sum(1 for kind, code in codes if kind == "redrive" and code == 200)
        assert callback_races["redrive_counts"][execution_id] == acknowledged


def test_two_redrives_released_together_redrive_once(callback_races):
    # A second redrive can only succeed if the stop aborted the first one in between.
    for codes in callback_races["redrives"].values():
        redrives = [code for kind, code in codes if kind == "redrive"]
        stop_won = ("stop", 200) in codes
        assert redrives.count(200) == 1 or (stop_won and redrives.count(200) == 2), codes


def test_a_token_from_before_a_redrive_is_refused(callback_races):
    stale = [code for codes in callback_races["redrives"].values() for k, code in codes
             if k == "stale-token"]  # fmt: skip
    assert set(stale) == {409}


def test_callback_races_answer_with_the_state_or_a_conflict_never_an_error(callback_races):
    codes = [c for calls in callback_races["against_stop"].values() for c in calls]
    codes += [c for calls in callback_races["redrives"].values() for _, c in calls]
    assert set(codes) <= {200, 409}


def test_nothing_is_left_stuck_after_callback_races(callback_races):
    assert callback_races["stuck"] == []


# --- negative control: without the row lock, fencing and UNIQUE(execution, seq) ----------


@pytest.fixture(scope="module")
def unlocked_callback_races(fault_template, tmp_path_factory):
    with harness.Cluster(
        fault_template,
        tmp_path_factory.mktemp("callback-races-unlocked"),
        unsafe=["row_lock", "fencing"],
    ) as cluster:
        cluster.create_flow(CALLBACK, name=CALLBACK_FLOW)
        cluster.sql("ALTER TABLE workflows_event DROP CONSTRAINT IF EXISTS event_unique_seq")
        against_stop = callback_against_stop(cluster)
        cluster.wait_quiet(30)
        faults = {e: f for e in against_stop if (f := history_faults(cluster, e))}
        harness.report(
            "callback-races/control:row_lock+fencing+no-unique-seq",
            callback_vs_stop=RACES,
            history_faults=len(faults),
        )
    return faults


def test_without_row_lock_fencing_and_unique_seq_a_callback_race_ends_an_execution_twice(
    unlocked_callback_races,
):
    assert unlocked_callback_races
