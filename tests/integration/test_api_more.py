"""test-state, version diffs, start-and-wait, execution search, bulk actions, version pages."""

import json
import time
import uuid
from urllib.parse import quote

import pytest

from workflows import services
from workflows.models import Execution, FlowVersion

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db

PASS_FLOW = {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Result": "hi", "End": True}}}
WAIT_FLOW = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
FAIL_FLOW = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}


def try_state(api, **body):
    return api.post("/api/v1/test-state/", body, format="json")


# --- test-state ------------------------------------------------------------------------


def test_test_state_runs_a_single_pass_state_and_shows_each_stage(api):
    state = {"Type": "Pass", "InputPath": "$.a", "Parameters": {"x.$": "$.b"}, "Next": "N"}
    response = try_state(api, definition=state, input={"a": {"b": 1}})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["nextState"], body["output"]) == ("SUCCEEDED", "N", {"x": 1})
    assert body["inspectionData"]["afterInputPath"] == {"b": 1}


def test_test_state_answers_with_every_field_of_the_inspection(api):
    body = try_state(api, definition={"Type": "Pass", "End": True}, input={}).json()
    assert set(body) == {
        "status",
        "nextState",
        "output",
        "error",
        "cause",
        "variables",
        "inspectionData",
    }


def test_test_state_picks_the_named_state_of_a_whole_definition(api):
    response = try_state(api, definition=TASK_FLOW, stateName="Pause", input={"k": 1})
    assert (response.json()["status"], response.json()["nextState"]) == ("SUCCEEDED", "Done")


def test_test_state_finds_a_state_nested_in_a_parallel_branch(api):
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "In", "States": {"In": {"Type": "Pass", "Result": 7, "End": True}}}
                ],
            }
        },
    }
    response = try_state(api, definition=definition, stateName="In", input={})
    assert response.json()["output"] == 7


def test_test_state_accepts_a_yaml_state(api):
    response = try_state(api, definition="Type: Pass\nResult: 3\nEnd: true\n", input={})
    assert response.json()["output"] == 3


def test_test_state_uses_the_given_task_result_instead_of_running_the_resource(api, broker):
    state = {"Type": "Task", "Resource": "builtin:echo", "ResultPath": "$.r", "End": True}
    response = try_state(api, definition=state, input={"k": 1}, result={"v": 2})
    assert response.json()["output"] == {"k": 1, "r": {"v": 2}}
    assert broker.published == []


def test_test_state_shows_where_a_catch_sends_a_given_task_error(api):
    state = {
        "Type": "Task",
        "Resource": "builtin:echo",
        "End": True,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
    }
    body = try_state(api, definition=state, input={}, error="Boom", cause="why").json()
    assert (body["status"], body["nextState"], body["error"]) == ("CAUGHT_ERROR", "Handler", "Boom")


def test_test_state_refuses_a_task_without_a_result_or_an_error(api):
    state = {"Type": "Task", "Resource": "builtin:echo", "End": True}
    response = try_state(api, definition=state, input={})
    assert response.status_code == 400
    assert "result" in response.json()["error"]["details"]


def test_test_state_refuses_a_parallel_state(api):
    state = {
        "Type": "Parallel",
        "End": True,
        "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
    }
    assert try_state(api, definition=state, input={}).status_code == 400


def test_test_state_refuses_an_invalid_state_with_diagnostics_pointing_into_it(api):
    response = try_state(api, definition={"Type": "Pass", "Bogus": 1}, input={})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidDefinition"
    assert [d["path"] for d in error["details"]] == ["/Bogus"]


def test_test_state_validates_a_choice_whose_targets_are_elsewhere_in_the_machine(api):
    state = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
        "Default": "Small",
    }
    response = try_state(api, definition=state, input={"n": 5})
    assert (response.status_code, response.json()["nextState"]) == (200, "Big")


def test_test_state_passes_the_given_variables_in(api):
    state = {"Type": "Pass", "Parameters": {"v.$": "$x"}, "End": True}
    response = try_state(api, definition=state, input={}, variables={"x": 4})
    assert response.json()["output"] == {"v": 4}


def test_test_state_refuses_an_unknown_state_name(api):
    response = try_state(api, definition=TASK_FLOW, stateName="Nope", input={})
    assert response.status_code == 400
    assert "stateName" in response.json()["error"]["details"]


def test_test_state_stores_nothing(api):
    try_state(api, definition={"Type": "Pass", "End": True}, input={})
    assert Execution.objects.count() == 0


