"""Fixtures for the fault-injection suite: a migrated template database to copy per
scenario, and the session's report of measured figures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import missing

from . import harness

# Scenarios start real processes and wait for them: allow more than the default 300 s.
SCENARIO_TIMEOUT = int(900 * max(1.0, harness.scale()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults" in str(item.fspath) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SCENARIO_TIMEOUT))


@pytest.fixture(scope="session")
def fault_template(postgres_url, redis_url, tmp_path_factory):
    """A migrated, bootstrapped database that every scenario copies (CREATE … TEMPLATE).

    ``redis_url`` is requested only so a machine without Redis fails or skips here, as the
    rest of the suite does; the scenarios run their own ``redis-server``.
    """
    if shutil.which("redis-server") is None:
        missing("redis-server")
    template = harness.make_template(postgres_url, tmp_path_factory.mktemp("template"))
    yield template
    harness.drop_database(postgres_url, template.name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not harness.REPORT:
        return
    target = Path(
        os.environ.get(
            "LEGATO_FAULT_REPORT",
            Path(__file__).resolve().parents[2] / "data" / "fault-report.json",
        )
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(harness.REPORT, indent=2, sort_keys=True, default=str) + "\n")


def pytest_terminal_summary(terminalreporter) -> None:
    """One line per scenario in the test log, pass or fail (they are also in the report)."""
    if harness.REPORT:
        terminalreporter.section("fault-injection figures")
        for line in harness.REPORT:
            terminalreporter.write_line(json.dumps(line, sort_keys=True, default=str))
