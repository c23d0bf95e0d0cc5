"""Values no JSON column can hold, arriving after the API's parser (a worker's task output,
or text a flow parses at run time): a failed task or execution, never a 500 or a 409."""

import json

import pytest
from django.db import IntegrityError

from workflows import services
from workflows.models import Execution, TaskAttempt

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db

PARSE = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
    },
}


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def complete_first_task(flow, output):
    execution, _ = services.start_execution(flow, {})
    attempt = TaskAttempt.objects.get(execution=execution)
    claim = services.claim_attempt(attempt.pk, "w")
    services.complete_attempt(attempt.pk, claim.claim, output=output)
    attempt.refresh_from_db()
    return attempt


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"x": "a\ud800"}, "lone UTF-16 surrogate"),
        ({"x": [float("nan")]}, "not a JSON number"),
        ({"x": nested(150)}, "nested more than 100 levels deep"),
    ],
    ids=["lone-surrogate", "nan", "too-deep"],
)
def test_a_task_output_no_json_column_can_hold_fails_the_task(make_flow, broker, output, problem):
    attempt = complete_first_task(make_flow(TASK_FLOW), output)
    assert (attempt.status, attempt.error) == ("FAILED", "Legato.InvalidOutput")
    assert problem in attempt.cause and "/x" in attempt.cause


def test_a_task_output_holding_an_escaped_backslash_u0000_is_ordinary_text(make_flow, broker):
    attempt = complete_first_task(make_flow(TASK_FLOW), {"text": "C:\\u0000"})
    assert (attempt.status, attempt.output) == ("SUCCEEDED", {"text": "C:\\u0000"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [(json.dumps("\ud800"), "surrogate"), ("[NaN]", "not a JSON number")],
    ids=["lone-surrogate", "nan"],
)
def test_a_flow_that_parses_unstorable_text_fails_instead_of_a_500_or_a_409(
    api, broker, text, problem
):
    api.post("/api/v1/flows/", {"name": "parse", "definition": PARSE}, format="json")
    response = api.post("/api/v1/flows/parse/executions/", {"input": {"s": text}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["error"]) == ("FAILED", "States.Runtime")
    assert problem in body["cause"]


def test_the_nesting_limit_setting_reaches_the_interpreter(make_flow, broker, settings):
    settings.LEGATO = {**settings.LEGATO, "MAX_JSON_DEPTH": 4}
    wrap = {"Type": "Pass", "Parameters": {"in.$": "$"}, "End": True}
    flow = make_flow({"StartAt": "W", "States": {"W": wrap}})
    execution, _ = services.start_execution(flow, [[[[1]]]])  # 4 deep; the output 5
    assert execution.status == "FAILED"
    assert "nested more than 4 levels deep" in execution.cause


def test_a_database_refusal_at_start_is_not_reported_as_a_name_clash(make_flow, monkeypatch):
    from workflows.services import executions

    flow = make_flow(TASK_FLOW)

    def refuse(*args, **kwargs):
        raise IntegrityError("CHECK constraint failed: JSON_VALID(input)")

    monkeypatch.setattr(executions, "_persist", refuse)
    with pytest.raises(IntegrityError):
        services.start_execution(flow, {}, "only-one")
    assert not Execution.objects.exists()


def test_a_task_error_whose_cause_holds_a_lone_surrogate_is_stored_escaped(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    attempt = TaskAttempt.objects.get(execution=execution)
    claim = services.claim_attempt(attempt.pk, "w")
    services.complete_attempt(attempt.pk, claim.claim, error="Boom\ud800", cause="bad \udfff")
    attempt.refresh_from_db()
    execution.refresh_from_db()
    assert (attempt.error, attempt.cause) == ("Boom\\ud800", "bad \\udfff")
    assert (execution.status, execution.error) == ("FAILED", "Boom\\ud800")