# --- version diffs ---------------------------------------------------------------------


def diff_flow(make_flow):
    flow = make_flow(TASK_FLOW, name="d")
    states = TASK_FLOW["States"]
    services.save_flow_version(
        flow,
        {
            "StartAt": "Work",
            "States": {
                "Work": {**states["Work"], "ResultPath": "$.other"},  # changed
                "Pause": states["Pause"],  # the same
                "Done": {"Type": "Pass", "Next": "Added"},  # changed
                "Added": {"Type": "Succeed"},
            },
        },
    )
    return flow


def test_a_version_diff_is_a_unified_diff_of_the_sources(api, make_flow):
    diff_flow(make_flow)
    body = api.get("/api/v1/flows/d/versions/1/diff/2/").json()
    assert (body["from"], body["to"]) == (1, 2)
    assert body["diff"].startswith("--- d v1\n+++ d v2\n")
    assert '-      "ResultPath": "$.work",\n' in body["diff"]
    assert '+      "ResultPath": "$.other",\n' in body["diff"]


def test_a_version_diff_lists_the_states_added_removed_and_changed(api, make_flow):
    diff_flow(make_flow)
    changed = api.get("/api/v1/flows/d/versions/1/diff/2/").json()["changed_states"]
    assert changed == {"added": ["Added"], "removed": [], "changed": ["Work", "Done"]}


def test_a_version_diff_compares_nested_states_on_their_own(api, make_flow):
    def parallel(inner):
        return {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [{"StartAt": "In", "States": {"In": inner}}],
                }
            },
        }

    flow = make_flow(parallel({"Type": "Pass", "End": True}), name="n")
    services.save_flow_version(flow, parallel({"Type": "Pass", "Result": 1, "End": True}))
    changed = api.get("/api/v1/flows/n/versions/1/diff/2/").json()["changed_states"]
    assert changed == {"added": [], "removed": [], "changed": ["In"]}


def test_a_diff_with_an_unknown_version_is_a_404(api, make_flow):
    make_flow(PASS_FLOW, name="d")
    assert api.get("/api/v1/flows/d/versions/1/diff/9/").status_code == 404


# --- start and wait --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the wait reads on another thread's connection
def test_a_start_with_wait_answers_with_the_final_status_and_output(
    api, make_flow, broker, short_lived_connections
):
    make_flow(PASS_FLOW, name="p")
    response = api.post("/api/v1/flows/p/executions/?wait=5", {"input": {}}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["output"]) == ("SUCCEEDED", "hi")


