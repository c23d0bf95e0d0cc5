"""Password guessing: lockout per user and per address, password rules, no reset by e-mail."""

import base64

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "pw-alice-123"  # the `user` fixture's
# Each failure costs a password hash (half a second here): most tests lower the limit.
LIMIT = 3


@pytest.fixture(autouse=True)
def low_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def configured_limit(settings):
    """The limit as configured (LEGATO_LOGIN_FAILURE_LIMIT), for the tests about it."""
    settings.AXES_FAILURE_LIMIT = settings.LEGATO["LOGIN_FAILURE_LIMIT"]
    return settings.AXES_FAILURE_LIMIT


def sign_in(username, password, address="192.0.2.1"):
    """A login form post from ``address``: the response, and whether it signed in."""
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response, "_auth_user_id" in client.session


def test_sixty_wrong_passwords_then_the_right_one_does_not_sign_in(user, configured_limit):
    for _ in range(60):
        sign_in("alice", "not-the-password")
    response, signed_in = sign_in("alice", PASSWORD)
    assert not signed_in
    assert response.status_code == 429


def test_the_lockout_page_says_why_and_what_to_do(user):
    for _ in range(LIMIT):
        sign_in("alice", "not-the-password")
    page = sign_in("alice", PASSWORD)[0].content.decode()
    assert "Too many failed sign-ins" in page
    assert "administrator" in page


def test_fewer_failures_than_the_configured_limit_do_not_lock(user, configured_limit):
    for _ in range(configured_limit - 1):
        sign_in("alice", "not-the-password")
    assert sign_in("alice", PASSWORD)[1]


def test_failures_on_the_admin_login_count_too(user):
    for _ in range(LIMIT):
        Client(REMOTE_ADDR="192.0.2.1").post(
            "/admin/login/", {"username": "alice", "password": "not-the-password"}
        )
    assert not sign_in("alice", PASSWORD)[1]


def test_a_user_is_locked_whatever_addresses_the_guesses_come_from(user):
    for n in range(LIMIT):
        sign_in("alice", "not-the-password", address=f"198.51.100.{n + 1}")
    assert not sign_in("alice", PASSWORD, address="203.0.113.9")[1]


def test_an_address_is_locked_whatever_users_it_guesses(user):
    for n in range(LIMIT):
        sign_in(f"someone-{n}", "not-the-password", address="198.51.100.7")
    assert not sign_in("alice", PASSWORD, address="198.51.100.7")[1]
    assert sign_in("alice", PASSWORD, address="203.0.113.9")[1]


def test_a_forwarded_for_header_does_not_change_the_address(user):
    """Only the server (or the proxy it trusts, through uvicorn) names the client."""
    for n in range(LIMIT):
        client = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
        client.post("/accounts/login/", {"username": f"someone-{n}", "password": "x"})
    assert not sign_in("alice", PASSWORD, address="198.51.100.7")[1]


def test_the_lockout_ends_after_the_cool_off(user):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(LIMIT):
        sign_in("alice", "not-the-password")
    assert not sign_in("alice", PASSWORD)[1]
    cool_off = timedelta(minutes=settings.LEGATO["LOGIN_COOLOFF_MINUTES"], seconds=1)
    last = AccessAttempt.objects.get().attempt_time
    AccessAttempt.objects.update(attempt_time=last - cool_off)
    assert sign_in("alice", PASSWORD)[1]


def test_an_administrator_unlocks_a_user_in_the_admin(user):
    from axes.models import AccessAttempt

    for _ in range(LIMIT):
        sign_in("alice", "not-the-password")
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "", "pw-root-123456"))
    attempts = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert sign_in("alice", PASSWORD)[1]


def change_password(client, old):
    return client.post(
        "/accounts/password_change/",
        {"old_password": old, "new_password1": "a-new-pw-5678", "new_password2": "a-new-pw-5678"},
    )


@pytest.mark.parametrize("path", ["/accounts/password_change/", "/admin/password_change/"])
def test_wrong_old_passwords_on_a_password_change_page_count_toward_the_lockout(path, user):
    """A stolen session must not become a way to guess the password without limit."""
    user.is_staff = True  # the admin's page is for staff
    user.save()
    client = Client(REMOTE_ADDR="192.0.2.1")
    client.force_login(user)
    form = {"new_password1": "a-new-pw-5678", "new_password2": "a-new-pw-5678"}
    for _ in range(LIMIT):
        client.post(path, {"old_password": "not-the-password", **form})
    client.post(path, {"old_password": PASSWORD, **form})
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not sign_in("alice", PASSWORD)[1]


def test_the_right_old_password_changes_the_password(user):
    client = Client()
    client.force_login(user)
    change_password(client, PASSWORD)
    user.refresh_from_db()
    assert user.check_password("a-new-pw-5678")


@pytest.mark.parametrize(
    "path",
    ["/accounts/password_reset/", "/accounts/reset/MQ/set-password/", "/accounts/reset/done/"],
)
def test_there_is_no_password_reset_by_email(path, db):
    assert Client().get(path).status_code == 404


def test_the_api_takes_no_password_even_before_any_lockout(user):
    """No Basic authentication: a password cannot be tried through the API at all."""
    client = APIClient()
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert client.get("/api/v1/flows/").status_code == 401


def test_a_password_shorter_than_the_minimum_is_refused(db):
    from django.contrib.auth.password_validation import validate_password

    short = "Zq8#vY2!" + "x" * (settings.LEGATO["PASSWORD_MIN_LENGTH"] - 9)
    with pytest.raises(ValidationError):
        validate_password(short)
    validate_password(short + "k")


def test_the_generated_admin_password_meets_the_password_rules(db, monkeypatch):
    from django.contrib.auth.password_validation import validate_password

    from workflows.management.commands.bootstrap import ensure_admin

    monkeypatch.delenv("LEGATO_ADMIN_PASSWORD", raising=False)
    admin = ensure_admin()
    user = get_user_model().objects.get(username=admin.username)
    validate_password(admin.generated_password, user)
    assert len(admin.generated_password) >= settings.LEGATO["PASSWORD_MIN_LENGTH"]


def test_bootstrap_refuses_an_admin_password_that_breaks_the_rules(db, monkeypatch):
    from django.core.management import CommandError

    from workflows.management.commands.bootstrap import ensure_admin

    monkeypatch.setenv("LEGATO_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="LEGATO_ADMIN_PASSWORD"):
        ensure_admin()
    assert not get_user_model().objects.exists()
