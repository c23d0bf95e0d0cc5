"""The OpenAPI schema at /api/schema/: valid, complete, generated without warnings."""

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

METHODS = {"get", "put", "post", "delete", "patch"}

EXPECTED_OPERATIONS = {
    "listFlows", "createFlow", "getFlow", "updateFlow", "deleteFlow", "listFlowVersions",
    "getFlowVersion", "getFlowGraph", "validateDefinition", "startExecution",
    "listFlowExecutions", "listExecutions", "getExecution", "getExecutionHistory",
    "listExecutionStates", "stopExecution", "redriveExecution", "rerunExecution",
    "sendTaskSuccess", "sendTaskFailure", "sendTaskHeartbeat", "pollActivity",
    "testState", "diffFlowVersions", "bulkStopExecutions", "bulkRedriveExecutions",
}  # fmt: skip


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_schema_endpoint_serves_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_generates_without_errors_or_warnings(tmp_path):
    # --fail-on-warn turns any generator error or warning into a SchemaGenerationError.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["paths"]


def test_every_operation_has_its_stable_operation_id(schema):
    ids = [operation.get("operationId") for _, _, operation in operations(schema)]
    assert sorted(ids) == sorted(EXPECTED_OPERATIONS)


def test_every_operation_documents_401_and_403_with_the_error_body(schema):
    for path, method, operation in operations(schema):
        for status in ("401", "403"):
            response = operation["responses"].get(status)
            assert response, (method, path, status)
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_the_error_component_is_the_shared_error_body(schema):
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "details"}


def test_execution_ids_are_typed_as_uuids(schema):
    checked = 0
    for path, _, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "execution_id":
                assert parameter["schema"] == {"type": "string", "format": "uuid"}, path
                checked += 1
    assert checked == 6


def test_the_activity_poll_is_documented_with_its_204(schema):
    assert set(schema["paths"]["/api/v1/activities/{name}/poll"]) == {"post"}
    poll = schema["paths"]["/api/v1/activities/{name}/poll"]["post"]
    assert {"200", "204", "400"} <= set(poll["responses"])
    assert {p["name"] for p in poll["parameters"]} == {"name", "wait", "worker"}


def test_the_interactive_docs_are_served_without_the_internet(api):
    page = api.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page


def test_an_unrouted_api_url_is_a_json_404(api):
    response = api.get("/api/v1/executions/not-a-uuid/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"
