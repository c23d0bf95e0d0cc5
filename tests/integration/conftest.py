"""Fixtures for tests that use the database: flows, users, and a captured broker."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from workflows import dispatch, services
from workflows.models import Flow
from workflows.tokens import issue_token


class Broker:
    """Stands in for Celery: records what was published so tests deliver it by hand."""

    def __init__(self) -> None:
        self.published: list[int] = []

    def publish(self, attempts: list[tuple[int, str]], republish: bool = False) -> None:
        self.published.extend(attempt_id for attempt_id, _ in attempts)

    def take(self) -> list[int]:
        taken, self.published = self.published, []
        return taken


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    fake = Broker()
    monkeypatch.setattr(dispatch, "publish_attempts", fake.publish)
    monkeypatch.setattr(dispatch, "timers_scheduled", lambda earliest: None)
    return fake


@pytest.fixture
def make_flow(db: Any):
    def make(definition: dict[str, Any], name: str = "test-flow") -> Flow:
        return services.create_flow(name, definition).flow

    return make


@pytest.fixture
def user(db: Any) -> Any:
    """An operator and designer: may do everything but administer."""
    from django.contrib.auth.models import Group

    from workflows.roles import ensure_roles

    ensure_roles()
    alice = get_user_model().objects.create_user("alice", password="pw-alice-123")
    alice.groups.set(Group.objects.filter(name__in=["operator", "designer"]))
    return alice


@pytest.fixture
def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def short_lived_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """For ``?wait=`` starts, which read on worker threads: with CONN_MAX_AGE 0 those
    threads' connections close after each read instead of outliving the test (PostgreSQL
    could not drop the test database while they are open)."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


TASK_FLOW = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "builtin:echo",
            "ResultPath": "$.work",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(autouse=True)
def _fresh_caches() -> Any:
    """Version ids restart in every test database; in-process caches must not outlive it."""
    from workflows import diagrams
    from workflows.models import definition_of, scoped_definition

    definition_of.cache_clear()
    scoped_definition.cache_clear()
    diagrams._graph_for_version.cache_clear()
    yield
