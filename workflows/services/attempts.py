"""Task attempts: claiming, leases, heartbeats, logs, and recording results."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .. import broadcast, engine
from ..engine import payloads
from ..models import (
    Execution,
    StepLog,
    TaskAttempt,
)
from . import statements
from .core import (
    Takeover,
    _check_payload,
    _transition,
    _unsafe,
    claim_values,
    event_row,
    routed_to,
)
from .errors import (
    PayloadInvalid,
    PayloadTooLarge,
)


@dataclass
class Claim:
    """What a worker needs to run one attempt it now holds."""

    attempt_id: int
    claim: uuid.UUID
    execution_id: uuid.UUID
    resource: str
    input: Any
    state: str
    attempt: int
    idempotency_key: str
    lease_seconds: float
    token: str | None = None
    key: str = ""


def worker_name() -> str:
    """``host:pid/thread``: enough for a redelivery on the same host to tell whether the
    process that claimed an attempt is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}/{threading.get_native_id()}"


def _claimant_is_dead(claimed_by: str) -> bool:
    """True only when the claim came from a process on this host that no longer exists.

    Celery redelivers a message at once when a pool process dies mid-task
    (``task_reject_on_worker_lost``); without this check the redelivery would find the
    attempt still RUNNING under the dead claim and the step would wait for its lease.
    """
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def claim_attempt(attempt_id: int, worker: str) -> Claim | None:
    """Take a scheduled attempt for this worker, or None if it is not ours to run.

    A duplicate or late delivery finds the attempt already claimed, finished or
    cancelled and gets None: it must do nothing. The claim is a compare-and-set on the
    attempt's status and previous claim, under the execution's row lock (taken first,
    as every transition does), and records the ``TaskStarted`` event the interpreter
    prepared when it scheduled the attempt, so the snapshot is neither read nor written.
    """
    attempt = statements.get(TaskAttempt, attempt_id)
    if attempt is None or attempt.resource.startswith("activity:"):
        return None  # activity workers take theirs by polling
    orphaned = attempt.status == TaskAttempt.Status.RUNNING and _claimant_is_dead(
        attempt.claimed_by
    )
    if attempt.status != TaskAttempt.Status.SCHEDULED and not orphaned:
        return None
    now = timezone.now()
    lease = settings.LEGATO["CLAIM_LEASE_SECONDS"]
    token = uuid.uuid4()
    with transaction.atomic():
        seq = _lock_open_execution(attempt.execution_id, take_seq=bool(attempt.started))
        if seq is None:
            return None
        # Compare-and-set on what was read (a reclaim resets ``claim`` to NULL, so
        # ``claims`` tells a claim-and-reclaim cycle since the read apart).
        fence = {"status": attempt.status, "claim": attempt.claim, "claims": attempt.claims}
        if _unsafe("row_lock"):
            fence = {}
        values = claim_values(token, worker, attempt.claims + 1, now)
        taken = statements.update(TaskAttempt, attempt_id, values, fence)
        if not taken:
            # Another delivery won the race (or a stop cancelled the attempt) between
            # the read above and the lock: give back the sequence number.
            transaction.set_rollback(True)
            return None
        if attempt.started:
            _record_event(attempt.execution_id, seq, attempt.started, now)
        elif attempt.started is None:
            # An attempt scheduled before the interpreter prepared its TaskStarted.
            _transition(attempt.execution_id, {"type": "task_started", "key": attempt.key})
    return _claim_of(attempt, token, lease)


def _claim_of(attempt: TaskAttempt, token: uuid.UUID, lease: float) -> Claim:
    return Claim(
        attempt.pk,
        token,
        attempt.execution_id,
        attempt.resource,
        attempt.input,
        attempt.state,
        attempt.attempt,
        attempt.idempotency_key if not _unsafe("idempotency_key") else f"{attempt.pk}:{token}",
        lease,
        attempt.token,
        attempt.key,
    )


