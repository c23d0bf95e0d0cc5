"""Requests the schemathesis run (or a PostgreSQL probe) turned into 500s: now clear 4xx."""

import pytest

pytestmark = pytest.mark.django_db

FLOW = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


@pytest.fixture
def flow(api, broker):
    assert api.post("/api/v1/flows/", {"name": "f", "definition": FLOW}, format="json")
    return api.post("/api/v1/flows/f/executions/", {}, format="json").json()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/flows/f/graph?version=abc", 400),  # was a 500 (ValueError)
        ("/api/v1/flows/f/graph?version=99999999999999999999", 400),  # was a 500 (overflow)
        ("/api/v1/flows/f/graph?version=", 200),  # empty: the latest
        ("/api/v1/flows/f/versions/99999999999999999999/", 404),  # was a 500 (overflow)
        ("/api/v1/flows/?q=a%00b", 400),  # PostgreSQL cannot compare with a NUL
        ("/api/v1/executions/?name=a%00b", 400),
        ("/api/v1/flows/a%00b/", 404),
        ("/api/v1/task-tokens/a%00b/heartbeat/", 404),
        ("/api/v1/activities/a%00b/poll?wait=0", 400),
        ("/api/v1/activities/a/poll?wait=nan", 400),
        ("/api/v1/executions/not-a-uuid/", 404),  # unrouted: still the JSON error body
    ],
)
def test_bad_parameters_are_clear_4xx_with_the_error_body(api, flow, url, status):
    method = api.post if "heartbeat" in url or "/poll" in url else api.get
    response = method(url)
    assert response.status_code == status
    if status >= 400:
        assert response.json()["error"]["code"]


def test_history_after_seq_beyond_any_sequence_number_is_a_400(api, flow):
    response = api.get(f"/api/v1/executions/{flow['id']}/history/?after_seq={2**63}")
    assert response.status_code == 400  # was a 500 (overflow)


@pytest.mark.parametrize(
    "body",
    [{"input": {"a": "x\u0000y"}}, {"input": {"k\u0000": 1}}, {"input": ["\u0000"]}],
)
def test_a_nul_character_in_a_json_body_is_a_400(api, flow, body):
    response = api.post("/api/v1/flows/f/executions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedRequest"


def test_a_number_where_a_string_belongs_is_a_400(api, flow):
    response = api.put("/api/v1/flows/f/", {"definition": FLOW, "description": 0}, format="json")
    assert response.status_code == 400
    assert "description" in response.json()["error"]["details"]


def test_a_null_input_starts_with_an_empty_object(api, flow):
    response = api.post("/api/v1/flows/f/executions/", {"input": None}, format="json")
    assert response.status_code == 201
    assert response.json()["input"] == {}


def test_the_activity_poll_names_its_method_on_a_405(api):
    response = api.get("/api/v1/activities/a/poll")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def cursor(query):
    import base64

    return base64.b64encode(query.encode()).decode()


EXECUTIONS, FLOWS, VERSIONS, FLOW_EXECUTIONS = (
    "/api/v1/executions/",
    "/api/v1/flows/",
    "/api/v1/flows/f/versions/",
    "/api/v1/flows/f/executions/",
)
# Each bad cursor, and the lists it is a fine cursor for (ordered by name, by number, or
# by start time; a name has the flow name's characters).
BAD_CURSORS = {
    "not-base64": ("garbage", ()),
    "not-ascii": ("%ff", ()),
    "bad-reverse": (cursor("r=x"), ()),
    "bad-offset": (cursor("o=x"), ()),
    "a-word": (cursor("p=abc"), (FLOWS,)),
    "a-small-number": (cursor("p=2"), (FLOWS, VERSIONS)),
    "nul": (cursor("p=%00"), ()),
    "out-of-range-date": (cursor("p=9999-12-31T23:59:59-14:00"), ()),
    "huge-number": (cursor("p=99999999999999999999999"), (FLOWS,)),
    "a-date": (cursor("p=2020-01-01T00:00:00Z"), (EXECUTIONS, FLOW_EXECUTIONS)),
}


@pytest.mark.parametrize("url", [EXECUTIONS, FLOWS, VERSIONS, FLOW_EXECUTIONS])
@pytest.mark.parametrize(("bad", "fine_for"), BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_malformed_cursor_is_a_400_on_every_list(api, flow, url, bad, fine_for):
    response = api.get(url, {"cursor": bad})
    if url in fine_for:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], list(error["details"])) == ("InvalidRequest", ["cursor"])


def test_the_cursors_the_api_writes_still_page_through_a_list(api, flow, broker, monkeypatch):
    from workflows.api.views.executions import ExecutionPagination

    monkeypatch.setattr(ExecutionPagination, "page_size", 2)
    for _ in range(4):
        api.post("/api/v1/flows/f/executions/", {}, format="json")
    seen, url = [], EXECUTIONS
    while url:
        page = api.get(url).json()
        seen += [item["id"] for item in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 5  # the fixture's execution and these four


@pytest.mark.parametrize("field", ["started_after", "started_before"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_date_filter_beyond_the_calendar_in_utc_is_a_400(api, flow, field, value):
    response = api.get("/api/v1/executions/", {field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
