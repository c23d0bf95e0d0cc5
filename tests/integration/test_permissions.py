"""The permission matrix: every endpoint x every role x anonymous."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from workflows import services
from workflows.roles import ensure_roles
from workflows.tokens import issue_token

pytestmark = pytest.mark.django_db

FLOW = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
ROLES = ["anonymous", "nobody", "viewer", "operator", "designer", "admin"]


def client_for(role):
    client = APIClient()
    if role == "anonymous":
        return client
    users = get_user_model()
    if role == "admin":
        user = users.objects.create_superuser(f"u-{role}", "", "pw-123-admin")
    else:
        user = users.objects.create_user(f"u-{role}", password="pw-123-user")
        user.groups.set(Group.objects.filter(name=role))
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def world(broker):
    ensure_roles()
    flow = services.create_flow("f", FLOW).flow
    execution, _ = services.start_execution(flow, {})
    return {"execution": execution}


def endpoints(execution):
    e = execution.pk
    read = "viewer"
    return [
        ("get", "/api/v1/flows/", None, read),
        ("get", "/api/v1/flows/f/", None, read),
        ("get", "/api/v1/flows/f/versions/", None, read),
        ("get", "/api/v1/flows/f/graph", None, read),
        ("get", "/api/v1/executions/", None, read),
        ("get", f"/api/v1/executions/{e}/", None, read),
        ("get", f"/api/v1/executions/{e}/history/", None, read),
        ("get", f"/api/v1/executions/{e}/states/", None, read),
        ("post", "/api/v1/validate/", {"definition": FLOW}, read),
        ("post", "/api/v1/flows/", {"name": "new", "definition": FLOW}, "designer"),
        ("put", "/api/v1/flows/f/", {"definition": FLOW}, "designer"),
        ("post", "/api/v1/flows/f/executions/", {"input": {}}, "operator"),
        ("post", f"/api/v1/executions/{e}/stop/", {"reason": "x"}, "operator"),
        ("post", f"/api/v1/executions/{e}/redrive/", {}, "operator"),
        ("post", f"/api/v1/executions/{e}/rerun/", {"state": "W"}, "operator"),
        ("post", "/api/v1/task-tokens/t1.x/success/", {"output": 1}, "operator"),
        ("get", "/api/v1/executions/?q=x", None, read),
        ("get", "/api/v1/flows/f/versions/1/diff/1/", None, read),
        ("post", "/api/v1/test-state/", {"definition": {"Type": "Pass", "End": True}}, read),
        ("post", "/api/v1/executions/bulk/stop/", {"ids": [str(e)], "reason": "x"}, "operator"),
        ("post", "/api/v1/executions/bulk/redrive/", {"ids": [str(e)]}, "operator"),
    ]


def allowed(role, needed):
    if role == "admin":
        return True
    if needed == "viewer":
        return role in ("viewer", "operator", "designer")
    return role == needed


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_allows_exactly_the_roles_it_should(world, role):
    client = client_for(role)
    for method, path, body, needed in endpoints(world["execution"]):
        status = getattr(client, method)(path, body, format="json").status_code
        if role == "anonymous":
            assert status == 401, (method, path, status)
        elif allowed(role, needed):
            assert status not in (401, 403), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)


@pytest.mark.django_db(transaction=True)  # the wait reads on a worker thread's connection
@pytest.mark.parametrize("role", ROLES)
def test_starting_and_waiting_allows_exactly_the_roles_that_may_start(
    world, role, short_lived_connections
):
    response = client_for(role).post("/api/v1/flows/f/executions/?wait=0.1", {}, format="json")
    if role == "anonymous":
        assert response.status_code == 401
    elif allowed(role, "operator"):
        assert response.status_code == 201
    else:
        assert response.status_code == 403


@pytest.mark.django_db(transaction=True)  # the claim runs on a worker thread's connection
@pytest.mark.parametrize("role", ROLES)
def test_polling_an_activity_allows_exactly_the_roles_that_may_operate(
    world, role, short_lived_connections
):
    status = client_for(role).post("/api/v1/activities/a/poll?wait=0").status_code
    if role == "anonymous":
        assert status == 401
    elif allowed(role, "operator"):
        assert status == 204
    else:
        assert status == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_the_api_docs_need_a_role(world, role, path):
    status = client_for(role).get(path).status_code
    if role == "anonymous":
        assert status == 401
    elif role == "nobody":
        assert status == 403
    else:
        assert status == 200
