import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from workflows import services
from workflows.web import views

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def execution(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW, name="pages"), {"x": 1})
    return execution


@pytest.mark.parametrize("path", ["/", "/flows/", "/flows/pages/", "/executions/"])
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(path, execution):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_execution_page_sends_an_anonymous_visitor_to_the_login_page(execution):
    response = Client().get(f"/executions/{execution.pk}/")
    assert response["Location"].startswith("/accounts/login/")


def test_health_answers_without_login(db):
    assert Client().get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/flows/",
        "/flows/pages/",
        "/executions/",
        "/executions/?status=RUNNING",
        "/executions/?flow=pages",
    ],
)
def test_every_page_renders_for_a_signed_in_user(browser, execution, path):
    assert browser.get(path).status_code == 200


def test_the_execution_page_embeds_graph_events_and_statuses_for_the_viewer(browser, execution):
    page = browser.get(f"/executions/{execution.pk}/").content.decode()
    assert f'data-legato-ws="/ws/executions/{execution.pk}/"' in page
    statuses = json.loads(
        page.split('id="legato-statuses" type="application/json">')[1].split("</script>")[0]
    )
    assert statuses == {"Work": "running"}


def test_an_unknown_flow_page_is_a_404(browser):
    assert browser.get("/flows/nope/").status_code == 404


def test_the_execution_list_can_be_filtered_by_flow(browser, execution, make_flow):
    make_flow({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, name="other")
    page = browser.get("/executions/?flow=other").content.decode()
    assert str(execution.pk) not in page


@pytest.mark.parametrize(
    "model",
    ["flow", "flowversion", "execution", "event", "taskattempt", "timer", "steplog", "auditentry"],
)
def test_the_admin_lists_every_model(model, execution):
    admin = get_user_model().objects.create_superuser("root", "", "pw-root-123")
    client = Client()
    client.force_login(admin)
    assert client.get(f"/admin/workflows/{model}/").status_code == 200


def test_the_admin_stop_action_aborts_running_executions(execution):
    admin = get_user_model().objects.create_superuser("root", "", "pw-root-123")
    client = Client()
    client.force_login(admin)
    client.post(
        "/admin/workflows/execution/",
        {"action": "stop_executions", "_selected_action": [str(execution.pk)]},
    )
    execution.refresh_from_db()
    assert execution.status == "ABORTED"


def test_a_signed_in_user_without_a_role_sees_a_page_that_says_so(db):
    nobody = get_user_model().objects.create_user("nobody", password="pw-nobody-1")
    client = Client()
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert b"no role yet" in response.content


def test_a_user_can_create_and_then_revoke_their_api_token(browser, user):
    from workflows.models import ApiToken
    from workflows.tokens import digest

    page = browser.post("/account/token/", {"action": "create"}).content.decode()
    key = page.split("data-legato-token>")[1].split("<")[0]
    assert ApiToken.objects.get(user=user).digest == digest(key)
    browser.post("/account/token/", {"action": "revoke"})
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_new_token_replaces_the_old_one(browser, user):
    from workflows.models import ApiToken

    browser.post("/account/token/", {"action": "create"})
    first = ApiToken.objects.get(user=user).digest
    browser.post("/account/token/", {"action": "create"})
    assert ApiToken.objects.get(user=user).digest != first


def test_the_audit_page_lists_operator_actions_with_their_reasons(browser, execution, user):
    services.stop_execution(execution.pk, user=user, reason="wrong input")
    page = browser.get("/audit/").content.decode()
    assert "wrong input" in page


def test_a_state_named_with_the_empty_string_gets_its_status_for_the_diagram():
    events = [{"state": "", "status": "running"}, {"state": "", "status": "succeeded"}]
    assert views.state_statuses(events) == {"": "succeeded"}
