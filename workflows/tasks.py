"""Thin Celery tasks: they take ids, and the services decide whether there is work."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from . import services, steplogs
from .resources import run_resource

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
HEARTBEAT_MIN_INTERVAL = 1.0


@shared_task(name="legato.run_attempt", ignore_result=True, bind=True)
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
        outcome = _run(claim)
        if time.monotonic() < until:
            claim = services.complete_and_continue(claim, worker, queue, **outcome)
        else:
            services.complete_attempt(claim.attempt_id, claim.claim, **outcome, held=claim)
            claim = None


def _run(claim: services.Claim) -> dict[str, Any]:
    logger, collector = steplogs.attempt_logger(claim.attempt_id)
    stop = threading.Event()
    keeper = threading.Thread(target=_keep_alive, args=(claim, collector, stop), daemon=True)
    keeper.start()
    try:
        outcome = run_resource(claim, logger=logger, heartbeat=_heartbeat(claim))
    finally:
        stop.set()
        keeper.join(5)
    services.append_logs(claim.attempt_id, collector.take())
    return outcome


def _heartbeat(claim: services.Claim):
    """``context.heartbeat()`` for handlers: at most one database round-trip a second."""
    last = [0.0]

    def beat() -> None:
        now = time.monotonic()
        if now - last[0] >= HEARTBEAT_MIN_INTERVAL:
            last[0] = now
            services.heartbeat_attempt(claim.attempt_id, claim.claim)

    return beat


def _keep_alive(
    claim: services.Claim, collector: steplogs.Collector, stop: threading.Event
) -> None:
    """While the handler runs: renew the lease (so the sweeper does not reclaim it) and
    flush its log lines to the viewers."""
    from django.db import close_old_connections

    renew_every = claim.lease_seconds / 3
    last_renewal = time.monotonic()
    try:
        while not stop.wait(FLUSH_SECONDS):
            services.append_logs(claim.attempt_id, collector.take())
            if time.monotonic() - last_renewal >= renew_every:
                last_renewal = time.monotonic()
                if not services.renew_lease(claim.attempt_id, claim.claim):
                    return
    except Exception:  # noqa: BLE001 - a failed flush retries at the end of the attempt
        log.warning("keep-alive for attempt %s failed", claim.attempt_id, exc_info=True)
    finally:
        close_old_connections()


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
    "autoretry_for": (OperationalError,),
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
