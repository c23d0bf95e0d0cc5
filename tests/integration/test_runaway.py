"""Runaway recursion and poison steps: a flow that starts itself, a step that cannot be
recorded, internal and foreign task names in definitions."""

from __future__ import annotations

import pytest

from workflows import engine, services, tasks
from workflows.models import Execution, TaskAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(broker, rounds: int = 1000, after_each=lambda: None) -> None:
    """Run every published attempt, and notify parents of ended children, until idle."""
    for _ in range(rounds):
        published = broker.take()
        for attempt_id in published:
            tasks.run_attempt(attempt_id)
            after_each()
        if not published and not services.sweep().parents_notified and not broker.published:
            return


def self_starting(name: str, branches: int = 1) -> dict:
    call = {"Type": "Task", "Resource": f"flow:{name}.sync", "End": True}
    if branches == 1:
        return {"StartAt": "Again", "States": {"Again": call}}
    fan = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": f"Again{i}", "States": {f"Again{i}": call}} for i in range(branches)
        ],
        "End": True,
    }
    return {"StartAt": "Fan", "States": {"Fan": fan}}


@pytest.fixture
def limits(settings):
    def change(**values):
        settings.LEGATO = {**settings.LEGATO, **values}

    return change


def test_a_flow_that_starts_itself_stops_at_the_child_depth_limit(make_flow, broker, limits):
    limits(MAX_CHILD_DEPTH=3)
    root, _ = services.start_execution(make_flow(self_starting("again"), name="again"), {})
    deliver(broker)
    deepest = Execution.objects.order_by("-depth").first()
    assert (Execution.objects.count(), deepest.depth) == (4, 3)
    assert (deepest.status, deepest.error) == ("FAILED", "Legato.ChildDepthExceeded")
    assert "LEGATO_MAX_CHILD_DEPTH" in deepest.cause


def test_every_ancestor_of_a_too_deep_child_fails_with_its_error(make_flow, broker, limits):
    limits(MAX_CHILD_DEPTH=2)
    root, _ = services.start_execution(make_flow(self_starting("again"), name="again"), {})
    deliver(broker)
    root.refresh_from_db()
    assert (root.status, root.error) == ("FAILED", "Legato.ChildDepthExceeded")
    assert set(Execution.objects.values_list("status", flat=True)) == {"FAILED"}


def test_a_flow_that_fans_out_into_itself_stops_at_the_running_cap(make_flow, broker, limits):
    limits(MAX_CHILD_DEPTH=16, MAX_RUNNING_PER_FLOW=10)
    services.start_execution(make_flow(self_starting("fan", branches=2), name="fan"), {})
    running = []
    deliver(broker, after_each=lambda: running.append(_running()))
    errors = set(Execution.objects.exclude(error="").values_list("error", flat=True))
    assert (max(running), _running()) == (10, 0)  # 2 ** 16 executions without the cap
    assert "Legato.ExecutionLimitExceeded" in errors


def _running() -> int:
    return Execution.objects.filter(status="RUNNING").count()


def test_a_start_over_the_running_cap_is_refused_with_429(make_flow, api, limits):
    limits(MAX_RUNNING_PER_FLOW=2)
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    make_flow(waiting, name="waits")
    for _ in range(2):
        assert api.post("/api/v1/flows/waits/executions/", {}, format="json").status_code == 201
    response = api.post("/api/v1/flows/waits/executions/", {}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "ExecutionLimitExceeded"


def test_ended_executions_do_not_count_against_the_running_cap(make_flow, api, limits):
    limits(MAX_RUNNING_PER_FLOW=1)
    make_flow({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, name="quick")
    codes = [api.post("/api/v1/flows/quick/executions/", {}, format="json").status_code]
    codes.append(api.post("/api/v1/flows/quick/executions/", {}, format="json").status_code)
    assert codes == [201, 201]


def test_a_step_that_cannot_be_recorded_fails_the_execution_instead_of_running_again(
    make_flow, broker, monkeypatch
):
    flow = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "builtin:echo", "End": True}},
    }
    execution, _ = services.start_execution(make_flow(flow), {})
    advance = engine.advance

    def broken(definition, snapshot, event, now, *args, **kwargs):
        if event["type"] == "task_succeeded":
            raise OverflowError("date value out of range")
        return advance(definition, snapshot, event, now, *args, **kwargs)

    monkeypatch.setattr(engine, "advance", broken)
    deliver(broker)
    execution.refresh_from_db()
    attempt = TaskAttempt.objects.get(execution=execution)
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "OverflowError: date value out of range" in execution.cause
    assert attempt.status == "SUCCEEDED"  # recorded, so never run again at a lease's end


