"""A database outage (restart, fail-over) loses no step outcome and gives clients a 503."""

import pytest
from django.db import OperationalError

from workflows import services, tasks
from workflows.models import TaskAttempt

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db(transaction=True)


def failing(times, real):
    calls = {"n": 0}

    def call(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    return call


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)


def test_a_completion_that_meets_a_database_outage_is_retried_until_recorded(
    make_flow, broker, monkeypatch
):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    real = services.complete_and_continue
    monkeypatch.setattr(services, "complete_and_continue", failing(3, real))
    tasks.run_attempt(broker.take()[0])
    assert TaskAttempt.objects.get(execution=execution).status == "SUCCEEDED"


def test_a_completion_gives_the_step_up_to_its_lease_when_the_outage_lasts(
    make_flow, broker, monkeypatch
):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": 1})
    monkeypatch.setattr(services, "complete_and_continue", failing(10**6, None))
    monkeypatch.setattr(services, "complete_attempt", failing(10**6, None))
    ticks = iter(range(0, 10**6, 5))
    monkeypatch.setattr(tasks.time, "monotonic", lambda: float(next(ticks)))
    with pytest.raises(OperationalError):
        tasks.run_attempt.run(broker.take()[0])
    assert TaskAttempt.objects.get(execution=execution).status == "RUNNING"


def test_the_api_answers_503_with_retry_after_while_the_database_is_unreachable(
    make_flow, api, monkeypatch
):
    make_flow(TASK_FLOW, "t")

    def down(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(services, "start_execution", down)
    response = api.post("/api/v1/flows/t/executions/", {"input": {}}, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "DatabaseUnavailable"
    assert response["Retry-After"] == "2"
