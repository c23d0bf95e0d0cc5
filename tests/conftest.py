"""Shared test fixtures, and the rule that CI may not skip real-services tests.

Tests that need PostgreSQL, Redis or Chromium skip politely when those are missing; with
``LEGATO_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "LEGATO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LEGATO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("LEGATO_CHROMIUM", "/usr/bin/chromium")


def services_required() -> bool:
    return os.environ.get("LEGATO_REQUIRE_SERVICES") == "1"


def missing(what: str) -> None:
    """Skip, or fail when CI demands every real-services test to run."""
    message = f"requires {what}"
    if services_required():
        pytest.fail(f"{message} (LEGATO_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    from urllib.parse import urlparse

    url = urlparse(POSTGRES_URL)
    if not _reachable(url.hostname or "127.0.0.1", url.port or 5432):
        missing("PostgreSQL")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    from urllib.parse import urlparse

    url = urlparse(REDIS_URL)
    if not _reachable(url.hostname or "127.0.0.1", url.port or 6379):
        missing("Redis")
    return REDIS_URL


@pytest.fixture(scope="session")
def chromium() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing("Chromium")
    return CHROMIUM


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Under ``LEGATO_REQUIRE_SERVICES=1`` a skipped test is a failed test: a green CI that
    skipped the real-services tests would be a red CI in disguise."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and services_required() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under LEGATO_REQUIRE_SERVICES=1: {report.longrepr}"
