"""Thin Celery tasks: they take ids, and the services decide whether there is work."""

from __future__ import annotations

import logging
import socket
import threading

from celery import shared_task

from . import services
from .resources import run_resource

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{threading.get_native_id()}"


@shared_task(name="legato.run_attempt", ignore_result=True)
def run_attempt(attempt_id: int) -> None:
    """Claim an attempt, run its resource, record the result (a duplicate does nothing)."""
    claim = services.claim_attempt(attempt_id, f"{WORKER}/{threading.get_native_id()}")
    if claim is None:
        return
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(claim, stop), daemon=True)
    renewer.start()
    try:
        outcome = run_resource(claim)
    finally:
        stop.set()
    services.complete_attempt(claim.attempt_id, claim.claim, **outcome)


def _renew(claim: services.Claim, stop: threading.Event) -> None:
    """Keep the lease alive while the handler runs, so the sweeper does not reclaim it."""
    from django.db import close_old_connections

    try:
        while not stop.wait(claim.lease_seconds / 3):
            if not services.renew_lease(claim.attempt_id, claim.claim):
                return
    finally:
        close_old_connections()


@shared_task(name="legato.fire_timer", ignore_result=True)
def fire_timer(timer_id: int) -> None:
    services.fire_timer(timer_id)


@shared_task(name="legato.sweep", ignore_result=True)
def sweep() -> None:
    services.sweep()
