"""Hostile and broken input gets a clear 4xx and leaves nothing half-written."""

import json

import pytest

from workflows.models import Execution, Flow

pytestmark = pytest.mark.django_db

FLOW = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def flow(api):
    api.post("/api/v1/flows/", {"name": "f", "definition": FLOW}, format="json")


def post_raw(api, path, body, content_type="application/json"):
    return api.generic("POST", path, body, content_type=content_type)


def test_an_input_over_the_payload_limit_is_a_413_and_starts_nothing(api, flow, broker):
    body = json.dumps({"input": {"blob": "x" * (300 * 1024)}})
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    assert not Execution.objects.exists()


def test_a_request_body_over_the_upload_limit_is_a_4xx(api, flow):
    body = json.dumps({"input": {"items": list(range(2_000_000))}})
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_json_nested_ten_thousand_levels_deep_is_a_400(api, flow):
    body = '{"input": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedRequest"


def test_a_definition_nested_ten_thousand_levels_deep_is_a_400(api):
    text = '{"StartAt": "P", "States": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = api.post("/api/v1/flows/", {"name": "deep", "definition": text}, format="json")
    assert response.status_code == 400
    assert not Flow.objects.filter(name="deep").exists()


def test_invalid_utf8_is_a_400(api, flow):
    response = post_raw(api, "/api/v1/flows/f/executions/", b'{"input": "\xff\xfe"}')
    assert response.status_code == 400


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(api):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    response = api.post("/api/v1/flows/", {"name": "bomb", "definition": bomb}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["code"] == "INVALID_YAML_DESCRIPTION"


@pytest.mark.parametrize("name", ["../etc", "a b", "é", "x" * 81, "", "<script>", "a/b"])
def test_a_flow_name_with_odd_characters_is_refused(api, name):
    response = api.post("/api/v1/flows/", {"name": name, "definition": FLOW}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["a b", "x" * 81, "é"])
def test_an_execution_name_with_odd_characters_is_refused(api, flow, broker, name):
    response = api.post("/api/v1/flows/f/executions/", {"name": name}, format="json")
    assert response.status_code == 400
    assert not Execution.objects.exists()


def test_a_definition_that_is_not_an_object_or_text_is_a_400(api):
    response = api.post("/api/v1/flows/", {"name": "n", "definition": [1, 2]}, format="json")
    assert response.status_code == 400


def test_a_client_over_its_request_rate_gets_429_with_the_error_body(api, settings):
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    cache.clear()
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {"user": "3/min"}
    try:
        responses = [api.get("/api/v1/flows/") for _ in range(4)]
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].json()["error"]["code"] == "Throttled"


# --- JSON that parses but cannot be stored: lone surrogates, deep nesting ---------------

LONE_SURROGATE = '"a\\ud800b"'  # JSON text: decodes to a string no UTF-8 can hold


@pytest.fixture
def high_recursion_limit():
    """What importing jsonata-python does to the whole process (it sets 10,000): Python's
    JSON reader then parses documents thousands of levels deep instead of refusing them."""
    import sys

    before = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    yield
    sys.setrecursionlimit(before)


def nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_lone_surrogate_in_an_input_is_a_400_that_says_where(api, flow, broker):
    body = '{"input": {"x": ' + LONE_SURROGATE + "}}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("MalformedRequest", {"path": "/input/x"})
    assert "surrogate" in error["message"]
    assert not Execution.objects.exists()


def test_a_lone_surrogate_in_a_key_is_a_400(api, flow, broker):
    body = '{"input": {' + LONE_SURROGATE + ": 1}}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"path": "/input/a\\ud800b"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/validate/", '{"definition": {"Comment": %s}}'),
        ("/api/v1/test-state/", '{"definition": {"Type": "Pass"}, "input": [%s]}'),
        ("/api/v1/test-state/", '{"definition": {"Type": "Pass"}, "variables": {"v": %s}}'),
        ("/api/v1/flows/", '{"name": "g", "definition": {"StartAt": %s, "States": {}}}'),
        ("/api/v1/flows/", '{"name": "g", "definition": "StartAt: x", "example_input": %s}'),
        ("/api/v1/task-tokens/abc/success/", '{"output": {"o": %s}}'),
        ("/api/v1/task-tokens/abc/failure/", '{"cause": %s}'),
    ],
)
def test_a_lone_surrogate_in_any_json_body_is_a_400(api, path, body):
    response = post_raw(api, path, body % LONE_SURROGATE)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedRequest"


