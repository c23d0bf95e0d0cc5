"""celery:<task> resources, through a real (in-process) Celery worker and broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from workflows import services
from workflows.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@app.task(name="tests.add_one")
def add_one(payload):
    return {"n": payload["n"] + 1}


@app.task(name="tests.explode")
def explode(payload):
    raise ValueError("boom")


@pytest.fixture(autouse=True)
def allowed_tasks(settings):
    settings.LEGATO = {**settings.LEGATO, "CELERY_TASKS": ["tests.*"]}


@pytest.fixture
def worker():
    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=["legato", "celery"],
        shutdown_timeout=30,
    ):
        yield


def wait_for(execution, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.status != "RUNNING":
            return execution
        time.sleep(0.1)
    return execution


def flow(resource):
    return {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "End": True}},
    }


def test_a_celery_task_result_becomes_the_step_output(make_flow, worker):
    execution, _ = services.start_execution(make_flow(flow("celery:tests.add_one")), {"n": 1})
    assert wait_for(execution).output == {"n": 2}


def test_a_failing_celery_task_fails_the_step(make_flow, worker):
    execution, _ = services.start_execution(make_flow(flow("celery:tests.explode")), {})
    assert (wait_for(execution).status, execution.error) == ("FAILED", "Celery.TaskFailed")


def test_a_database_error_in_the_failure_callback_is_retried_not_lost(
    make_flow, worker, monkeypatch
):
    from django.db import OperationalError

    real = services.complete_token
    calls = []

    def flaky(token, **outcome):
        calls.append(token)
        if len(calls) == 1:
            raise OperationalError("database table is locked: workflows_taskattempt")
        return real(token, **outcome)

    monkeypatch.setattr(services, "complete_token", flaky)
    execution, _ = services.start_execution(make_flow(flow("celery:tests.explode")), {})
    assert (wait_for(execution).status, execution.error) == ("FAILED", "Celery.TaskFailed")
    assert len(calls) == 2


def test_a_celery_task_the_allow_list_does_not_name_is_not_sent(make_flow, worker, settings):
    settings.LEGATO = {**settings.LEGATO, "CELERY_TASKS": ["billing.*"]}
    execution, _ = services.start_execution(make_flow(flow("celery:tests.add_one")), {"n": 1})
    assert (wait_for(execution).status, execution.error) == ("FAILED", "Legato.ResourceNotAllowed")
    assert "LEGATO_CELERY_TASKS" in execution.cause


def test_legatos_own_tasks_are_never_sent_even_to_a_wildcard(make_flow, worker, settings):
    settings.LEGATO = {**settings.LEGATO, "CELERY_TASKS": ["*"]}
    execution, _ = services.start_execution(make_flow(flow("celery:legato.sweep")), {})
    assert (wait_for(execution).status, execution.error) == ("FAILED", "Legato.ResourceNotAllowed")