def test_a_start_whose_first_steps_cannot_be_computed_is_a_400(make_flow, api, monkeypatch):
    make_flow({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, name="p")

    def broken(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(engine, "start", broken)
    response = api.post("/api/v1/flows/p/executions/", {"input": {}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidExecutionInput"
    assert not Execution.objects.exists()


def test_a_huge_wait_after_a_task_fails_the_execution_and_closes_the_task(make_flow, broker):
    flow = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "builtin:echo", "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "End": True},
        },
    }
    execution, _ = services.start_execution(make_flow(flow), {"s": 1e300})
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert TaskAttempt.objects.get(execution=execution).status == "SUCCEEDED"


def test_a_definition_naming_an_internal_resource_is_refused(api):
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "legato:map:/States/M", "End": True}},
    }
    response = api.post(
        "/api/v1/flows/", {"name": "sneaky", "definition": definition}, format="json"
    )
    assert response.status_code == 400
    [problem] = response.json()["error"]["details"]
    assert (problem["rule"], problem["path"]) == ("RESERVED_RESOURCE", "/States/T/Resource")


def test_test_state_stops_an_endless_expression_with_its_time_budget(api):
    state = {
        "QueryLanguage": "JSONata",
        "Type": "Pass",
        "Output": "{% ($f := function($x){ $f($x) }; $f(1)) %}",
        "End": True,
    }
    body = api.post("/api/v1/test-state/", {"definition": state, "input": {}}, format="json").json()
    assert (body["status"], body["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert "time budget" in body["cause"]


def test_a_first_wait_too_long_for_any_date_fails_the_execution_not_the_request(make_flow, api):
    flow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    make_flow(flow, name="waits")
    response = api.post("/api/v1/flows/waits/executions/", {"input": {"s": 1e300}}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["error"]) == ("FAILED", "States.Runtime")


def test_a_task_timeout_expression_too_large_for_any_date_fails_the_execution(make_flow, api):
    task = {"Type": "Task", "Resource": "builtin:echo", "End": True}
    flow = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {"T": {**task, "TimeoutSeconds": "{% 99999999999999 %}"}},
    }
    make_flow(flow, name="slow-task")
    response = api.post("/api/v1/flows/slow-task/executions/", {"input": {}}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["error"]) == ("FAILED", "States.Runtime")


def test_a_literal_task_timeout_too_large_is_refused_when_the_flow_is_saved(api):
    task = {"Type": "Task", "Resource": "builtin:echo", "TimeoutSeconds": 99999999999999}
    definition = {"StartAt": "T", "States": {"T": {**task, "End": True}}}
    response = api.post("/api/v1/flows/", {"name": "t", "definition": definition}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidDefinition"


# --- steps that cannot be recorded, wherever they are computed ------------------------

ECHO = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "builtin:echo", "End": True}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def raising_on(monkeypatch, kind: str, exc: BaseException, when=lambda: True) -> None:
    """Make the interpreter raise ``exc`` for events of type ``kind`` (while ``when()``)."""
    advance = engine.advance

    def broken(definition, snapshot, event, now, *args, **kwargs):
        if event["type"] == kind and when():
            raise exc
        return advance(definition, snapshot, event, now, *args, **kwargs)

    monkeypatch.setattr(engine, "advance", broken)


def calling(child: str) -> dict:
    call = {"Type": "Task", "Resource": f"flow:{child}.sync", "End": True}
    return {"StartAt": "Call", "States": {"Call": call}}


def test_a_child_end_the_parent_cannot_record_fails_the_parent_instead_of_looping(
    make_flow, broker, monkeypatch
):
    make_flow(PASS, name="child")
    parent, _ = services.start_execution(make_flow(calling("child"), name="parent"), {})
    raising_on(monkeypatch, "task_succeeded", OverflowError("date value out of range"))
    deliver(broker)
    parent.refresh_from_db()
    attempt = TaskAttempt.objects.get(execution=parent)
    assert (parent.status, parent.error) == ("FAILED", "States.Runtime")
    assert "OverflowError: date value out of range" in parent.cause
    assert attempt.status == "SUCCEEDED"  # the child's outcome is kept on its task


def test_a_distributed_map_whose_results_cannot_be_recorded_fails_the_execution(
    make_flow, broker, monkeypatch
):
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, **PASS}
    fan = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True}
    flow = {"StartAt": "Fan", "States": {"Fan": fan}}
    execution, _ = services.start_execution(make_flow(flow), {"items": [1, 2]})
    raising_on(monkeypatch, "map_gathered", ValueError("cannot gather"))
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "ValueError: cannot gather" in execution.cause


