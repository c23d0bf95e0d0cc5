"""Thin Celery tasks: they take ids, and the services decide whether there is work."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services, steplogs
from .resources import run_resource

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
HEARTBEAT_MIN_INTERVAL = 1.0


# A database restart or fail-over: the connection is gone, or no new one is accepted yet.
DATABASE_ERRORS = (OperationalError, InterfaceError)


# A claim that fails on the database committed nothing: the task is simply tried again
# (and the sweeper re-publishes what these retries do not cover).
@shared_task(
    name="legato.run_attempt",
    ignore_result=True,
    bind=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=20,
)
def run_attempt(self: Any, attempt_id: int) -> None:
    """Claim an attempt, run its resource, record the result (a duplicate does nothing).

    While ``CONTINUE_SECONDS`` last, the completion also claims the execution's next
    attempt for this worker, which runs it at once instead of going through the broker.
    """
    worker = services.worker_name()
    queue = (self.request.delivery_info or {}).get("routing_key")
    until = time.monotonic() + settings.LEGATO["CONTINUE_SECONDS"]
    claim = services.claim_attempt(attempt_id, worker) or services.claim_orphan(
        attempt_id, worker, queue
    )
    while claim is not None:
        outcome, lines = _run(claim)
        # One budget for recording it all, inside the lease the keeper last renewed.
        deadline = time.monotonic() + claim.lease_seconds / 2
        try:  # the outcome matters more than its log lines: they get a third of the budget
            logs_until = time.monotonic() + claim.lease_seconds / 6
            _through_outage(logs_until, claim, services.append_logs, claim.attempt_id, lines)
        except DATABASE_ERRORS:
            log.warning("log lines of attempt %s were lost to an outage", claim.attempt_id)
        if time.monotonic() < until:
            # The same token on every try: a retry after a commit whose answer was lost
            # finds the next attempt that commit already took over.
            token = uuid.uuid4()
            claim = _through_outage(
                deadline, claim, services.complete_and_continue, claim, worker, queue,
                token=token, **outcome,
            )  # fmt: skip
        else:
            _through_outage(
                deadline, claim, services.complete_attempt, claim.attempt_id, claim.claim,
                **outcome, held=claim,
            )  # fmt: skip
            claim = None


def _run(claim: services.Claim) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    logger, collector = steplogs.attempt_logger(claim.attempt_id)
    keeper = _keeper()
    keeper.add(claim, collector)
    try:
        outcome = run_resource(claim, logger=logger, heartbeat=_heartbeat(claim))
    finally:
        keeper.remove(claim)
    return outcome, collector.take()


def _through_outage(
    deadline: float, claim: services.Claim, record: Any, *args: Any, **kwargs: Any
) -> Any:
    """Record what a handler produced, waiting out a database outage until ``deadline``:
    the outcome exists only in this process. Retrying is safe (a completion is fenced by
    its claim, so one whose commit went unseen is not applied twice). Past the deadline
    it gives up, and the lease and the sweeper take the step over."""
    from django.db import connection

    delay = 0.25
    while True:
        try:
            return record(*args, **kwargs)
        except DATABASE_ERRORS:
            if time.monotonic() + delay > deadline or "outage_retry" in settings.LEGATO["UNSAFE"]:
                raise
            log.warning("database unavailable recording attempt %s; retrying", claim.attempt_id)
            connection.close()  # the next try opens a new connection
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _heartbeat(claim: services.Claim):
    """``context.heartbeat()`` for handlers: at most one database round-trip a second."""
    last = [0.0]

    def beat() -> None:
        now = time.monotonic()
        if now - last[0] >= HEARTBEAT_MIN_INTERVAL:
            last[0] = now
            services.heartbeat_attempt(claim.attempt_id, claim.claim)

    return beat


class _Keeper:
    """One thread per process that, while handlers run, renews their leases (so the
    sweeper does not reclaim them) and flushes their log lines to the viewers. (A thread
    per attempt cost a start and a join on every step.)"""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        # Held while the keeper flushes an attempt's lines: ``remove`` waits for it, so
        # the final flush never runs beside one (both would number the same lines).
        self.flushing = threading.Lock()
        self.running: dict[int, tuple[services.Claim, steplogs.Collector, float]] = {}
        self.thread = threading.Thread(target=self._loop, name="legato-keeper", daemon=True)
        self.thread.start()

    def add(self, claim: services.Claim, collector: steplogs.Collector) -> None:
        with self.lock:
            self.running[claim.attempt_id] = (claim, collector, time.monotonic())

    def remove(self, claim: services.Claim) -> None:
        with self.lock:
            self.running.pop(claim.attempt_id, None)
        with self.flushing:
            pass

    def _loop(self) -> None:
        from django.db import close_old_connections, connections

        busy = False
        while True:
            time.sleep(FLUSH_SECONDS)
            with self.lock:
                running = list(self.running.values())
            if not running:
                if busy:  # idle now: give the database connection back
                    connections.close_all()
                    busy = False
                continue
            busy = True
            close_old_connections()
            for claim, collector, renewed in running:
                with self.flushing:
                    if claim.attempt_id in self.running:
                        self._keep(claim, collector, renewed)

    def _keep(self, claim: services.Claim, collector: steplogs.Collector, renewed: float) -> None:
        try:
            services.append_logs(claim.attempt_id, collector.take())
            if time.monotonic() - renewed < claim.lease_seconds / 3:
                return
            with self.lock:
                if claim.attempt_id in self.running:
                    self.running[claim.attempt_id] = (claim, collector, time.monotonic())
            if not services.renew_lease(claim.attempt_id, claim.claim):
                with self.lock:  # no longer ours: its completion will be ignored
                    self.running.pop(claim.attempt_id, None)
        except Exception:  # noqa: BLE001 - a failed flush retries at the end of the attempt
            log.warning("keep-alive for attempt %s failed", claim.attempt_id, exc_info=True)


_keeper_instance: _Keeper | None = None
_keeper_lock = threading.Lock()


def _keeper() -> _Keeper:
    global _keeper_instance
    with _keeper_lock:
        # A forked pool process inherits the object but not its thread: start anew.
        keeper = _keeper_instance
        if keeper is None or keeper.pid != os.getpid() or not keeper.thread.is_alive():
            keeper = _keeper_instance = _Keeper()
        return keeper


@shared_task(name="legato.fire_timer", ignore_result=True)
def fire_timer(timer_id: int) -> None:
    services.fire_timer(timer_id)


@shared_task(name="legato.sweep", ignore_result=True)
def sweep() -> None:
    services.sweep()


@shared_task(name="legato.notify_parent", ignore_result=True)
def notify_parent(execution_id: str) -> None:
    services.notify_parent(execution_id)


# The link/link_error callbacks are the only message that carries a celery: step's
# outcome: a database hiccup (a lock, a dropped connection) must not lose it.
CALLBACK_RETRY = {
    "autoretry_for": DATABASE_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 10,
    "max_retries": 20,
}


@shared_task(name="legato.celery_result", ignore_result=True, **CALLBACK_RETRY)
def celery_result(result: object, token: str) -> None:
    """The Celery task a ``celery:`` step sent has returned: complete the step."""
    try:
        services.complete_token(token, output=result)
    except services.ServiceError:
        log.info("celery result for a step that stopped waiting (%s)", token[:12])


@shared_task(name="legato.celery_failed", ignore_result=True, **CALLBACK_RETRY)
def celery_failed(task_id: str, token: str) -> None:
    """The Celery task a ``celery:`` step sent has failed: fail the step."""
    try:
        services.complete_token(
            token,
            error="Celery.TaskFailed",
            cause=f"Celery task {task_id} failed; its worker's log has the traceback",
        )
    except services.ServiceError:
        log.info("celery failure for a step that stopped waiting (%s)", token[:12])
