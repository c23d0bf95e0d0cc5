"""API tokens: stored as their SHA-256 only, created, replaced and revoked by their owner."""

import hashlib
import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def database_text():
    """Every value of every row of every table: what a stolen database file would show."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def page_token(user):
    client = Client()
    client.force_login(user)
    page = client.post("/account/token/", {"action": "create"}).content.decode()
    return page.split("data-legato-token>")[1].split("<")[0]


def calls_as(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/flows/").status_code


def test_a_token_is_kept_in_the_database_only_as_its_sha256(user):
    key = page_token(user)
    stored = database_text()
    assert key not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_a_token_made_on_the_token_page_calls_the_api(user):
    assert calls_as(page_token(user)) == 200


def test_the_api_token_command_prints_a_key_that_calls_the_api(user):
    out = io.StringIO()
    call_command("api_token", user.username, stdout=out)
    assert calls_as(out.getvalue().strip()) == 200


def test_django_rest_frameworks_token_command_still_prints_a_working_key_in_its_format(user):
    out = io.StringIO()
    call_command("drf_create_token", user.username, stdout=out)
    words = out.getvalue().split()
    assert words[:2] + words[3:] == ["Generated", "token", "for", "user", user.username]
    assert calls_as(words[2]) == 200


def test_the_api_token_command_replaces_the_previous_token(user):
    first = page_token(user)
    call_command("api_token", user.username, stdout=io.StringIO())
    assert calls_as(first) == 401


def test_the_api_token_command_revokes(user):
    key = page_token(user)
    call_command("api_token", user.username, "--revoke", stdout=io.StringIO())
    assert calls_as(key) == 401


def test_a_token_of_a_deactivated_user_is_refused(user):
    key = page_token(user)
    user.is_active = False
    user.save()
    assert calls_as(key) == 401


def test_a_key_that_is_not_a_token_is_a_401(user):
    page_token(user)
    assert calls_as("0" * 40) == 401


def test_an_admin_makes_a_token_for_a_user_and_is_shown_its_key_once(user):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "", "pw-root-123456")
    client = Client()
    client.force_login(admin)
    page = client.post("/admin/workflows/apitoken/add/", {"user": user.pk}, follow=True)
    key = page.content.decode().split("New API token for alice: ")[1].split(" ")[0]
    assert calls_as(key) == 200
    assert key not in client.get("/admin/workflows/apitoken/").content.decode()


def test_plain_tokens_from_before_keep_working_and_are_deleted(user):
    """Upgrading from Django REST framework's authtoken table (keys in plain text)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("workflows.migrations.0009_api_tokens")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, '
            "created timestamp NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, "2026-01-02 03:04:05", user.pk]
        )
    # The function reads only the editor's connection (a real editor cannot open inside
    # the test's transaction on SQLite).
    migration.hash_legacy_tokens(apps, SimpleNamespace(connection=connection))
    assert calls_as(key) == 200
    assert key not in database_text()
