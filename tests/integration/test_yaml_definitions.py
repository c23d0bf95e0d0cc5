"""YAML definitions through the API and the CLI: YAML 1.2, and no 500 for YAML 1.1's
extra types."""

import json

import pytest

from workflows.models import Flow, FlowVersion, definition_of

from .test_cli import flow as cli
from .test_cli import write

pytestmark = pytest.mark.django_db

YES_NO = """\
StartAt: Ask
States:
  Ask:
    Type: Choice
    Choices:
      - {Variable: $.ok, BooleanEquals: true, Next: Yes}
    Default: No
  Yes: {Type: Succeed}
  No: {Type: Fail, Error: Declined}
"""


def create(api, definition, name="f"):
    return api.post("/api/v1/flows/", {"name": name, "definition": definition}, format="json")


def pass_with(result):
    return f"StartAt: P\nStates:\n  P:\n    Type: Pass\n    Result: {result}\n    End: true\n"


@pytest.mark.parametrize(("ok", "status"), [(True, "SUCCEEDED"), (False, "FAILED")])
def test_a_flow_with_states_named_yes_and_no_is_created_and_runs(api, broker, ok, status):
    assert create(api, YES_NO).status_code == 201
    response = api.post("/api/v1/flows/f/executions/", {"input": {"ok": ok}}, format="json")
    assert response.json()["status"] == status


def test_a_yaml_date_is_a_string_not_a_500(api):
    response = create(api, pass_with("2001-12-14"))
    assert response.status_code == 201
    assert response.json()["definition"]["States"]["P"]["Result"] == "2001-12-14"


@pytest.mark.parametrize(
    ("result", "rule"),
    [(".nan", "NOT_A_JSON_NUMBER"), (".inf", "NOT_A_JSON_NUMBER"), ("!!binary aGk=", None)],
)
def test_a_yaml_value_no_json_can_hold_is_a_400_not_a_500(api, result, rule):
    response = create(api, pass_with(result))
    assert response.status_code == 400
    [diagnostic] = response.json()["error"]["details"]
    assert (diagnostic["rule"] if rule else diagnostic["code"]) == (
        rule or "INVALID_YAML_DESCRIPTION"
    )
    assert diagnostic["line"] == 5
    assert not Flow.objects.exists()


def test_test_state_reads_a_yaml_state_as_yaml_1_2(api):
    body = {"definition": "Type: Pass\nResult: [yes, no, on, off, 0o17]\nEnd: true\n"}
    response = api.post("/api/v1/test-state/", body, format="json")
    assert response.json()["output"] == ["yes", "no", "on", "off", 15]


def test_validate_reads_yaml_as_yaml_1_2(api):
    response = api.post("/api/v1/validate/", {"definition": YES_NO}, format="json")
    assert response.json() == {"valid": True, "diagnostics": []}


def test_a_version_saved_when_yaml_was_read_as_yaml_1_1_keeps_its_meaning(api):
    create(api, pass_with("fine"))
    version = FlowVersion.objects.get()
    # What PyYAML's YAML 1.1 made of "Result: yes" when this version was saved.
    FlowVersion.objects.filter(pk=version.pk).update(
        source=pass_with("yes"),
        definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": True, "End": True}}},
    )
    assert definition_of(version.pk)["States"]["P"]["Result"] is True


def test_flow_run_runs_states_named_yes_and_no(tmp_path):
    path = write(tmp_path, "f.yaml", YES_NO)
    result = cli("run", path, "--input", json.dumps({"ok": False}), tmp_path=tmp_path)
    assert json.loads(result.stdout)["error"] == "Declined", result.stderr
