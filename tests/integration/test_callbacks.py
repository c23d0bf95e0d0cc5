"""Callback tasks: .waitForTaskToken, activities, and child executions (flow:)."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from workflows import services, tasks
from workflows.models import Execution, TaskAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(broker):
    while published := broker.take():
        for attempt_id in published:
            tasks.run_attempt(attempt_id)


def approval_flow(**extra):
    return {
        "StartAt": "Approve",
        "States": {
            "Approve": {
                "Type": "Task",
                "Resource": "builtin:echo.waitForTaskToken",
                "Parameters": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                "End": True,
                **extra,
            }
        },
    }


def test_a_wait_for_task_token_task_waits_after_its_handler_returns(make_flow, broker):
    execution, _ = services.start_execution(make_flow(approval_flow()), {"order": 7})
    deliver(broker)
    execution.refresh_from_db()
    attempt = TaskAttempt.objects.get(execution=execution)
    assert (execution.status, attempt.status) == ("RUNNING", "WAITING")
    assert attempt.output["token"] == attempt.token
    assert "TaskSubmitted" in [e.type for e in execution.events.all()]


def test_completing_the_token_succeeds_the_task_with_the_given_output(make_flow, broker, api):
    execution, _ = services.start_execution(make_flow(approval_flow()), {"order": 7})
    deliver(broker)
    token = TaskAttempt.objects.get(execution=execution).token
    response = api.post(
        f"/api/v1/task-tokens/{token}/success/", {"output": {"ok": True}}, format="json"
    )
    execution.refresh_from_db()
    assert response.status_code == 200
    assert (execution.status, execution.output) == ("SUCCEEDED", {"ok": True})


def test_failing_the_token_fails_the_task_with_the_given_error(make_flow, broker, api):
    execution, _ = services.start_execution(make_flow(approval_flow()), {"order": 7})
    deliver(broker)
    token = TaskAttempt.objects.get(execution=execution).token
    api.post(
        f"/api/v1/task-tokens/{token}/failure/",
        {"error": "Approval.Rejected", "cause": "no"},
        format="json",
    )
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "Approval.Rejected")


def test_a_token_completes_only_once(make_flow, broker, api):
    execution, _ = services.start_execution(make_flow(approval_flow()), {"order": 7})
    deliver(broker)
    token = TaskAttempt.objects.get(execution=execution).token
    api.post(f"/api/v1/task-tokens/{token}/success/", {"output": 1}, format="json")
    again = api.post(f"/api/v1/task-tokens/{token}/success/", {"output": 2}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "TaskTimedOut"


def test_an_unknown_token_is_a_404(api):
    response = api.post("/api/v1/task-tokens/nope/success/", {"output": 1}, format="json")
    assert response.status_code == 404


def test_a_token_of_a_stopped_execution_is_refused(make_flow, broker, api):
    execution, _ = services.start_execution(make_flow(approval_flow()), {"order": 7})
    deliver(broker)
    token = TaskAttempt.objects.get(execution=execution).token
    services.stop_execution(execution.pk)
    response = api.post(f"/api/v1/task-tokens/{token}/success/", {"output": 1}, format="json")
    assert response.status_code == 409


def test_a_token_heartbeat_keeps_a_heartbeat_task_alive(make_flow, broker, api):
    from workflows.models import Timer

    definition = approval_flow(HeartbeatSeconds=60)
    execution, _ = services.start_execution(make_flow(definition), {"order": 7})
    deliver(broker)
    token = TaskAttempt.objects.get(execution=execution).token
    before = Timer.objects.filter(execution=execution, kind="heartbeat_timeout").count()
    assert api.post(f"/api/v1/task-tokens/{token}/heartbeat/").status_code == 200
    after = Timer.objects.filter(execution=execution, kind="heartbeat_timeout").count()
    assert after == before + 1


ACTIVITY = {
    "StartAt": "Review",
    "States": {"Review": {"Type": "Task", "Resource": "activity:review", "End": True}},
}


def poll(token_key, path, method="post"):
    async def go():
        client = AsyncClient()
        return await getattr(client, method)(path, headers={"Authorization": f"Token {token_key}"})

    return async_to_sync(go)()


def test_an_activity_task_is_handed_to_a_polling_worker(make_flow, broker, user):
    from workflows.tokens import issue_token

    execution, _ = services.start_execution(make_flow(ACTIVITY), {"doc": "a.pdf"})
    assert broker.published == []  # nothing for Celery: external workers poll
    key = issue_token(user)
    response = poll(key, "/api/v1/activities/review/poll?wait=0")
    body = json.loads(response.content)
    assert body["input"] == {"doc": "a.pdf"}
    services.complete_token(body["taskToken"], output={"approved": True})
    execution.refresh_from_db()
    assert execution.output == {"approved": True}


def test_polling_an_idle_activity_answers_204(user):
    from workflows.tokens import issue_token

    key = issue_token(user)
    assert poll(key, "/api/v1/activities/nothing/poll?wait=0").status_code == 204


def test_polling_without_credentials_is_a_401(db):
    async def go():
        return await AsyncClient().post("/api/v1/activities/review/poll?wait=0")

    assert async_to_sync(go)().status_code == 401


def test_a_get_on_the_activity_poll_claims_no_task(make_flow, broker, user):
    """A claim changes state: a link followed by an operator must not take the work away."""
    from workflows.tokens import issue_token

    execution, _ = services.start_execution(make_flow(ACTIVITY), {"doc": "a.pdf"})
    key = issue_token(user)
    response = poll(key, "/api/v1/activities/review/poll?wait=0", method="get")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert TaskAttempt.objects.get(execution=execution).status == TaskAttempt.Status.SCHEDULED


def test_a_browser_session_polls_only_with_a_csrf_token(make_flow, broker, user):
    from django.test import Client

    services.start_execution(make_flow(ACTIVITY), {"doc": "a.pdf"})
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    refused = client.post("/api/v1/activities/review/poll?wait=0")
    assert refused.status_code == 403
    client.get("/account/token/")  # any page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    taken = client.post("/api/v1/activities/review/poll?wait=0", headers={"X-CSRFToken": csrf})
    assert taken.status_code == 200


CHILD = {
    "StartAt": "Double",
    "States": {
        "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": True}
    },
}
FAILING_CHILD = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "Child.Broke", "Cause": "on purpose"}},
}


def parent(resource):
    return {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "End": True}},
    }


def test_a_sync_child_execution_returns_its_output_to_the_parent(make_flow, broker):
    make_flow(CHILD, name="doubler")
    execution, _ = services.start_execution(
        make_flow(parent("flow:doubler.sync"), name="caller"), {"n": 21}
    )
    deliver(broker)
    services.sweep()  # in tests the after-commit notification has no broker to go to
    execution.refresh_from_db()
    child = Execution.objects.get(parent=execution)
    assert (child.status, execution.status, execution.output) == (
        "SUCCEEDED",
        "SUCCEEDED",
        {"n": 42},
    )


def test_a_failing_sync_child_fails_the_parent_task_with_its_error(make_flow, broker):
    make_flow(FAILING_CHILD, name="breaker")
    execution, _ = services.start_execution(
        make_flow(parent("flow:breaker.sync"), name="caller"), {}
    )
    deliver(broker)
    services.sweep()
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "Child.Broke")


def test_an_async_child_execution_lets_the_parent_go_on_at_once(make_flow, broker):
    make_flow(CHILD, name="doubler")
    execution, _ = services.start_execution(
        make_flow(parent("flow:doubler"), name="caller"), {"n": 1}
    )
    deliver(broker)
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output["ExecutionId"] == str(Execution.objects.get(parent=execution).pk)


def test_a_redelivered_flow_task_does_not_start_a_second_child(make_flow, broker):
    from workflows.services.callbacks import start_child_execution

    make_flow(CHILD, name="doubler")
    caller = make_flow(parent("flow:doubler.sync"), name="caller")
    execution, _ = services.start_execution(caller, {"n": 1})
    first = start_child_execution(str(execution.pk), "doubler", {"n": 1}, "key-1", None)
    second = start_child_execution(str(execution.pk), "doubler", {"n": 1}, "key-1", None)
    assert first.pk == second.pk


DISTRIBUTED = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "End": True,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "builtin:echo",
                        "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                        "End": True,
                    }
                },
            },
        }
    },
}


def run_everything(broker):
    for _ in range(50):
        deliver(broker)
        services.sweep()
        if not broker.published:
            return


def test_a_distributed_map_runs_each_item_as_a_child_execution(make_flow, broker):
    execution, _ = services.start_execution(
        make_flow(DISTRIBUTED), {"items": [{"n": 1}, {"n": 2}, {"n": 3}]}
    )
    run_everything(broker)
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == [{"doubled": 2}, {"doubled": 4}, {"doubled": 6}]
    assert Execution.objects.filter(parent=execution).count() == 3


def test_distributed_map_children_run_only_the_processor(make_flow, broker):
    execution, _ = services.start_execution(make_flow(DISTRIBUTED), {"items": [{"n": 5}]})
    run_everything(broker)
    child = Execution.objects.get(parent=execution)
    assert [e.state for e in child.events.all() if e.state] == ["Work"] * len(
        [e for e in child.events.all() if e.state]
    )


def test_stopping_a_distributed_map_stops_its_running_children(make_flow, broker):
    execution, _ = services.start_execution(make_flow(DISTRIBUTED), {"items": [{"n": 1}, {"n": 2}]})
    for attempt_id in broker.take():  # start the children, but do not run their tasks
        tasks.run_attempt(attempt_id)
    broker.take()
    services.stop_execution(execution.pk)
    statuses = set(Execution.objects.filter(parent=execution).values_list("status", flat=True))
    assert statuses == {"ABORTED"}


def test_one_parent_transition_takes_in_every_child_that_has_ended(make_flow, broker, monkeypatch):
    from workflows import dispatch

    monkeypatch.setattr(dispatch, "child_finished", lambda execution_id: None)
    execution, _ = services.start_execution(make_flow(DISTRIBUTED), {"items": [{"n": 1}, {"n": 2}]})
    for attempt_id in broker.take():  # the two map runs start their children
        tasks.run_attempt(attempt_id)
    deliver(broker)  # the children run and end; their parent is not told
    first, second = Execution.objects.filter(parent=execution).order_by("started_at")
    assert {first.status, second.status} == {"SUCCEEDED"}
    assert services.notify_parent(str(first.pk))
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == [{"doubled": 2}, {"doubled": 4}]
    assert not services.notify_parent(str(second.pk))  # already taken in


def test_a_task_scheduled_and_cancelled_within_one_batch_is_never_created():
    from workflows import engine
    from workflows.services.callbacks import _combined

    launched = engine.Step(
        snapshot={"n": 1},
        commands=[{"type": "run_task", "key": "t9"}, {"type": "run_task", "key": "t8"}],
    )
    failed = engine.Step(snapshot={"n": 2}, commands=[{"type": "cancel_task", "key": "t9"}])
    step = _combined([launched, failed])
    assert step.commands == [{"type": "run_task", "key": "t8"}]
    assert step.snapshot == {"n": 2}


def test_a_runtime_cause_in_a_batch_of_ended_children_names_the_right_event(
    make_flow, broker, monkeypatch
):
    from workflows import dispatch

    monkeypatch.setattr(dispatch, "child_finished", lambda execution_id: None)
    make_flow(CHILD, name="doubler")
    call = {"Type": "Task", "Resource": "flow:doubler.sync", "Next": "Shape"}
    shape = {"Type": "Pass", "Parameters": {"v.$": "$.missing"}, "End": True}
    slow = {"Type": "Task", "Resource": "builtin:echo", "End": True}
    flow = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "Call", "States": {"Call": call, "Shape": shape}},
                    {"StartAt": "Slow", "States": {"Slow": slow}},
                ],
            }
        },
    }
    execution, _ = services.start_execution(make_flow(flow, name="caller"), {"n": 1})
    attempts = TaskAttempt.objects.filter(pk__in=broker.take())
    tasks.run_attempt(attempts.get(resource="flow:doubler.sync").pk)  # the child runs and ends
    # Another worker takes the other branch's task: its TaskStarted is recorded without
    # the interpreter, between the parent's last transition and the batch.
    assert services.claim_attempt(attempts.get(resource="builtin:echo").pk, "worker-b")
    child = Execution.objects.get(parent=execution)
    assert services.notify_parent(str(child.pk))
    execution.refresh_from_db()
    entered = execution.events.get(type="PassStateEntered")
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert execution.cause.startswith(
        f"An error occurred while executing the state 'Shape' (entered at the event id "
        f"#{entered.seq})."
    )
