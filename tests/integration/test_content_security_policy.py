"""Every HTML page carries a Content-Security-Policy that forbids inline script, and is
written so that it works under it (no inline script, style or event handler)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from workflows import services

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

PAGES = [
    "/",
    "/flows/",
    "/flows/pages/",
    "/executions/",
    "/executions/{execution}/",
    "/audit/",
    "/account/token/",
    "/admin/",
    "/admin/workflows/execution/",
    "/admin/workflows/flow/add/",
    "/api/docs/",
]
DIAGRAM_PAGES = {"/flows/pages/", "/executions/{execution}/"}


@pytest.fixture
def admin_browser(db):
    client = Client()
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    return client


@pytest.fixture
def execution(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW, name="pages"), {"x": 1})
    return execution


def _policy(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def _get(client, path, execution):
    return client.get(path.format(execution=execution.pk))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_policy_that_allows_only_its_own_origin(
    admin_browser, execution, path
):
    policy = _policy(_get(admin_browser, path, execution))
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_lets_inline_script_or_eval_run(admin_browser, execution, path):
    script_src = _policy(_get(admin_browser, path, execution))["script-src"]
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src


@pytest.mark.parametrize("path", PAGES)
def test_only_the_diagram_pages_may_compile_webassembly(admin_browser, execution, path):
    script_src = _policy(_get(admin_browser, path, execution))["script-src"]
    assert ("'wasm-unsafe-eval'" in script_src) == (path in DIAGRAM_PAGES)


def test_the_login_page_carries_the_policy(db):
    assert _policy(Client().get("/accounts/login/"))["script-src"] == ["'self'"]


def test_an_error_page_carries_the_policy(admin_browser):
    response = admin_browser.get("/flows/no-such-flow/")
    assert response.status_code == 404
    assert "default-src 'self'" in response["Content-Security-Policy"]


DATA_BLOCK = re.compile(r'<script[^>]*type="application/json"[^>]*>.*?</script>', re.I | re.S)
INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=", re.I),
    re.compile(r"\son[a-z]+=", re.I),
    re.compile(r"javascript:", re.I),
]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_needs_inline_script_or_style(admin_browser, execution, path):
    # json_script blocks are data the browser never runs (a diagram's DOT has style=…).
    html = DATA_BLOCK.sub("", _get(admin_browser, path, execution).content.decode())
    assert [p.pattern for p in INLINE if p.search(html)] == []


def test_no_admin_page_of_any_model_needs_inline_script_or_style(admin_browser):
    from django.contrib import admin

    paths = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/{page}"
        for model in admin.site._registry
        for page in ("", "add/")
    ]
    found = {}
    for path in paths:
        response = admin_browser.get(path)
        html = DATA_BLOCK.sub("", response.content.decode())
        found[path] = [p.pattern for p in INLINE if p.search(html)]
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_a_report_uri_from_the_environment_joins_the_policy(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "LEGATO_DATA_DIR": str(tmp_path),
        "LEGATO_CSP_REPORT_URI": "https://reports.example.com/csp",
    }
    code = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "'report-uri': ['https://reports.example.com/csp']" in result.stdout