def claim_orphan(attempt_id: int, worker: str, queue: str | None) -> Claim | None:
    """For a delivery that found its attempt finished: an attempt of the same execution
    held by a dead process of this host, claimed for this worker, or None.

    A worker that continued an execution (``Takeover``) and was killed leaves its first
    attempt finished and a later one running; Celery redelivers only the first one's
    message. Taking the later one over here is at once; the sweeper would take a second.
    """
    execution_id = (
        TaskAttempt.objects.filter(pk=attempt_id).values_list("execution_id", flat=True).first()
    )
    if execution_id is None:
        return None
    held = (
        TaskAttempt.objects.filter(
            execution_id=execution_id,
            status=TaskAttempt.Status.RUNNING,
            claimed_by__startswith=f"{socket.gethostname()}:",
        )
        .exclude(resource__startswith="activity:")  # offered to activity workers again
        .values_list("pk", "queue", "claimed_by")
    )
    for pk, attempt_queue, claimed_by in held:
        if routed_to(attempt_queue, queue) and _claimant_is_dead(claimed_by):
            return claim_attempt(pk, worker)
    return None


def record_started(execution_id: Any, started: dict[str, Any] | None, key: str) -> None:
    """Record an attempt's ``TaskStarted`` after it was claimed outside a claim_attempt
    (activity workers take theirs with SKIP LOCKED)."""
    if started is None:
        _transition(execution_id, {"type": "task_started", "key": key})
        return
    if not started:
        return
    now = timezone.now()
    with transaction.atomic():
        seq = _lock_open_execution(execution_id, take_seq=True)
        if seq is not None:
            _record_event(execution_id, seq, started, now)


def _lock_open_execution(execution_id: Any, take_seq: bool) -> int | None:
    """Lock a running execution's row; with ``take_seq`` also take the next sequence
    number of its history (in one statement). None when the execution is not running."""
    if _unsafe("row_lock"):
        # The negative control: a read and a separate write, as if nothing were locked.
        seq = (
            Execution.objects.filter(pk=execution_id, status=Execution.Status.RUNNING)
            .values_list("next_seq", flat=True)
            .first()
        )
        if seq is not None and take_seq:
            Execution.objects.filter(pk=execution_id).update(next_seq=seq + 1)
        return seq
    if not take_seq:
        return (
            Execution.objects.select_for_update()
            .filter(pk=execution_id, status=Execution.Status.RUNNING)
            .values_list("next_seq", flat=True)
            .first()
        )
    table = connection.ops.quote_name(Execution._meta.db_table)
    pk = Execution._meta.pk.get_db_prep_value(execution_id, connection)
    with connection.cursor() as cursor:
        # UPDATE … RETURNING (PostgreSQL, SQLite 3.35+): the lock and the number at once.
        cursor.execute(
            f"UPDATE {table} SET next_seq = next_seq + 1"  # noqa: S608 - table name from the model
            " WHERE id = %s AND status = %s RETURNING next_seq",
            [pk, Execution.Status.RUNNING],
        )
        row = cursor.fetchone()
    return None if row is None else row[0] - 1


def _record_event(execution_id: Any, seq: int, record: dict[str, Any], now: Any) -> None:
    event = event_row(execution_id, seq, record, now)
    statements.insert([event])
    payload = [event.as_dict()]
    transaction.on_commit(lambda: broadcast.events_recorded(str(execution_id), payload, None))


def heartbeat_attempt(attempt_id: int, claim: uuid.UUID) -> bool:
    """A handler is alive: extend its lease and move its HeartbeatSeconds deadline."""
    if not renew_lease(attempt_id, claim):
        return False
    attempt = TaskAttempt.objects.filter(pk=attempt_id).only("execution_id", "key").first()
    if attempt is not None:
        _transition(attempt.execution_id, {"type": "task_heartbeat", "key": attempt.key})
    return True


def append_logs(attempt_id: int, records: list[dict[str, Any]]) -> None:
    """Store a handler's log lines and stream them to the execution's viewers."""
    if not records:
        return
    attempt = TaskAttempt.objects.filter(pk=attempt_id).only("execution_id", "state").first()
    if attempt is None:
        return
    start = StepLog.objects.filter(attempt_id=attempt_id).count() + 1
    rows = [
        StepLog(attempt_id=attempt_id, seq=start + i, **record) for i, record in enumerate(records)
    ]
    StepLog.objects.bulk_create(rows)
    payload = {
        "attempt": attempt_id,
        "state": attempt.state,
        "lines": [row.as_dict() for row in rows],
    }
    broadcast.logs_recorded(str(attempt.execution_id), payload)


