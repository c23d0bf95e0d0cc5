import pytest
from rest_framework.test import APIClient

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db

YAML_FLOW = """\
StartAt: Hello
States:
  Hello:
    Type: Pass
    Result: hi
    End: true
"""


@pytest.mark.parametrize("url", ["/api/v1/flows/", "/api/v1/executions/", "/api/v1/validate/"])
def test_anonymous_requests_are_refused_with_401(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NotAuthenticated"


def test_a_flow_can_be_created_from_a_yaml_string(api):
    response = api.post("/api/v1/flows/", {"name": "hello", "definition": YAML_FLOW}, format="json")
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["version"]) == ("hello", 1)


def test_an_invalid_definition_is_a_400_with_positioned_diagnostics(api):
    bad = "StartAt: Hello\nStates:\n  Hello:\n    Type: Pass\n    Next: Nowhere\n"
    response = api.post("/api/v1/flows/", {"name": "bad", "definition": bad}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "InvalidDefinition"
    assert body["details"][0]["line"] == 5


def test_creating_a_flow_with_a_taken_name_is_a_409(api):
    api.post("/api/v1/flows/", {"name": "dup", "definition": YAML_FLOW}, format="json")
    response = api.post("/api/v1/flows/", {"name": "dup", "definition": YAML_FLOW}, format="json")
    assert response.status_code == 409


def test_a_flow_name_with_odd_characters_is_a_400(api):
    response = api.post(
        "/api/v1/flows/", {"name": "no spaces/please", "definition": YAML_FLOW}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]


def test_put_saves_a_new_version(api):
    api.post("/api/v1/flows/", {"name": "hello", "definition": YAML_FLOW}, format="json")
    response = api.put("/api/v1/flows/hello/", {"definition": TASK_FLOW}, format="json")
    assert response.json()["version"] == 2
    versions = api.get("/api/v1/flows/hello/versions/").json()["results"]
    assert [v["version"] for v in versions] == [2, 1]


def test_starting_an_execution_returns_201_with_its_id_and_status(api, broker):
    api.post("/api/v1/flows/", {"name": "hello", "definition": YAML_FLOW}, format="json")
    response = api.post("/api/v1/flows/hello/executions/", {"input": {"a": 1}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "SUCCEEDED"  # Pass-only flows finish inside the request
    assert body["output"] == "hi"


def test_an_execution_and_its_history_can_be_read(api, broker):
    api.post("/api/v1/flows/", {"name": "t", "definition": TASK_FLOW}, format="json")
    execution = api.post("/api/v1/flows/t/executions/", {"input": {}}, format="json").json()
    detail = api.get(f"/api/v1/executions/{execution['id']}/").json()
    assert set(detail) >= {
        "id",
        "name",
        "flow",
        "version",
        "status",
        "input",
        "output",
        "error",
        "cause",
        "started_at",
        "stopped_at",
    }
    history = api.get(f"/api/v1/executions/{execution['id']}/history/").json()
    assert [e["seq"] for e in history["results"]] == [1, 2, 3]
    assert set(history["results"][0]) == {"seq", "type", "timestamp", "state", "status", "details"}


def test_history_after_seq_returns_only_newer_events_in_pages(api, broker):
    api.post("/api/v1/flows/", {"name": "t", "definition": TASK_FLOW}, format="json")
    execution = api.post("/api/v1/flows/t/executions/", {"input": {}}, format="json").json()
    page = api.get(f"/api/v1/executions/{execution['id']}/history/?after_seq=1&limit=1").json()
    assert [e["seq"] for e in page["results"]] == [2]
    assert "after_seq=2" in page["next"]


def test_executions_can_be_filtered_by_status(api, broker):
    api.post("/api/v1/flows/", {"name": "hello", "definition": YAML_FLOW}, format="json")
    api.post("/api/v1/flows/", {"name": "t", "definition": TASK_FLOW}, format="json")
    api.post("/api/v1/flows/hello/executions/", {}, format="json")
    api.post("/api/v1/flows/t/executions/", {}, format="json")
    running = api.get("/api/v1/executions/?status=RUNNING").json()["results"]
    assert [e["flow"] for e in running] == ["t"]


def test_stop_aborts_a_running_execution(api, broker):
    api.post("/api/v1/flows/", {"name": "t", "definition": TASK_FLOW}, format="json")
    execution = api.post("/api/v1/flows/t/executions/", {}, format="json").json()
    response = api.post(
        f"/api/v1/executions/{execution['id']}/stop/", {"cause": "testing"}, format="json"
    )
    assert response.json()["status"] == "ABORTED"


def test_stopping_a_finished_execution_is_a_409(api, broker):
    api.post("/api/v1/flows/", {"name": "hello", "definition": YAML_FLOW}, format="json")
    execution = api.post("/api/v1/flows/hello/executions/", {}, format="json").json()
    response = api.post(f"/api/v1/executions/{execution['id']}/stop/", {}, format="json")
    assert response.status_code == 409


def test_validate_returns_every_diagnostic_without_saving(api):
    response = api.post(
        "/api/v1/validate/", {"definition": {"StartAt": "X", "States": {}}}, format="json"
    )
    assert response.json()["valid"] is False
    assert response.json()["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"


def test_an_unknown_flow_is_a_404_with_the_error_body(api):
    response = api.get("/api/v1/flows/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


def test_a_malformed_json_body_is_a_400(api):
    response = api.generic("POST", "/api/v1/flows/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedRequest"


def test_the_graph_endpoint_returns_nodes_edges_and_dot(api):
    api.post("/api/v1/flows/", {"name": "t", "definition": TASK_FLOW}, format="json")
    graph = api.get("/api/v1/flows/t/graph").json()
    assert [n["state"] for n in graph["nodes"] if n["state"]] == ["Work", "Pause", "Done"]
    assert graph["dot"].startswith("digraph")


def test_a_flow_can_carry_an_example_input_for_the_start_dialog(api):
    body = {"name": "hello", "definition": YAML_FLOW, "example_input": {"who": "Ada"}}
    api.post("/api/v1/flows/", body, format="json")
    assert api.get("/api/v1/flows/hello/").json()["example_input"] == {"who": "Ada"}


CLASSIC_FDL = """\
version: v1
type: flow
steps:
  - type: pass
    name: hello
    outputMappings:
      - target: greeting
        source: hi
"""


def test_an_alibaba_fdl_definition_is_converted_on_import(api):
    response = api.post(
        "/api/v1/flows/", {"name": "from-fdl", "definition": CLASSIC_FDL}, format="json"
    )
    assert response.status_code == 201
    assert "States" in response.json()["definition"]


def test_a_save_reports_the_validator_warnings(api):
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"x": "$.looks.like.a.path"}, "End": True}},
    }
    response = api.post(
        "/api/v1/flows/", {"name": "warned", "definition": definition}, format="json"
    )
    assert [w["rule"] for w in response.json()["warnings"]] == ["PATH_WITHOUT_DOLLAR_SUFFIX"]