@pytest.mark.django_db(transaction=True)
def test_a_start_with_wait_sees_an_execution_that_ends_while_it_waits(
    api, make_flow, broker, short_lived_connections, monkeypatch
):
    make_flow(WAIT_FLOW, name="w")
    real_read = __import__("workflows.api.waiting", fromlist=["_read_execution"])._read_execution
    reads = []

    def read_then_stop(execution_id):
        reads.append(execution_id)
        if len(reads) == 2:  # the execution is stopped by someone else meanwhile
            services.stop_execution(execution_id, "Elsewhere", "stopped meanwhile")
        return real_read(execution_id)

    monkeypatch.setattr("workflows.api.waiting._read_execution", read_then_stop)
    response = api.post("/api/v1/flows/w/executions/?wait=10", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (201, "ABORTED")


@pytest.mark.django_db(transaction=True)
def test_a_start_with_wait_answers_running_when_the_time_is_up(
    api, make_flow, broker, short_lived_connections
):
    make_flow(WAIT_FLOW, name="w")
    began = time.monotonic()
    response = api.post("/api/v1/flows/w/executions/?wait=0.3", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (201, "RUNNING")
    assert 0.3 <= time.monotonic() - began < 5


@pytest.mark.django_db(transaction=True)
def test_a_start_with_wait_works_under_the_asgi_handler(
    user, make_flow, broker, short_lived_connections
):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from workflows.tokens import issue_token

    make_flow(PASS_FLOW, name="p")
    key = issue_token(user)

    async def start():
        return await AsyncClient().post(
            "/api/v1/flows/p/executions/?wait=5",
            {"input": {}},
            content_type="application/json",
            headers={"Authorization": f"Token {key}"},
        )

    response = async_to_sync(start)()
    assert (response.status_code, json.loads(response.content)["status"]) == (201, "SUCCEEDED")


def test_the_start_route_is_an_async_view_so_a_wait_holds_no_thread():
    from asgiref.sync import iscoroutinefunction
    from django.urls import resolve

    assert iscoroutinefunction(resolve("/api/v1/flows/p/executions/").func)


@pytest.mark.parametrize("wait", ["0", "-1", "31", "soon", "nan", "inf"])
def test_a_start_with_an_invalid_wait_is_a_400_and_starts_nothing(api, make_flow, wait):
    make_flow(PASS_FLOW, name="p")
    response = api.post(f"/api/v1/flows/p/executions/?wait={wait}", {}, format="json")
    assert response.status_code == 400
    assert "wait" in response.json()["error"]["details"]
    assert Execution.objects.count() == 0


def test_a_start_without_wait_keeps_its_response_shape(api, make_flow, broker):
    make_flow(WAIT_FLOW, name="w")
    response = api.post("/api/v1/flows/w/executions/", {"name": "one"}, format="json")
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["status"]) == ("one", "RUNNING")


def test_a_start_with_wait_refuses_a_viewer_before_starting(make_flow, viewer_api):
    make_flow(PASS_FLOW, name="p")
    response = viewer_api.post("/api/v1/flows/p/executions/?wait=1", {}, format="json")
    assert response.status_code == 403
    assert Execution.objects.count() == 0


def test_the_flow_executions_list_still_answers_through_the_async_route(api, make_flow, broker):
    flow = make_flow(WAIT_FLOW, name="w")
    services.start_execution(flow, {}, "listed")
    names = [e["name"] for e in api.get("/api/v1/flows/w/executions/").json()["results"]]
    assert names == ["listed"]


# --- search ----------------------------------------------------------------------------


@pytest.fixture
def searchable(make_flow, broker):
    flow = make_flow(WAIT_FLOW, name="w")
    services.start_execution(flow, {"customer": "Ada Lovelace"}, "order-1")
    services.start_execution(flow, {"customer": "Grace"}, "invoice-ADA")
    services.start_execution(flow, {"city": "Zürich", "quote": 'say "hi"'}, "other")
    done = make_flow(PASS_FLOW, name="p")
    services.start_execution(done, {}, "passed")  # output "hi"


def names(api, query):
    response = api.get(f"/api/v1/executions/?{query}")
    assert response.status_code == 200
    return sorted(e["name"] for e in response.json()["results"])


def test_search_finds_text_in_the_input_ignoring_case(api, searchable):
    assert names(api, "q=lovelace") == ["order-1"]


def test_search_finds_text_in_the_name(api, searchable):
    assert names(api, "q=invoice") == ["invoice-ADA"]


def test_search_finds_text_in_the_output(api, searchable):
    assert names(api, "q=hi&flow=p") == ["passed"]


def test_search_combines_with_the_other_filters(api, searchable):
    assert names(api, "q=ada&status=RUNNING") == ["invoice-ADA", "order-1"]
    assert names(api, "q=ada&name=order") == ["order-1"]
    assert names(api, "q=ada&flow=p") == []


def test_search_finds_non_ascii_text(api, searchable):
    assert names(api, "q=" + quote("zürich")) == ["other"]


def test_search_finds_text_with_quotes(api, searchable):
    assert names(api, "q=" + quote('say "hi"')) == ["other"]


def test_search_treats_like_wildcards_as_plain_text(api, searchable):
    assert names(api, "q=%25") == []
    assert names(api, "q=_") == []


# --- bulk actions ----------------------------------------------------------------------


def bulk(api, action, ids, reason="cleanup"):
    body = {"ids": [str(i) for i in ids], "reason": reason}
    return api.post(f"/api/v1/executions/bulk/{action}/", body, format="json")


def test_bulk_stop_stops_every_running_execution_given(api, make_flow, broker):
    flow = make_flow(WAIT_FLOW, name="w")
    a, _ = services.start_execution(flow, {})
    b, _ = services.start_execution(flow, {})
    response = bulk(api, "stop", [a.pk, b.pk])
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": str(a.pk), "ok": True, "status": "ABORTED"},
        {"id": str(b.pk), "ok": True, "status": "ABORTED"},
    ]


def test_bulk_stop_gives_the_reason_as_the_cause(api, make_flow, broker):
    execution, _ = services.start_execution(make_flow(WAIT_FLOW, name="w"), {})
    bulk(api, "stop", [execution.pk], reason="maintenance")
    execution.refresh_from_db()
    assert (execution.error, execution.cause) == ("Legato.Stopped", "maintenance")


