"""Embedded mode: a Celery worker and the sweeper as threads inside the web process.

One process, no services: the broker is Celery's in-memory transport, so a restart
loses every queued message; ``resume`` therefore re-publishes all unfinished attempts
from the database on start-up, which is the truth.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import dispatch, services
from .models import TaskAttempt

log = logging.getLogger(__name__)


def resume() -> int:
    """Re-queue everything a previous embedded process left unfinished.

    In embedded mode this process is the only worker, so any attempt still marked as
    running belonged to a process that is gone.
    """
    now = timezone.now()
    TaskAttempt.objects.filter(status=TaskAttempt.Status.RUNNING).update(
        status=TaskAttempt.Status.SCHEDULED, claim=None, published_at=now
    )
    pending = list(
        TaskAttempt.objects.filter(status=TaskAttempt.Status.SCHEDULED).values_list("pk", "queue")
    )
    dispatch.publish_attempts(pending, republish=True)
    return len(pending)


def start_worker(concurrency: int = 4) -> threading.Thread:
    """Start a Celery worker (thread pool) consuming the in-process broker."""
    from .celery import app

    app.finalize()
    worker = app.WorkController(
        app=app,
        pool="threads",
        concurrency=concurrency,
        hostname="embedded@localhost",
        queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="WARNING",
    )
    thread = threading.Thread(target=worker.start, name="legato-worker", daemon=True)
    thread.start()
    return thread


def start_sweeper(stop: threading.Event) -> threading.Thread:
    """Fire timers and recover lost work; wakes early when a new timer is created."""
    wakeup = threading.Event()
    dispatch.local_wakeup = wakeup
    interval = settings.LEGATO["SWEEP_INTERVAL_SECONDS"]

    def loop() -> None:
        while not stop.is_set():
            try:
                services.sweep()
                nxt = services.next_timer_at()
            except Exception:  # noqa: BLE001 - keep sweeping; the next round retries
                log.exception("sweep failed")
                nxt = None
            finally:
                close_old_connections()
            delay = interval
            if nxt is not None:
                delay = min(interval, max(0.0, (nxt - timezone.now()).total_seconds()))
            wakeup.wait(delay + 0.001)
            wakeup.clear()

    thread = threading.Thread(target=loop, name="legato-sweeper", daemon=True)
    thread.start()
    return thread
