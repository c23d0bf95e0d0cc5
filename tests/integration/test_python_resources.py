import pytest

from workflows import services, tasks
from workflows.models import StepLog, TaskAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def one_task(resource, **extra):
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **extra}},
    }


def run(make_flow, broker, definition, payload):
    execution, _ = services.start_execution(make_flow(definition), payload)
    for attempt_id in broker.take():
        tasks.run_attempt(attempt_id)
    execution.refresh_from_db()
    return execution


def test_a_python_resource_runs_a_function_from_an_allowed_module(make_flow, broker):
    execution = run(
        make_flow,
        broker,
        one_task("python:examples.tasks.charge_card"),
        {"order": {"id": "o1", "total": 5, "card": "visa"}},
    )
    assert execution.status == "SUCCEEDED"
    assert execution.output["charged"] == 5


def test_a_python_handler_error_becomes_a_catchable_error_name(make_flow, broker):
    execution = run(
        make_flow,
        broker,
        one_task("python:examples.tasks.charge_card"),
        {"order": {"card": "declined"}},
    )
    assert (execution.status, execution.error) == ("FAILED", "Payment.Declined")


def test_a_module_outside_the_allow_list_is_refused(make_flow, broker):
    execution = run(make_flow, broker, one_task("python:os.system"), "echo pwned")
    assert execution.error == "Legato.ResourceNotAllowed"


def test_a_decorated_handler_runs_under_its_registered_name(make_flow, broker):
    execution = run(
        make_flow,
        broker,
        one_task("python:media.transcode"),
        {"rendition": "720p", "steps": 2, "step_seconds": 0},
    )
    assert execution.output == {"rendition": "720p", "bytes": 2_000_000}


def test_what_a_handler_logs_is_stored_with_its_attempt(make_flow, broker):
    execution = run(
        make_flow,
        broker,
        one_task("python:media.transcode"),
        {"rendition": "720p", "steps": 2, "step_seconds": 0},
    )
    attempt = TaskAttempt.objects.get(execution=execution)
    assert list(StepLog.objects.filter(attempt=attempt).values_list("message", flat=True)) == [
        "720p: 50% done",
        "720p: 100% done",
    ]


def test_the_handler_gets_a_stable_idempotency_key(make_flow, broker):
    execution = run(
        make_flow,
        broker,
        one_task("python:examples.tasks.charge_card"),
        {"order": {"card": "visa"}},
    )
    attempt = TaskAttempt.objects.get(execution=execution)
    assert execution.output["receipt"] == f"rcpt-{attempt.idempotency_key[-8:]}"


def test_a_heartbeat_moves_the_heartbeat_deadline(make_flow, broker):
    from workflows.models import Timer

    definition = one_task("python:media.transcode", HeartbeatSeconds=5, TimeoutSeconds=60)
    execution, _ = services.start_execution(make_flow(definition), {"steps": 1})
    [attempt_id] = broker.take()
    claim = services.claim_attempt(attempt_id, "w")
    before = set(
        Timer.objects.filter(execution=execution, kind="heartbeat_timeout").values_list(
            "key", flat=True
        )
    )
    services.heartbeat_attempt(attempt_id, claim.claim)
    after = set(
        Timer.objects.filter(execution=execution, kind="heartbeat_timeout").values_list(
            "key", flat=True
        )
    )
    assert len(after - before) == 1


def test_the_states_endpoint_lists_attempts_with_their_logs(make_flow, broker, api):
    execution = run(
        make_flow,
        broker,
        one_task("python:media.transcode"),
        {"rendition": "720p", "steps": 1, "step_seconds": 0},
    )
    [attempt] = api.get(f"/api/v1/executions/{execution.pk}/states/").json()["results"]
    assert (attempt["state"], attempt["status"]) == ("T", "SUCCEEDED")
    assert [line["message"] for line in attempt["logs"]] == ["720p: 100% done"]
