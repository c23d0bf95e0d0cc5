from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import services, tasks
from workflows.models import Event, Execution, TaskAttempt, Timer

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db(transaction=True)


def seqs(execution):
    return list(Event.objects.filter(execution=execution).values_list("seq", flat=True))


def deliver(broker):
    for attempt_id in broker.take():
        tasks.run_attempt(attempt_id)


def test_starting_an_execution_records_history_and_publishes_the_first_attempt(make_flow, broker):
    execution, created = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    assert created
    assert [e.type for e in execution.events.order_by("seq")] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
    ]
    assert broker.published == [TaskAttempt.objects.get(execution=execution).pk]


def test_a_delivered_attempt_runs_and_advances_the_execution(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    deliver(broker)
    execution.refresh_from_db()
    assert execution.events.order_by("-seq").first().type == "WaitStateEntered"
    assert TaskAttempt.objects.get(execution=execution).status == "SUCCEEDED"


def test_a_duplicate_delivery_of_an_attempt_does_nothing(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    [attempt_id] = broker.take()
    tasks.run_attempt(attempt_id)
    before = seqs(execution)
    tasks.run_attempt(attempt_id)
    assert seqs(execution) == before


def test_a_completion_with_a_stale_claim_is_ignored(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    [attempt_id] = broker.take()
    first = services.claim_attempt(attempt_id, "worker-a")
    TaskAttempt.objects.filter(pk=attempt_id).update(lease_until=timezone.now() - timedelta(1))
    services.sweep()  # the lease ran out: the attempt goes back to SCHEDULED
    second = services.claim_attempt(attempt_id, "worker-b")
    assert not services.complete_attempt(attempt_id, first.claim, output={"from": "a"})
    assert services.complete_attempt(attempt_id, second.claim, output={"from": "b"})
    assert TaskAttempt.objects.get(pk=attempt_id).output == {"from": "b"}


def test_a_claim_records_task_started_without_rewriting_the_snapshot(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    Execution.objects.filter(pk=execution.pk).update(snapshot={**execution.snapshot, "mark": 1})
    services.claim_attempt(attempt_id, "w")
    last = Event.objects.filter(execution=execution).order_by("-seq").first()
    assert (last.type, last.state, last.status) == ("TaskStarted", "Work", "running")
    assert Execution.objects.get(pk=execution.pk).snapshot["mark"] == 1


def test_a_second_claim_of_the_same_attempt_records_nothing(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, "w")
    before = seqs(execution)
    assert services.claim_attempt(attempt_id, "w2") is None
    assert seqs(execution) == before


def test_an_attempt_scheduled_before_task_started_was_prepared_still_records_it(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    TaskAttempt.objects.filter(pk=attempt_id).update(started=None)
    services.claim_attempt(attempt_id, "w")
    last = Event.objects.filter(execution=execution).order_by("-seq").first()
    assert last.type == "TaskStarted"


def test_event_sequence_numbers_are_consecutive_from_one(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    deliver(broker)
    numbers = seqs(execution)
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_due_timer_fires_exactly_once_however_often_it_is_swept(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    deliver(broker)
    Timer.objects.filter(execution=execution).update(fire_at=timezone.now())
    services.sweep()
    services.sweep()
    timer = Timer.objects.get(execution=execution)
    assert services.fire_timer(timer.pk) is False
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert [e.type for e in execution.events.all()].count("WaitStateExited") == 1


def test_a_timer_that_is_not_due_does_not_fire(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    deliver(broker)
    timer = Timer.objects.get(execution=execution)
    assert services.fire_timer(timer.pk) is False
    assert Execution.objects.get(pk=execution.pk).status == "RUNNING"


def test_the_sweeper_republishes_an_attempt_nobody_claimed(make_flow, broker, settings):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    broker.take()  # the first publish was lost (a flushed broker)
    TaskAttempt.objects.filter(execution=execution).update(
        published_at=timezone.now() - timedelta(minutes=5)
    )
    report = services.sweep()
    assert report.republished == 1
    assert len(broker.published) == 1


def test_the_sweeper_reclaims_an_attempt_whose_worker_died(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, "doomed-worker")
    TaskAttempt.objects.filter(pk=attempt_id).update(lease_until=timezone.now() - timedelta(1))
    assert services.sweep().reclaimed == 1
    deliver(broker)
    assert TaskAttempt.objects.get(pk=attempt_id).claims == 2


def test_a_stopped_execution_ignores_a_late_task_result(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    claim = services.claim_attempt(attempt_id, "w")
    services.stop_execution(execution.pk, "Op.Stop", "test")
    assert not services.complete_attempt(attempt_id, claim.claim, output={})
    execution.refresh_from_db()
    assert execution.status == "ABORTED"
    assert TaskAttempt.objects.get(pk=attempt_id).status == "CANCELLED"


def test_starting_again_with_the_same_name_and_input_returns_the_open_execution(make_flow, broker):
    flow = make_flow(TASK_FLOW)
    first, _ = services.start_execution(flow, {"a": 1}, name="nightly")
    second, created = services.start_execution(flow, {"a": 1}, name="nightly")
    assert (second.pk, created) == (first.pk, False)


def test_reusing_a_name_with_a_different_input_is_refused(make_flow, broker):
    flow = make_flow(TASK_FLOW)
    services.start_execution(flow, {"a": 1}, name="nightly")
    with pytest.raises(services.ExecutionAlreadyExists):
        services.start_execution(flow, {"a": 2}, name="nightly")


def test_an_input_over_the_payload_limit_is_refused_before_anything_is_written(
    make_flow, broker, settings
):
    settings.LEGATO = {**settings.LEGATO, "MAX_PAYLOAD_BYTES": 100}
    flow = make_flow(TASK_FLOW)
    with pytest.raises(services.PayloadTooLarge):
        services.start_execution(flow, {"blob": "x" * 200})
    assert not Execution.objects.exists()


def test_an_invalid_definition_is_refused_with_its_diagnostics(db):
    with pytest.raises(services.DefinitionInvalid) as info:
        services.create_flow("bad", {"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}})
    assert {d["rule"] for d in info.value.details} >= {"START_AT_NOT_FOUND"}


def test_saving_a_flow_again_creates_a_new_immutable_version(make_flow):
    flow = make_flow(TASK_FLOW)
    version = services.save_flow_version(
        flow, {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    )
    assert version.number == 2
    assert flow.versions.get(number=1).definition == TASK_FLOW


def test_an_execution_keeps_running_the_version_it_started_with(make_flow, broker):
    flow = make_flow(TASK_FLOW)
    execution, _ = services.start_execution(flow, {})
    services.save_flow_version(flow, {"StartAt": "A", "States": {"A": {"Type": "Fail"}}})
    deliver(broker)
    Timer.objects.filter(execution=execution).update(fire_at=timezone.now())
    services.sweep()
    execution.refresh_from_db()
    assert (execution.status, execution.version.number) == ("SUCCEEDED", 1)


def test_events_are_broadcast_only_after_commit(make_flow, broker, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "workflows.broadcast.events_recorded",
        lambda eid, events, summary: sent.append([e["seq"] for e in events]),
    )
    services.start_execution(make_flow(TASK_FLOW), {})
    assert sent == [[1, 2, 3]]


def test_a_failing_handler_fails_the_attempt_with_its_error_name(make_flow, broker):
    flow = make_flow(
        {
            "StartAt": "F",
            "States": {
                "F": {
                    "Type": "Task",
                    "Resource": "builtin:fail",
                    "Parameters": {"error": "Custom.Oops", "cause": "as asked"},
                    "End": True,
                }
            },
        }
    )
    execution, _ = services.start_execution(flow, {})
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error, execution.cause) == (
        "FAILED",
        "Custom.Oops",
        "as asked",
    )


def test_a_runtime_cause_names_the_history_event_that_entered_the_state(make_flow, broker):
    # The claim records TaskStarted without the interpreter; the id must still be right.
    flow = make_flow(
        {
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Task", "Resource": "builtin:echo", "Next": "Shape"},
                "Shape": {"Type": "Pass", "Parameters": {"v.$": "$.missing"}, "End": True},
            },
        }
    )
    execution, _ = services.start_execution(flow, {})
    deliver(broker)
    execution.refresh_from_db()
    entered = execution.events.get(type="PassStateEntered")
    assert entered.seq == 7
    assert (execution.status, execution.error, execution.cause) == (
        "FAILED",
        "States.Runtime",
        "An error occurred while executing the state 'Shape' (entered at the event id #7). "
        "The JSONPath '$.missing' specified for the field 'v.$' could not be found in the "
        "input '{}'",
    )


def test_an_unknown_resource_fails_the_task_with_a_clear_error(make_flow, broker):
    flow = make_flow(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "builtin:nope", "End": True}}}
    )
    execution, _ = services.start_execution(flow, {})
    deliver(broker)
    execution.refresh_from_db()
    assert execution.error == "Legato.ResourceNotFound"


def test_embedded_mode_publishes_every_queue_to_its_single_worker(make_flow, monkeypatch, settings):
    from workflows import dispatch
    from workflows.tasks import run_attempt

    sent = []
    monkeypatch.setattr(run_attempt, "apply_async", lambda **kw: sent.append(kw["queue"]))
    settings.EMBEDDED = True
    dispatch.publish_attempts([(1, "highmem")])
    settings.EMBEDDED = False
    dispatch.publish_attempts([(2, "highmem")])
    assert sent == ["legato", "highmem"]


def test_an_execution_whose_history_passes_the_limit_fails(make_flow, broker, settings):
    settings.LEGATO = {**settings.LEGATO, "MAX_HISTORY_EVENTS": 5}
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "Legato.HistoryLimitExceeded")


def test_a_map_over_more_items_than_allowed_fails(make_flow, broker, settings):
    settings.LEGATO = {**settings.LEGATO, "MAX_MAP_ITEMS": 2}
    flow = make_flow(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            },
        }
    )
    execution, _ = services.start_execution(flow, [1, 2, 3])
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")


def test_a_redelivery_reclaims_at_once_an_attempt_whose_process_on_this_host_died(
    make_flow, broker
):
    import socket

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, f"{socket.gethostname()}:999999999/1")
    assert services.claim_attempt(attempt_id, services.worker_name()) is not None


def test_the_sweeper_reclaims_at_once_an_attempt_whose_process_on_this_host_is_gone(
    make_flow, broker
):
    import socket

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, f"{socket.gethostname()}:999999999/1")
    assert services.sweep().reclaimed == 1
    assert TaskAttempt.objects.get(pk=attempt_id).status == "SCHEDULED"
    assert broker.take() == [attempt_id]


def test_the_sweeper_leaves_a_live_claim_to_its_lease(make_flow, broker):
    import os
    import socket

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, f"{socket.gethostname()}:{os.getppid()}/1")
    assert services.sweep().reclaimed == 0
    assert TaskAttempt.objects.get(pk=attempt_id).status == "RUNNING"


def test_a_redelivery_leaves_alone_an_attempt_whose_process_is_alive(make_flow, broker):
    import os
    import socket

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    services.claim_attempt(attempt_id, f"{socket.gethostname()}:{os.getppid()}/1")
    assert services.claim_attempt(attempt_id, services.worker_name()) is None