def test_a_lone_surrogate_in_a_flow_update_is_a_400(api, flow):
    body = '{"definition": {"StartAt": "P", "Comment": ' + LONE_SURROGATE + ', "States": {}}}'
    response = api.generic("PUT", "/api/v1/flows/f/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"path": "/definition/Comment"}


def test_an_input_nested_900_levels_deep_is_a_400_not_a_500(api, flow, broker):
    body = '{"input": ' + nested_text(900) + "}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 400
    assert "nested more than 100 levels deep" in response.json()["error"]["message"]


def test_an_input_nested_5000_deep_is_a_400_not_a_409_when_the_parser_could_read_it(
    api, flow, broker, high_recursion_limit
):
    body = '{"input": ' + nested_text(5000) + "}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedRequest"
    assert not Execution.objects.exists()


def test_an_input_nested_as_deep_as_the_limit_allows_starts(api, flow, broker):
    body = '{"input": ' + nested_text(100) + "}"
    response = post_raw(api, "/api/v1/flows/f/executions/", body)
    assert response.status_code == 201


def test_the_nesting_limit_is_a_setting(api, flow, broker, settings):
    settings.LEGATO = {**settings.LEGATO, "MAX_JSON_DEPTH": 3}
    ok = post_raw(api, "/api/v1/flows/f/executions/", '{"input": [[[1]]]}')
    deep = post_raw(api, "/api/v1/flows/f/executions/", '{"input": [[[[1]]]]}')
    assert (ok.status_code, deep.status_code) == (201, 400)
    assert deep.json()["error"]["details"] == {"path": "/input/0/0/0"}


@pytest.mark.parametrize(
    "definition",
    [
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "DEEP", "End": True}}},
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": DEEP, "End": true}}}',
        "StartAt: P\nStates:\n  P:\n    Type: Pass\n    End: true\n    Result: DEEP\n",
    ],
    ids=["object", "json-text", "yaml-text"],
)
def test_a_definition_nested_900_levels_deep_is_a_400_not_a_500(api, definition):
    if isinstance(definition, dict):
        body = json.dumps({"name": "deep", "definition": definition})
        body = body.replace('"DEEP"', nested_text(900))
    else:
        body = json.dumps({"name": "deep", "definition": definition.replace("DEEP", "[]")})
        body = body.replace("[]", nested_text(900))
    response = post_raw(api, "/api/v1/flows/", body)
    assert response.status_code == 400
    assert not Flow.objects.filter(name="deep").exists()


def test_a_definition_text_nested_5000_deep_is_a_400_when_the_parser_could_read_it(
    api, high_recursion_limit
):
    text = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true, "Result": '
    text += nested_text(5000) + "}}}"
    response = api.post("/api/v1/flows/", {"name": "deep", "definition": text}, format="json")
    assert response.status_code == 400
    [diagnostic] = response.json()["error"]["details"]
    assert diagnostic["code"] == "INVALID_JSON_DESCRIPTION"
    assert "nested more than 100 levels deep" in diagnostic["message"]
    # The 101st container: the definition's own three, then the Result's 98th bracket.
    assert (diagnostic["line"], diagnostic["column"]) == (1, text.index("[") + 97 + 1)


ESCAPED_SURROGATE_KEY = '{"StartAt": "P", "\\ud866": 1, "States": {"P": {"Type": "Succeed"}}}'


def test_definition_text_with_an_escaped_lone_surrogate_is_validated_not_a_500(api):
    # The body is clean: the surrogate appears only when the definition's text is parsed.
    response = api.post("/api/v1/validate/", {"definition": ESCAPED_SURROGATE_KEY}, format="json")
    assert response.status_code == 200
    diagnostics = response.json()["diagnostics"]
    assert "LONE_SURROGATE" in [d["rule"] for d in diagnostics]
    assert "/\\ud866" in [d["path"] for d in diagnostics]  # spelled as its escape


def test_a_flow_whose_definition_text_has_an_escaped_lone_surrogate_is_a_400(api):
    body = {"name": "s", "definition": ESCAPED_SURROGATE_KEY}
    response = api.post("/api/v1/flows/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidDefinition"


@pytest.mark.parametrize(
    "text", [json.dumps("\ud800"), json.dumps({"\udc00": 1}), "[NaN]"], ids=["value", "key", "nan"]
)
def test_test_state_of_a_stage_that_parses_unstorable_text_answers_with_the_failure(api, text):
    state = {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
    body = {"definition": state, "input": {"s": text}}
    response = api.post("/api/v1/test-state/", body, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")
    assert answer["inspectionData"]["afterParameters"].startswith("(not shown: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [("TimestampPath", "9999-12-31T23:59:59-14:00"), ("SecondsPath", 10**30)],
)
def test_a_wait_past_the_year_9999_from_the_input_fails_the_execution_not_a_500(
    api, broker, field, value
):
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", field: "$.t", "End": True}}}
    api.post("/api/v1/flows/", {"name": "w", "definition": wait}, format="json")
    response = api.post("/api/v1/flows/w/executions/", {"input": {"t": value}}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["error"]) == ("FAILED", "States.Runtime")
