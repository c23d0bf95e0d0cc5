"""Timers and recovery: firing due timers, re-publishing, reclaiming lost work."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .. import dispatch
from ..models import (
    Execution,
    TaskAttempt,
    Timer,
)
from .attempts import _claimant_is_dead
from .callbacks import notify_parent
from .core import _transition, _unsafe

log = logging.getLogger("legato.services")


def fire_timer(timer_id: int) -> bool:
    """Deliver a due timer to its execution, exactly once."""
    timer = Timer.objects.filter(pk=timer_id).first()
    if timer is None or timer.fired_at is not None:
        return False
    now = timezone.now()
    if timer.fire_at > now:
        return False

    def guard(execution: Execution) -> bool:
        return bool(Timer.objects.filter(pk=timer_id, fired_at=None).update(fired_at=now))

    fired = _transition(timer.execution_id, {"type": "timer_fired", "key": timer.key}, guard)
    if not fired:  # the execution ended meanwhile: retire the timer anyway
        Timer.objects.filter(pk=timer_id, fired_at=None).update(fired_at=now)
    return fired


@dataclass
class SweepReport:
    timers_fired: int = 0
    republished: int = 0
    reclaimed: int = 0
    parents_notified: int = 0

    @property
    def total(self) -> int:
        return self.timers_fired + self.republished + self.reclaimed + self.parents_notified


def sweep(batch: int = 500) -> SweepReport:
    """Fire due timers, re-publish attempts never claimed, reclaim attempts whose worker
    died (at once when it ran on this host, else when its lease runs out).

    Safe to run from several processes at once: every action re-checks under a lock.
    """
    if _unsafe("sweeper"):
        return SweepReport()
    now = timezone.now()
    report = SweepReport()
    due = Timer.objects.filter(fired_at=None, fire_at__lte=now).values_list("pk", flat=True)
    for timer_id in list(due[:batch]):
        report.timers_fired += fire_timer(timer_id)
    stale = now - timedelta(seconds=settings.LEGATO["REPUBLISH_AFTER_SECONDS"])
    unclaimed = list(
        TaskAttempt.objects.filter(status=TaskAttempt.Status.SCHEDULED, published_at__lt=stale)
        .exclude(resource__startswith="activity:")  # activity workers poll; nothing to push
        .values_list("pk", "queue", "published_at", "publish_count")[:batch]
    )
    after = settings.LEGATO["REPUBLISH_AFTER_SECONDS"]
    for attempt_id, queue, published_at, count in unclaimed:
        # Back off: a deep queue keeps attempts unclaimed for a while, and publishing them
        # again and again would only deepen it. 1x, 2x, 4x … up to 32x the base wait.
        if published_at > now - timedelta(seconds=after * 2 ** min(count, 5)):
            continue
        updated = TaskAttempt.objects.filter(
            pk=attempt_id, status=TaskAttempt.Status.SCHEDULED, published_at=published_at
        ).update(published_at=now, publish_count=count + 1)
        if updated:
            report.republished += 1
            dispatch.publish_attempts([(attempt_id, queue)], republish=True)
    running = TaskAttempt.objects.filter(status=TaskAttempt.Status.RUNNING)
    lost = list(
        running.filter(lease_until__lt=now).values_list("pk", "queue", "claim", "resource")[:batch]
    )
    # A worker killed on this host need not wait for its lease: its process is gone.
    # (Claims record host:pid; other hosts' sweepers, or the lease, cover theirs.)
    here = running.filter(lease_until__gte=now, claimed_by__startswith=f"{socket.gethostname()}:")
    lost += [
        row[:4]
        for row in here.values_list("pk", "queue", "claim", "resource", "claimed_by")[:batch]
        if _claimant_is_dead(row[4])
    ]
    for attempt_id, queue, claim, resource in lost:
        updated = TaskAttempt.objects.filter(
            pk=attempt_id, status=TaskAttempt.Status.RUNNING, claim=claim
        ).update(status=TaskAttempt.Status.SCHEDULED, claim=None, published_at=now)
        if updated:
            report.reclaimed += 1
            if not resource.startswith("activity:"):
                dispatch.publish_attempts([(attempt_id, queue)], republish=True)
    report.parents_notified = _notify_waiting_parents(batch)
    return report


def _notify_waiting_parents(batch: int) -> int:
    """Children that ended while their parent still waits: the after-commit notification
    was lost (a killed process, a flushed broker), so deliver it now."""
    waiting = TaskAttempt.objects.filter(status=TaskAttempt.Status.WAITING).values("token")
    children = Execution.objects.filter(parent_token__in=waiting).exclude(status="RUNNING")
    notified = 0
    for child_id in list(children.values_list("pk", flat=True)[:batch]):
        try:
            notified += notify_parent(str(child_id))
        except Exception:  # noqa: BLE001 - one parent's defect must not starve the others
            log.exception("could not notify the parent of execution %s", child_id)
    return notified


def next_timer_at() -> datetime | None:
    """When the earliest unfired timer is due (for sweepers that sleep until then)."""
    timer = Timer.objects.filter(fired_at=None).order_by("fire_at").only("fire_at").first()
    return timer.fire_at if timer else None
