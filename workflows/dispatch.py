"""Publishing wake-up hints to the broker, after commit.

A publish that fails (broker down, Redis flushed) is only logged: the attempt row is
already committed and the sweeper publishes it again. Nothing here is the source of
truth.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)

# Set by the embedded runtime so that a new timer wakes its in-process sweeper at once.
local_wakeup: threading.Event | None = None

# Timers closer than this get a Celery countdown as a latency hint; the row stays the truth.
HINT_HORIZON_SECONDS = 30


def publish_attempts(attempts: list[tuple[int, str]], republish: bool = False) -> None:
    from .tasks import run_attempt

    default = settings.CELERY_TASK_DEFAULT_QUEUE
    for attempt_id, queue in attempts:
        # Embedded mode has one worker for everything: a Task's Queue only routes when
        # there are worker pools to route between.
        target = default if settings.EMBEDDED else (queue or default)
        try:
            run_attempt.apply_async(args=[attempt_id], queue=target, retry=False)
        except Exception:  # noqa: BLE001 - the sweeper re-publishes what failed here
            log.warning(
                "publish of attempt %s failed; the sweeper will retry", attempt_id, exc_info=True
            )
        else:
            if republish:
                log.info("re-published attempt %s", attempt_id)


def timers_scheduled(earliest: datetime) -> None:
    if local_wakeup is not None:
        local_wakeup.set()
        return
    delay = (earliest - timezone.now()).total_seconds()
    if delay > HINT_HORIZON_SECONDS:
        return
    from .tasks import sweep

    try:
        sweep.apply_async(countdown=max(delay, 0), retry=False)
    except Exception:  # noqa: BLE001 - the periodic sweeper fires the timer anyway
        log.warning("timer hint could not be published", exc_info=True)


def child_finished(execution_id: Any) -> None:
    """A child execution ended: wake its parent's waiting task (the sweeper retries)."""
    from .tasks import notify_parent

    try:
        notify_parent.apply_async(args=[str(execution_id)], retry=False)
    except Exception:  # noqa: BLE001 - the sweeper notifies parents it finds still waiting
        log.warning("could not publish the parent notification for %s", execution_id, exc_info=True)
