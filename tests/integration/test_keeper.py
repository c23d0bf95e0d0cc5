"""While handlers run, one thread per worker process renews their leases and streams
their log lines."""

import dataclasses
import time

import pytest

from workflows import services, steplogs, tasks
from workflows.models import StepLog, TaskAttempt

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def claim(make_flow, broker, monkeypatch):
    monkeypatch.setattr(tasks, "FLUSH_SECONDS", 0.05)
    services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    # A short lease makes the keeper renew it every 0.1 s.
    return dataclasses.replace(services.claim_attempt(attempt_id, "w"), lease_seconds=0.3)


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def lease_until(claim):
    return TaskAttempt.objects.get(pk=claim.attempt_id).lease_until


def test_a_running_handler_s_lease_is_renewed(claim):
    before = lease_until(claim)
    keeper = tasks._keeper()
    keeper.add(claim, steplogs.Collector())
    try:
        assert wait_for(lambda: lease_until(claim) > before)
    finally:
        keeper.remove(claim)


def test_a_running_handler_s_log_lines_are_stored_before_it_ends(claim):
    logger, collector = steplogs.attempt_logger(claim.attempt_id)
    keeper = tasks._keeper()
    keeper.add(claim, collector)
    try:
        logger.info("half way")
        assert wait_for(lambda: StepLog.objects.filter(attempt_id=claim.attempt_id).exists())
    finally:
        keeper.remove(claim)


def test_a_claim_that_is_no_longer_held_stops_being_renewed(claim):
    TaskAttempt.objects.filter(pk=claim.attempt_id).update(claim=None, status="SCHEDULED")
    keeper = tasks._keeper()
    keeper.add(claim, steplogs.Collector())
    assert wait_for(lambda: claim.attempt_id not in keeper.running)


def test_a_finished_handler_is_no_longer_kept(claim):
    keeper = tasks._keeper()
    keeper.add(claim, steplogs.Collector())
    keeper.remove(claim)
    before = lease_until(claim)
    time.sleep(0.3)
    assert lease_until(claim) == before


def test_removing_a_handler_waits_for_a_flush_in_progress(claim):
    import threading

    keeper = tasks._keeper()
    keeper.add(claim, steplogs.Collector())
    removed = threading.Event()
    with keeper.flushing:
        threading.Thread(target=lambda: (keeper.remove(claim), removed.set())).start()
        assert not removed.wait(0.2)
    assert removed.wait(2)
