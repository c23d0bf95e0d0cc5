"""Operator actions: stop, redrive and re-run, each with an audit entry."""

import pytest

from workflows import services, tasks
from workflows.models import AuditEntry, Execution

pytestmark = pytest.mark.django_db(transaction=True)

FLAKY = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Result": {"attempt": "first"},
            "ResultPath": "$.prep",
            "Next": "Charge",
        },
        "Charge": {"Type": "Task", "Resource": "builtin:fail", "End": True},
    },
}


def deliver(broker):
    while published := broker.take():
        for attempt_id in published:
            tasks.run_attempt(attempt_id)


def failed_execution(make_flow, broker):
    execution, _ = services.start_execution(
        make_flow(FLAKY, name="flaky"), {"error": "Card.Declined"}
    )
    deliver(broker)
    execution.refresh_from_db()
    assert execution.status == "FAILED"
    return execution


def test_redrive_runs_a_failed_execution_again_from_the_failed_state(make_flow, broker, api):
    execution = failed_execution(make_flow, broker)
    response = api.post(
        f"/api/v1/executions/{execution.pk}/redrive/", {"reason": "fixed"}, format="json"
    )
    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["redrive_count"]) == ("RUNNING", 1)
    types = [e.type for e in execution.events.all()]
    assert types.count("PassStateEntered") == 1
    assert types[-3:] == ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]


def test_a_redriven_execution_keeps_its_id_and_history(make_flow, broker):
    execution = failed_execution(make_flow, broker)
    before = execution.events.count()
    services.redrive_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.events.count() > before
    assert execution.events.order_by("seq").first().seq == 1


def test_a_running_or_succeeded_execution_cannot_be_redriven(make_flow, broker, api):
    execution, _ = services.start_execution(
        make_flow({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}), {}
    )
    response = api.post(f"/api/v1/executions/{execution.pk}/redrive/", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "ExecutionNotRedrivable",
    )


def test_rerun_starts_a_linked_execution_at_the_chosen_state_with_its_recorded_input(
    make_flow, broker, api
):
    execution = failed_execution(make_flow, broker)
    response = api.post(
        f"/api/v1/executions/{execution.pk}/rerun/", {"state": "Charge"}, format="json"
    )
    rerun = Execution.objects.get(pk=response.json()["id"])
    assert response.status_code == 201
    assert rerun.rerun_of_id == execution.pk
    first = rerun.events.order_by("seq")[1]
    assert (first.type, first.state, first.details["input"]["prep"]) == (
        "TaskStateEntered",
        "Charge",
        {"attempt": "first"},
    )


def test_rerun_of_a_state_that_never_ran_is_a_400(make_flow, broker, api):
    execution = failed_execution(make_flow, broker)
    response = api.post(
        f"/api/v1/executions/{execution.pk}/rerun/", {"state": "Nope"}, format="json"
    )
    assert response.status_code == 400


def test_every_operator_action_writes_an_audit_entry_with_the_reason(make_flow, broker, api, user):
    execution = failed_execution(make_flow, broker)
    api.post(f"/api/v1/executions/{execution.pk}/redrive/", {"reason": "card fixed"}, format="json")
    api.post(
        f"/api/v1/executions/{execution.pk}/stop/", {"reason": "changed my mind"}, format="json"
    )
    entries = list(
        AuditEntry.objects.filter(target=f"execution:{execution.pk}")
        .order_by("at")
        .values_list("action", "reason", "user")
    )
    assert entries == [("redrive", "card fixed", user.pk), ("stop", "changed my mind", user.pk)]
