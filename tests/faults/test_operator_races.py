"""Scenario 4: concurrent duplicate starts, and concurrent operator actions on one
execution (stop against stop, stop against the task's completion). Redrives and callback
completions race in test_callback_races.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from . import harness
from .flows import HOLD

THREADS = 12
NAMES = harness.scaled(8, minimum=8)
RACES = harness.scaled(40, minimum=40)
TERMINAL_STATUS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def stop(api, execution_id):
    return api.call("POST", f"/api/v1/executions/{execution_id}/stop/", {"cause": "race"})[0]


ACTIONS = {"stop": stop}


def simultaneously(calls):
    """Run the calls in threads released together by a barrier; return their results."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait(10)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def duplicate_starts(cluster):
    """For each name: THREADS identical starts at once, then THREADS starts with THREADS
    different inputs at once (a second name). Returns the status codes and ids seen."""
    path = f"/api/v1/flows/{harness.FLOW}/executions/"
    same, different = {}, {}
    for n in range(NAMES):
        # The task holds for a few seconds: "same input" returns the execution only while
        # it is open (a closed one is a 409, checked separately).
        until = time.time() + 4
        body = {"name": f"same-{n}", "input": {"n": n, "until": until}}
        same[n] = simultaneously([lambda b=body: cluster.api.call("POST", path, b)] * THREADS)
        calls = [
            lambda k=k, n=n, until=until: cluster.api.call(
                "POST", path, {"name": f"diff-{n}", "input": {"n": k, "until": until}}
            )
            for k in range(THREADS)
        ]
        different[n] = simultaneously(calls)
    return same, different


def rows_per_name(cluster):
    return Counter(
        dict(cluster.sql("SELECT name, count(*) FROM workflows_execution GROUP BY name"))
    )


def stop_races(cluster, rng):
    """Start RACES executions whose task finishes at a known moment; at that moment send
    two stops at once. Returns the stop responses per execution id."""
    path = f"/api/v1/flows/{harness.FLOW}/executions/"
    base = time.time() + 4
    plan = []
    for i in range(RACES):
        until = base + i * 0.15
        status, body = cluster.api.call(
            "POST", path, {"name": f"race-{i}", "input": {"until": until, "tag": i}}
        )
        assert status == 201, body
        plan.append((until + rng.uniform(-0.12, 0.0), body["id"]))
    responses = {}
    for at, execution_id in plan:
        time.sleep(max(0.0, at - time.time()))
        responses[execution_id] = simultaneously(
            [lambda e=execution_id: ACTIONS["stop"](cluster.api, e)] * 2
        )
    cluster.wait_quiet(60)
    return responses


def race_violations(cluster, ids):
    """Executions whose history is not one clean ending: more than one terminal event, an
    event after it, a status that disagrees with it, or a step left unfinished."""
    bad = []
    for execution_id in ids:
        status = cluster.sql(
            "SELECT status FROM workflows_execution WHERE id = %s", (execution_id,)
        )[0][0]
        events = [
            r[0]
            for r in cluster.sql(
                "SELECT type FROM workflows_event WHERE execution_id = %s ORDER BY seq, id",
                (execution_id,),
            )
        ]
        seqs = [
            r[0]
            for r in cluster.sql(
                "SELECT seq FROM workflows_event WHERE execution_id = %s ORDER BY seq",
                (execution_id,),
            )
        ]
        terminal = [e for e in events if e in TERMINAL_STATUS]
        open_attempts = cluster.sql(
            "SELECT count(*) FROM workflows_taskattempt WHERE execution_id = %s"
            " AND status IN ('SCHEDULED', 'RUNNING')",
            (execution_id,),
        )[0][0]
        if (
            len(terminal) != 1
            or events[-1] != terminal[0]
            or TERMINAL_STATUS[terminal[0]] != status
            or seqs != list(range(1, len(seqs) + 1))
            or open_attempts
        ):
            bad.append(execution_id)
    return bad


def leftovers(cluster):
    rows = harness.Rows(cluster.url)
    try:
        return harness.stuck(rows)
    finally:
        rows.close()