def test_bulk_stop_reports_an_unknown_id_in_its_own_result(api, make_flow, broker):
    execution, _ = services.start_execution(make_flow(WAIT_FLOW, name="w"), {})
    unknown = uuid.uuid4()
    results = bulk(api, "stop", [unknown, execution.pk]).json()["results"]
    assert results[0] == {
        "id": str(unknown),
        "ok": False,
        "error": {"code": "NotFound", "message": "There is no such execution."},
    }
    assert results[1]["ok"] is True


def test_bulk_stop_reports_a_finished_execution_as_not_running(api, make_flow, broker):
    execution, _ = services.start_execution(make_flow(PASS_FLOW, name="p"), {})
    [result] = bulk(api, "stop", [execution.pk]).json()["results"]
    assert (result["ok"], result["status"], result["error"]["code"]) == (
        False,
        "SUCCEEDED",
        "ExecutionNotRunning",
    )


def test_bulk_redrive_runs_failed_executions_again(api, make_flow, broker):
    execution, _ = services.start_execution(make_flow(FAIL_FLOW, name="f"), {})
    [result] = bulk(api, "redrive", [execution.pk]).json()["results"]
    assert result["ok"] is True
    execution.refresh_from_db()
    assert execution.redrive_count == 1


def test_bulk_redrive_reports_a_running_execution_as_not_redrivable(api, make_flow, broker):
    running, _ = services.start_execution(make_flow(WAIT_FLOW, name="w"), {})
    unknown = uuid.uuid4()
    results = bulk(api, "redrive", [running.pk, unknown]).json()["results"]
    assert [(r["ok"], r["error"]["code"]) for r in results] == [
        (False, "ExecutionNotRedrivable"),
        (False, "NotFound"),
    ]


def test_bulk_actions_refuse_more_than_100_ids(api):
    response = bulk(api, "stop", [uuid.uuid4() for _ in range(101)])
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["details"]


def test_bulk_actions_refuse_an_id_that_is_not_a_uuid(api):
    assert bulk(api, "redrive", ["not-a-uuid"]).status_code == 400


def test_bulk_actions_refuse_an_id_that_is_a_number(api):
    response = api.post("/api/v1/executions/bulk/stop/", {"ids": [0]}, format="json")
    assert response.status_code == 400


def test_bulk_actions_refuse_an_empty_list(api):
    assert bulk(api, "stop", []).status_code == 400


# --- version pages ---------------------------------------------------------------------


def test_versions_are_cursor_paginated_newest_first(api, make_flow):
    flow = make_flow(PASS_FLOW, name="v")
    services.save_flow_version(flow, WAIT_FLOW)
    body = api.get("/api/v1/flows/v/versions/").json()
    assert set(body) == {"next", "previous", "results"}
    assert [v["version"] for v in body["results"]] == [2, 1]


def test_version_items_keep_their_shape(api, make_flow):
    make_flow(PASS_FLOW, name="v")
    [item] = api.get("/api/v1/flows/v/versions/").json()["results"]
    assert set(item) == {"flow", "version", "definition", "source", "source_format", "created_at"}


def test_the_next_page_of_versions_continues_after_the_last(api, make_flow, monkeypatch):
    flow = make_flow(PASS_FLOW, name="v")
    for _ in range(4):
        services.save_flow_version(flow, PASS_FLOW)
    assert FlowVersion.objects.filter(flow=flow).count() == 5
    monkeypatch.setattr("workflows.api.views.VersionPagination.page_size", 2)
    seen, url = [], "/api/v1/flows/v/versions/"
    while url:
        page = api.get(url).json()
        seen += [v["version"] for v in page["results"]]
        url = page["next"]
    assert seen == [5, 4, 3, 2, 1]


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def viewer_api(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from workflows.roles import ensure_roles
    from workflows.tokens import issue_token

    ensure_roles()
    viewer = get_user_model().objects.create_user("vic", password="pw-vic-12345")
    viewer.groups.set(Group.objects.filter(name="viewer"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(viewer)}")
    return client


def test_a_viewer_may_test_a_state(viewer_api):
    response = try_state(viewer_api, definition={"Type": "Pass", "End": True}, input={})
    assert response.status_code == 200


def test_a_viewer_may_not_stop_executions_in_bulk(viewer_api):
    assert bulk(viewer_api, "stop", [uuid.uuid4()]).status_code == 403