def test_a_start_whose_gathered_results_cannot_be_computed_is_a_400(make_flow, api, monkeypatch):
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, **PASS}
    fan = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True}
    make_flow({"StartAt": "Fan", "States": {"Fan": fan}}, name="empty-fan")
    raising_on(monkeypatch, "map_gathered", ValueError("cannot gather"))
    response = api.post(
        "/api/v1/flows/empty-fan/executions/", {"input": {"items": []}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidExecutionInput"
    assert not Execution.objects.exists()


def test_one_parent_that_cannot_take_in_its_child_does_not_stop_the_sweep_for_the_others(
    make_flow, broker, monkeypatch
):
    from workflows import dispatch
    from workflows.services import recovery

    monkeypatch.setattr(dispatch, "child_finished", lambda execution_id: None)
    make_flow(PASS, name="child")
    caller = make_flow(calling("child"), name="parent")
    parents = [services.start_execution(caller, {})[0] for _ in range(4)]
    for attempt_id in broker.take():
        tasks.run_attempt(attempt_id)  # the children start and end; no parent is told
    poison = Execution.objects.get(parent=parents[0]).pk
    notify = recovery.notify_parent

    def broken(child_id):
        if child_id == str(poison):
            raise RuntimeError("a defect")
        return notify(child_id)

    monkeypatch.setattr(recovery, "notify_parent", broken)
    assert services.sweep().parents_notified == 3
    statuses = [Execution.objects.get(pk=p.pk).status for p in parents]
    assert statuses == ["RUNNING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]


def test_a_step_that_recurses_too_deeply_fails_the_execution(make_flow, broker, monkeypatch):
    execution, _ = services.start_execution(make_flow(ECHO), {})
    raising_on(monkeypatch, "task_succeeded", RecursionError("maximum recursion depth exceeded"))
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "RecursionError" in execution.cause


def test_a_start_whose_first_steps_recurse_too_deeply_is_a_400(make_flow, api, monkeypatch):
    make_flow(PASS, name="p")

    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine, "start", broken)
    response = api.post("/api/v1/flows/p/executions/", {"input": {}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidExecutionInput"


def test_a_step_that_fails_only_on_an_unlocked_read_is_decided_under_the_lock(
    make_flow, broker, monkeypatch
):
    from django.db import connection

    execution, _ = services.start_execution(make_flow(ECHO), {})
    # On SQLite the step is first computed from an unlocked read, which may be stale.
    unlocked = lambda: not connection.in_atomic_block  # noqa: E731
    raising_on(monkeypatch, "task_succeeded", OverflowError("stale snapshot"), unlocked)
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("SUCCEEDED", "")


def test_an_unrecordable_step_whose_message_holds_a_lone_surrogate_still_fails_the_execution(
    make_flow, broker, monkeypatch
):
    execution, _ = services.start_execution(make_flow(ECHO), {})
    raising_on(monkeypatch, "task_succeeded", ValueError("bad key '\ud800' and \x00"))
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "bad key '\\ud800' and \\u0000" in execution.cause


# --- the running cap and names ---------------------------------------------------------


def test_repeating_a_named_start_at_the_running_cap_returns_the_existing_execution(
    make_flow, api, limits
):
    limits(MAX_RUNNING_PER_FLOW=1)
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    make_flow(waiting, name="waits")
    body = {"name": "nightly", "input": {"day": 1}}
    first = api.post("/api/v1/flows/waits/executions/", body, format="json")
    again = api.post("/api/v1/flows/waits/executions/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_reusing_a_name_with_another_input_at_the_running_cap_is_a_409(make_flow, api, limits):
    limits(MAX_RUNNING_PER_FLOW=1)
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    make_flow(waiting, name="waits")
    api.post("/api/v1/flows/waits/executions/", {"name": "n", "input": {"a": 1}}, format="json")
    response = api.post(
        "/api/v1/flows/waits/executions/", {"name": "n", "input": {"a": 2}}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ExecutionAlreadyExists"


# --- descendants of one root --------------------------------------------------------------


def forking(name: str, branches: int = 2) -> dict:
    """A flow that starts itself ``branches`` times without waiting for the children."""
    call = {"Type": "Task", "Resource": f"flow:{name}", "End": True}
    fan = {
        "Type": "Parallel",
        "Branches": [{"StartAt": f"Go{i}", "States": {f"Go{i}": call}} for i in range(branches)],
        "End": True,
    }
    return {"StartAt": "Fan", "States": {"Fan": fan}}


def test_a_flow_that_forks_itself_without_waiting_stops_at_the_descendant_limit(
    make_flow, broker, limits
):
    # Without the limit: 2 ** 7 - 1 = 127 executions here, ~131,000 at the default depth.
    limits(MAX_CHILD_DEPTH=6, MAX_DESCENDANTS=20)
    root, _ = services.start_execution(make_flow(forking("fork"), name="fork"), {})
    deliver(broker)
    root.refresh_from_db()
    assert (Execution.objects.count(), root.descendants) == (21, 20)
    refused = Execution.objects.filter(error="Legato.DescendantLimitExceeded")
    assert refused.exists()
    assert "LEGATO_MAX_DESCENDANTS" in refused.first().cause


def test_every_descendant_records_the_root_execution_a_user_started(make_flow, broker, limits):
    limits(MAX_CHILD_DEPTH=3)
    root, _ = services.start_execution(make_flow(forking("fork"), name="fork"), {})
    deliver(broker)
    descendants = Execution.objects.exclude(pk=root.pk)
    assert descendants.count() == 14
    assert set(descendants.values_list("root", flat=True)) == {root.pk}
    assert Execution.objects.get(pk=root.pk).root_id is None


def test_a_child_refused_by_the_descendant_limit_fails_its_task_with_a_clear_error(
    make_flow, broker, limits
):
    limits(MAX_DESCENDANTS=1)
    make_flow(PASS, name="child")
    call = {"Type": "Task", "Resource": "flow:child.sync", "End": True}
    both = {
        "Type": "Parallel",
        "Branches": [{"StartAt": f"C{i}", "States": {f"C{i}": call}} for i in range(2)],
        "End": True,
    }
    parent, _ = services.start_execution(
        make_flow({"StartAt": "Both", "States": {"Both": both}}, name="parent"), {}
    )
    deliver(broker)
    parent.refresh_from_db()
    assert (parent.status, parent.error) == ("FAILED", "Legato.DescendantLimitExceeded")
    assert Execution.objects.filter(parent=parent).count() == 1


def test_distributed_map_runs_do_not_count_against_the_descendant_limit(make_flow, broker, limits):
    limits(MAX_DESCENDANTS=1)
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, **PASS}
    fan = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True}
    execution, _ = services.start_execution(
        make_flow({"StartAt": "Fan", "States": {"Fan": fan}}), {"items": [1, 2, 3]}
    )
    deliver(broker)
    execution.refresh_from_db()
    assert (execution.status, execution.descendants) == ("SUCCEEDED", 0)
    assert set(Execution.objects.exclude(pk=execution.pk).values_list("root", flat=True)) == {
        execution.pk
    }


def test_a_redelivered_flow_task_does_not_count_its_child_twice(make_flow, broker):
    make_flow(PASS, name="child")
    parent, _ = services.start_execution(make_flow(calling("child"), name="parent"), {})
    [attempt_id] = broker.take()
    attempt = TaskAttempt.objects.get(pk=attempt_id)
    for _ in range(2):  # the handler runs twice (a redelivery after a lost completion)
        services.callbacks.start_child_execution(
            str(parent.pk), "child", {}, attempt.idempotency_key, attempt.token
        )
    parent.refresh_from_db()
    assert parent.descendants == 1


def test_a_zero_descendant_limit_means_no_limit(make_flow, broker, limits):
    limits(MAX_CHILD_DEPTH=3, MAX_DESCENDANTS=0)
    services.start_execution(make_flow(forking("fork"), name="fork"), {})
    deliver(broker)
    assert Execution.objects.count() == 15
    assert not Execution.objects.filter(error="Legato.DescendantLimitExceeded").exists()