def renew_lease(attempt_id: int, claim: uuid.UUID) -> bool:
    """Extend a running attempt's lease; False when the claim is no longer ours."""
    until = timezone.now() + timedelta(seconds=settings.LEGATO["CLAIM_LEASE_SECONDS"])
    return bool(
        TaskAttempt.objects.filter(
            pk=attempt_id, claim=claim, status=TaskAttempt.Status.RUNNING
        ).update(lease_until=until)
    )


def complete_attempt(
    attempt_id: int,
    claim: uuid.UUID,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
    held: Claim | None = None,
    takeover: Takeover | None = None,
) -> bool:
    """Record an attempt's result and advance the execution, once.

    Ignored (False) when the claim is stale: the attempt was reclaimed after a lost
    lease, cancelled by a stop or a timeout, or already completed by a duplicate.
    ``held`` (the worker's Claim) saves re-reading what the worker already knows;
    ``takeover`` claims one of the attempts this completion schedules for the worker.
    """
    if held is not None:
        attempt = TaskAttempt(
            pk=attempt_id, execution_id=held.execution_id, key=held.key, token=held.token
        )
    else:
        attempt = (
            TaskAttempt.objects.filter(pk=attempt_id).only("execution_id", "key", "token").first()
        )
    if attempt is None:
        return False
    if error is None:
        try:
            _check_payload(output, "task output")
        except PayloadTooLarge as exc:
            output, error, cause = None, engine.errors.DATA_LIMIT_EXCEEDED, exc.message
        except PayloadInvalid as exc:
            output, error, cause = None, "Legato.InvalidOutput", exc.message
    else:
        # A handler's exception text is stored and shown as is: keep it storable.
        error, cause = payloads.printable(error), payloads.printable(cause or "")
    now = timezone.now()

    if error:
        status = TaskAttempt.Status.FAILED
    elif attempt.token:
        # A callback task: its handler handed the token out; the token's completion (API,
        # activity worker, child execution) finishes the state.
        status = TaskAttempt.Status.WAITING
    else:
        status = TaskAttempt.Status.SUCCEEDED

    def guard(execution: Execution) -> bool:
        # Compare-and-set in one statement: only the current claim of a running attempt
        # completes it (a reclaim, a stop or a duplicate changed either).
        fence = {} if _unsafe("fencing") else {"status": TaskAttempt.Status.RUNNING, "claim": claim}
        result = {
            "status": status,
            "finished_at": now,
            "output": None if error else output,
            "error": (error or "")[:256],
            "cause": cause or "",
        }
        return bool(statements.update(TaskAttempt, attempt_id, result, fence))

    event: dict[str, Any] = {"key": attempt.key}
    if error:
        event.update(type="task_failed", error=error, cause=cause)
    elif attempt.token:
        if held is not None and not engine.records_submission(held.resource):
            # Only the attempt changes. Skipping the execution's snapshot matters for a
            # Distributed Map run: the parent's grows with the fan-out.
            with transaction.atomic():
                return guard(None)  # type: ignore[arg-type]
        event.update(type="task_submitted", output=output)
    else:
        event.update(type="task_succeeded", output=output)
    return _transition(attempt.execution_id, event, guard, takeover)


def complete_and_continue(
    held: Claim,
    worker: str,
    queue: str | None,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
    token: uuid.UUID | None = None,
) -> Claim | None:
    """Complete a worker's attempt and hand it the next one of the same execution, if
    the completion schedules one on the worker's queue (see ``Takeover``).

    ``token`` is the claim the next attempt gets. A worker passes the same one when it
    tries again after a database error: if the first try committed unseen, the retry is
    refused by the fence and finds the attempt that try took over.
    """
    lease = settings.LEGATO["CLAIM_LEASE_SECONDS"]
    takeover = Takeover(worker, queue, token or uuid.uuid4())
    recorded = complete_attempt(held.attempt_id, held.claim, output, error, cause, held, takeover)
    if takeover.attempt is not None:
        return _claim_of(takeover.attempt, takeover.token, lease)
    if recorded or token is None:
        return None
    taken = TaskAttempt.objects.filter(
        execution_id=held.execution_id, claim=token, status=TaskAttempt.Status.RUNNING
    ).first()
    return None if taken is None else _claim_of(taken, token, lease)


# --- timers and recovery ---------------------------------------------------------------------