@pytest.fixture(scope="module")
def races(fault_template, tmp_path_factory):
    rng = random.Random(4)
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("races")) as cluster:
        cluster.create_flow(HOLD)
        same, different = duplicate_starts(cluster)
        per_name = rows_per_name(cluster)
        cluster.wait_quiet(30)
        first = same[0][0][1]
        after_close = cluster.api.call(
            "POST",
            f"/api/v1/flows/{harness.FLOW}/executions/",
            {"name": "same-0", "input": first["input"]},
        )
        responses = stop_races(cluster, rng)
        outcome = Counter(
            r[0]
            for r in cluster.sql("SELECT status FROM workflows_execution WHERE name LIKE 'race-%%'")
        )
        result = {
            "same": same,
            "different": different,
            "per_name": per_name,
            "after_close": after_close,
            "responses": responses,
            "violations": race_violations(cluster, list(responses)),
            "statuses": dict(
                cluster.sql(
                    "SELECT id::text, status FROM workflows_execution WHERE name LIKE 'race-%%'"
                )
            ),
            "stuck": leftovers(cluster),
        }
        codes = Counter(c for calls in responses.values() for c in calls)
        harness.report(
            "operator-races",
            duplicate_start_calls=NAMES * THREADS * 2,
            executions_per_name=max(per_name.values()),
            duplicates_prevented=NAMES * THREADS * 2 - 2 * NAMES,
            stop_races=RACES,
            race_outcomes=dict(outcome),
            stop_responses={str(k): v for k, v in codes.items()},
            violations=len(result["violations"]),
        )
    return result


def test_identical_concurrent_starts_create_one_execution_and_return_it_to_everyone(races):
    for calls in races["same"].values():
        assert sorted(status for status, _ in calls) == [200] * (THREADS - 1) + [201]
        assert len({body["id"] for _, body in calls}) == 1


def test_concurrent_starts_with_different_inputs_conflict_except_one(races):
    for calls in races["different"].values():
        assert sorted(status for status, _ in calls) == [201] + [409] * (THREADS - 1)


def test_each_name_has_exactly_one_execution(races):
    assert set(races["per_name"].values()) == {1}


def test_restarting_a_closed_execution_by_name_is_refused(races):
    assert races["after_close"][0] == 409


def test_stop_racing_stop_and_completion_ends_each_execution_exactly_once(races):
    assert races["violations"] == []


def test_stop_races_answer_with_the_state_or_a_conflict_never_an_error(races):
    codes = {c for calls in races["responses"].values() for c in calls}
    assert codes <= {200, 409}


def test_only_the_stop_that_aborted_an_execution_is_answered_200(races):
    for execution_id, codes in races["responses"].items():
        aborted = races["statuses"][str(execution_id)] == "ABORTED"
        assert codes.count(200) == (1 if aborted else 0), (execution_id, codes)


def test_nothing_is_left_stuck_after_operator_races(races):
    assert races["stuck"] == []


# --- negative controls ----------------------------------------------------------------


@pytest.fixture(scope="module")
def unconstrained_starts(fault_template, tmp_path_factory):
    """Identical concurrent starts with UNIQUE(flow, name) dropped: the constraint is what
    turns the losers of the race into "return the existing execution"."""
    with harness.Cluster(fault_template, tmp_path_factory.mktemp("races-nounique")) as cluster:
        cluster.create_flow(HOLD)
        cluster.sql(
            "ALTER TABLE workflows_execution DROP CONSTRAINT IF EXISTS execution_unique_name"
        )
        duplicate_starts(cluster)
        per_name = rows_per_name(cluster)
        harness.report(
            "operator-races/control:no-unique-name", executions_per_name=max(per_name.values())
        )
    return per_name


def test_without_the_unique_name_constraint_duplicate_starts_create_duplicates(
    unconstrained_starts,
):
    assert max(unconstrained_starts.values()) > 1


@pytest.fixture(scope="module")
def unlocked_races(fault_template, tmp_path_factory):
    """The stop races with the row lock and fencing off and UNIQUE(execution, seq) dropped."""
    rng = random.Random(5)
    with harness.Cluster(
        fault_template, tmp_path_factory.mktemp("races-unlocked"), unsafe=["row_lock", "fencing"]
    ) as cluster:
        cluster.create_flow(HOLD)
        cluster.sql("ALTER TABLE workflows_event DROP CONSTRAINT IF EXISTS event_unique_seq")
        responses = stop_races(cluster, rng)
        violations = race_violations(cluster, list(responses))
        harness.report(
            "operator-races/control:row_lock+fencing+no-unique-seq",
            stop_races=RACES,
            violations=len(violations),
        )
    return violations


def test_without_row_lock_fencing_and_unique_seq_a_stop_race_ends_an_execution_twice(
    unlocked_races,
):
    assert unlocked_races
