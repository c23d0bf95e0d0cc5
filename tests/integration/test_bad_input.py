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
