"""A worker that completes a step runs the execution's next step itself (no broker trip)."""

import socket
from collections import Counter

import pytest

from workflows import services, tasks
from workflows.models import Event, Execution, TaskAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def echo(**extra):
    return {"Type": "Task", "Resource": "builtin:echo", **extra}


CHAIN = {
    "StartAt": "A",
    "States": {"A": echo(Next="B"), "B": echo(Next="C"), "C": echo(End=True)},
}
FAN_OUT = {
    "StartAt": "T",
    "States": {
        "T": echo(Next="P"),
        "P": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "X", "States": {"X": echo(End=True)}},
                {"StartAt": "Y", "States": {"Y": echo(End=True)}},
            ],
        },
    },
}
ROUTED = {
    "StartAt": "A",
    "States": {"A": echo(Next="B"), "B": echo(End=True, Queue="highmem")},
}


def first_claim(make_flow, broker, definition, worker="w"):
    execution, _ = services.start_execution(make_flow(definition), {"n": 1})
    [attempt_id] = broker.take()
    return execution, services.claim_attempt(attempt_id, worker)


def test_a_delivered_chain_runs_to_its_end_from_one_broker_message(make_flow, broker):
    execution, _ = services.start_execution(make_flow(CHAIN), {"n": 1})
    [attempt_id] = broker.take()
    tasks.run_attempt(attempt_id)
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"n": 1})
    assert broker.take() == []


def test_every_continued_step_records_task_started_exactly_once(make_flow, broker):
    execution, _ = services.start_execution(make_flow(CHAIN), {"n": 1})
    tasks.run_attempt(broker.take()[0])
    started = Counter(
        Event.objects.filter(execution=execution, type="TaskStarted").values_list(
            "state", flat=True
        )
    )
    assert started == {"A": 1, "B": 1, "C": 1}


def test_a_continued_history_has_consecutive_sequence_numbers(make_flow, broker):
    execution, _ = services.start_execution(make_flow(CHAIN), {"n": 1})
    tasks.run_attempt(broker.take()[0])
    seqs = list(
        Event.objects.filter(execution=execution).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_completion_hands_the_worker_the_next_attempt_already_claimed(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, CHAIN)
    following = services.complete_and_continue(claim, "w", None, output={"n": 1})
    row = TaskAttempt.objects.get(pk=following.attempt_id)
    assert (row.state, row.status, row.claim, row.claimed_by, row.claims) == (
        "B", "RUNNING", following.claim, "w", 1,
    )  # fmt: skip
    assert broker.take() == []


def test_a_taken_over_attempt_records_task_started_in_the_completing_transition(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, CHAIN)
    services.complete_and_continue(claim, "w", None, output={"n": 1})
    last = Event.objects.filter(execution=execution).order_by("-seq").first()
    assert (last.type, last.state) == ("TaskStarted", "B")


def test_a_taken_over_attempt_keeps_its_stable_idempotency_key(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, CHAIN)
    following = services.complete_and_continue(claim, "w", None, output={"n": 1})
    assert (
        following.idempotency_key
        == TaskAttempt.objects.get(pk=following.attempt_id).idempotency_key
    )
    assert following.idempotency_key.startswith(f"{execution.pk}:")


def test_a_fan_out_takes_over_one_branch_and_publishes_the_other(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, FAN_OUT)
    following = services.complete_and_continue(claim, "w", None, output={})
    [published] = broker.take()
    assert following is not None and published != following.attempt_id


def test_a_step_routed_to_another_queue_is_published_not_taken_over(make_flow, broker, settings):
    settings.EMBEDDED = False
    execution, claim = first_claim(make_flow, broker, ROUTED)
    assert services.complete_and_continue(claim, "w", "legato", output={}) is None
    assert len(broker.take()) == 1


def test_a_step_on_the_worker_s_own_queue_is_taken_over_outside_embedded_mode(
    make_flow, broker, settings
):
    settings.EMBEDDED = False
    execution, claim = first_claim(make_flow, broker, ROUTED)
    assert services.complete_and_continue(claim, "w", "highmem", output={}) is not None


def test_a_stale_completion_takes_over_nothing(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, CHAIN)
    services.stop_execution(execution.pk, "Stopped", "by a test")
    assert services.complete_and_continue(claim, "w", None, output={}) is None
    assert not TaskAttempt.objects.filter(execution=execution, state="B").exists()


def test_a_completion_that_ends_the_execution_takes_over_nothing(make_flow, broker):
    definition = {"StartAt": "A", "States": {"A": echo(End=True)}}
    execution, claim = first_claim(make_flow, broker, definition)
    assert services.complete_and_continue(claim, "w", None, output={}) is None
    assert Execution.objects.get(pk=execution.pk).status == "SUCCEEDED"


def test_with_continuation_off_every_step_goes_through_the_broker(make_flow, broker, settings):
    settings.LEGATO = {**settings.LEGATO, "CONTINUE_SECONDS": 0}
    execution, _ = services.start_execution(make_flow(CHAIN), {"n": 1})
    tasks.run_attempt(broker.take()[0])
    [published] = broker.take()
    assert TaskAttempt.objects.get(pk=published).state == "B"


def test_a_taken_over_attempt_whose_process_died_is_reclaimed_by_the_sweeper(make_flow, broker):
    dead = f"{socket.gethostname()}:999999999/1"
    execution, claim = first_claim(make_flow, broker, CHAIN, worker=dead)
    following = services.complete_and_continue(claim, dead, None, output={})
    assert services.sweep().reclaimed == 1
    assert broker.take() == [following.attempt_id]


def test_a_redelivery_takes_over_at_once_the_attempt_a_dead_worker_continued_to(make_flow, broker):
    dead = f"{socket.gethostname()}:999999999/1"
    execution, claim = first_claim(make_flow, broker, CHAIN, worker=dead)
    following = services.complete_and_continue(claim, dead, None, output={})
    taken = services.claim_orphan(claim.attempt_id, "w", None)
    assert taken is not None and taken.attempt_id == following.attempt_id


def test_a_redelivery_leaves_alone_an_attempt_whose_worker_is_alive(make_flow, broker):
    execution, claim = first_claim(make_flow, broker, CHAIN, worker=services.worker_name())
    services.complete_and_continue(claim, services.worker_name(), None, output={})
    assert services.claim_orphan(claim.attempt_id, "w", None) is None


def test_a_retry_after_an_unseen_commit_continues_with_the_attempt_that_commit_took_over(
    make_flow, broker
):
    import uuid

    execution, claim = first_claim(make_flow, broker, CHAIN)
    token = uuid.uuid4()
    first = services.complete_and_continue(claim, "w", None, output={}, token=token)
    again = services.complete_and_continue(claim, "w", None, output={}, token=token)
    assert (again.attempt_id, again.claim) == (first.attempt_id, token)


def test_a_redelivery_never_takes_over_an_activity_task(make_flow, broker):
    definition = {
        "StartAt": "A",
        "States": {
            "A": echo(Next="B"),
            "B": {"Type": "Task", "Resource": "activity:x", "End": True},
        },
    }
    dead = f"{socket.gethostname()}:999999999/1"
    execution, claim = first_claim(make_flow, broker, definition)
    services.complete_attempt(claim.attempt_id, claim.claim, output={})
    activity = TaskAttempt.objects.get(execution=execution, state="B")
    TaskAttempt.objects.filter(pk=activity.pk).update(status="RUNNING", claimed_by=dead)
    assert services.claim_orphan(claim.attempt_id, "w", None) is None
