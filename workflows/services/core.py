"""The transition core: lock, advance the interpreter, persist, publish after commit."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone

from .. import broadcast, dispatch, engine
from ..engine import payloads
from ..models import (
    AuditEntry,
    Event,
    Execution,
    TaskAttempt,
    Timer,
    definition_for,
    scoped_definition,
)
from . import statements
from .errors import (
    PayloadInvalid,
    PayloadTooLarge,
)

log = logging.getLogger("legato.services")

OPEN_ATTEMPT = [
    TaskAttempt.Status.SCHEDULED,
    TaskAttempt.Status.RUNNING,
    TaskAttempt.Status.WAITING,
]


def _unsafe(protection: str) -> bool:
    """Whether a protection is switched off (``LEGATO_UNSAFE``): only the fault suite's
    negative controls do this, to prove that its checks fail without the protection."""
    return protection in settings.LEGATO["UNSAFE"]


def _locked(manager: Any) -> Any:
    return manager.all() if _unsafe("row_lock") else manager.select_for_update()


# --- flows -----------------------------------------------------------------------------


def audit(user: Any, action: str, target: str, reason: str = "", **details: Any) -> None:
    """Record an operator action (in the caller's transaction when there is one)."""
    AuditEntry.objects.create(
        user=_user(user), action=action, target=target, reason=reason or "", details=details
    )


def _user(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- starting and stopping -------------------------------------------------------------


def _check_payload(value: Any, what: str) -> None:
    """Refuse a payload the database cannot store (nested too deeply, NaN, a NUL, a lone
    surrogate: PayloadInvalid) or that is over the size limit (PayloadTooLarge)."""
    try:
        text = payloads.dumps(value, settings.LEGATO["MAX_JSON_DEPTH"])
    except payloads.Unstorable as exc:
        raise PayloadInvalid(f"The {what} cannot be stored: {exc}") from None
    size = len(text.encode())
    limit = settings.LEGATO["MAX_PAYLOAD_BYTES"]
    if size > limit:
        raise PayloadTooLarge(f"The {what} is {size} bytes; the limit is {limit} bytes.")


# --- transitions -----------------------------------------------------------------------


@dataclass
class Takeover:
    """A worker that runs one of the attempts a transition schedules itself, straight away.

    The attempt is written already claimed, with its ``TaskStarted``, in the transition
    that schedules it, and is not published: the next step of a chain costs no broker
    round trip and no claim transaction. It is an ordinary claim (a lease, ``host:pid``),
    so a worker that dies holding it is recovered like any other.
    """

    worker: str
    queue: str | None  # the queue the worker took its delivery from (None: the default)
    token: uuid.UUID = field(default_factory=uuid.uuid4)
    attempt: TaskAttempt | None = None

    def accepts(self, attempt: TaskAttempt) -> bool:
        if attempt.resource.startswith("activity:") or self.attempt is not None:
            return False
        return routed_to(attempt.queue, self.queue)

    def take(self, attempt: TaskAttempt, now: datetime) -> None:
        for name, value in claim_values(self.token, self.worker, 1, now).items():
            setattr(attempt, name, value)
        self.attempt = attempt


def routed_to(attempt_queue: str, queue: str | None) -> bool:
    """Whether an attempt routed to ``attempt_queue`` belongs to a worker that took its
    message from ``queue`` (None and "" mean the default queue)."""
    if settings.EMBEDDED:  # one worker for every queue (see dispatch.publish_attempts)
        return True
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    return (attempt_queue or default) == (queue or default)


def claim_values(token: uuid.UUID, worker: str, claims: int, now: datetime) -> dict[str, Any]:
    """The fields of an attempt that ``worker`` holds under ``token`` from ``now``."""
    return {
        "status": TaskAttempt.Status.RUNNING,
        "claim": token,
        "claimed_by": worker[:200],
        "claims": claims,
        "started_at": now,
        "lease_until": now + timedelta(seconds=settings.LEGATO["CLAIM_LEASE_SECONDS"]),
    }


# What a step that cannot be recorded raises: its data (a wait of 1e300 seconds overflows
# a date, a deep value makes the engine recurse) or a defect, never the database being
# away (that is retried, not failed).
UNRECORDABLE = (
    ArithmeticError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    RecursionError,
    DataError,
)
MAX_CAUSE = 32768  # the longest cause Step Functions records


def _transition(
    execution_id: Any, event: dict[str, Any], guard: Any = None, takeover: Takeover | None = None
) -> bool:
    """Lock the execution, apply one interpreter event, persist. False if nothing changed.

    ``guard(execution)`` runs under the lock and may veto the event (a stale delivery).
    A step that cannot be computed or stored fails the execution (``fail_unrecordable``).
    """
    now = timezone.now()
    try:
        return _apply(execution_id, event, now, guard, takeover)
    except UNRECORDABLE as exc:
        if takeover is not None:
            takeover.attempt = None
        return fail_unrecordable(execution_id, f"the {event['type']} event", exc, now, guard)


def fail_unrecordable(
    execution_id: Any, what: str, exc: BaseException, now: datetime, guard: Any = None
) -> bool:
    """Fail an execution with ``States.Runtime`` because ``what`` (its step) raised ``exc``
    when computed or stored, in a transaction of its own (the step's rolled back).

    Every path that advances an execution under its lock ends here when its step cannot
    be recorded: left open, the step would be tried again at every lease, notification
    or sweep, forever, repeating its task's side effects. ``guard`` runs under the lock
    as in ``_transition`` (it records the outcome that could not be applied).
    """
    log.error("execution %s: %s could not be recorded", execution_id, what, exc_info=exc)
    cause = f"Legato could not record {what}: {describe(exc)}"
    failure = {"type": "fail", "error": engine.errors.RUNTIME, "cause": cause[:MAX_CAUSE]}
    return _apply(execution_id, failure, now, guard)


def describe(exc: BaseException) -> str:
    """An exception as text that can be stored: its message may quote the very value
    (a NUL, a lone surrogate) that made the step unrecordable."""
    return payloads.printable(f"{type(exc).__name__}: {exc}")


def _apply(
    execution_id: Any,
    event: dict[str, Any],
    now: datetime,
    guard: Any = None,
    takeover: Takeover | None = None,
) -> bool:
    ahead = _advance_ahead(execution_id, event, now)
    with transaction.atomic():
        if _unsafe("row_lock"):
            execution = Execution.objects.filter(pk=execution_id).first()
        else:
            execution = statements.select_for_update(Execution, execution_id)
        # A closed execution takes one event only: a redrive (the engine decides if it can).
        if execution is None or (not execution.is_open and event["type"] != "redrive"):
            return False
        if guard is not None and not guard(execution):
            return False
        if ahead is not None and ahead.matches(execution):
            step = ahead.step
        else:
            step = _advance(execution, event, now)
        if step.stale:
            return False
        _persist(execution, step, now, takeover)
    return True


def _advance(execution: Execution, event: dict[str, Any], now: datetime) -> engine.Step:
    """Let the interpreter apply ``event``; its events will get the next history numbers."""
    return engine.advance(
        definition_for(execution),
        execution.snapshot,
        event,
        now,
        first_event_id=execution.next_seq,
    )


@dataclass
class _Ahead:
    """A step computed outside the transaction, from the snapshot ``before``."""

    before: dict[str, Any]
    next_seq: int
    step: engine.Step

    def matches(self, execution: Execution) -> bool:
        return self.next_seq == execution.next_seq and self.before == execution.snapshot


def _advance_ahead(execution_id: Any, event: dict[str, Any], now: datetime) -> _Ahead | None:
    """On SQLite, compute the step before taking the lock.

    SQLite has one write lock for the whole database, and a transition holds it from
    ``BEGIN``: a step whose expressions take a second would make every other execution's
    transitions and starts wait that second. So the step is computed from an unlocked
    read, and the transition uses it if the snapshot it locks is still the same one
    (otherwise it computes again, as it always did). PostgreSQL locks one execution's
    row, so there a slow step only delays its own execution, and nothing is computed twice.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    pk = Execution._meta.pk.get_db_prep_value(execution_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql(), [pk])
        row = cursor.fetchone()
    if row is None or not row[0]:
        return None
    text, version_id, scope, next_seq = row
    try:
        definition = scoped_definition(version_id, scope)
        # Two decodings of one text: the engine changes the one it is given.
        step = engine.advance(definition, json.loads(text), event, now, first_event_id=next_seq)
    except UNRECORDABLE:
        # The unlocked snapshot may be stale: only the computation under the lock may fail
        # the execution.
        return None
    return _Ahead(json.loads(text), next_seq, step)


@lru_cache(maxsize=1)
def _snapshot_sql() -> str:
    """The snapshot as stored text (the ORM would decode it), and what a step needs too."""
    meta, quote = Execution._meta, connection.ops.quote_name
    fields = ("snapshot", "version", "scope", "next_seq")
    columns = ", ".join(quote(meta.get_field(f).column) for f in fields)
    # Identifiers from the model, the value a parameter: nothing here comes from a user.
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608


def event_row(execution_id: Any, seq: int, item: dict[str, Any], now: datetime) -> Event:
    """The history row for one interpreter event record."""
    return Event(
        execution_id=execution_id,
        seq=seq,
        type=item["type"],
        timestamp=now,
        state=item.get("state"),
        status=item.get("status"),
        details=item.get("details") or {},
    )


def _event(execution: Execution, item: dict[str, Any], now: datetime) -> Event:
    execution.next_seq += 1
    return event_row(execution.pk, execution.next_seq - 1, item, now)


def _persist(
    execution: Execution, step: engine.Step, now: datetime, takeover: Takeover | None = None
) -> None:
    """Write one interpreter step and arrange the after-commit side effects."""
    events = [_event(execution, item, now) for item in step.events]
    attempts: list[TaskAttempt] = []
    wake_at: list[datetime] = []
    for command in step.commands:
        kind = command["type"]
        if kind == "run_task":
            attempt = _new_attempt(execution, command, now)
            if takeover is not None and takeover.accepts(attempt):
                takeover.take(attempt, now)
                if attempt.started:
                    events.append(_event(execution, attempt.started, now))
            attempts.append(attempt)
        elif kind == "start_timer":
            fire_at = engine.parse_iso(command["fire_at"])
            Timer.objects.create(
                execution=execution, key=command["key"], kind=command["kind"], fire_at=fire_at
            )
            wake_at.append(fire_at)
        elif kind == "cancel_task":
            TaskAttempt.objects.filter(
                execution=execution,
                key=command["key"],
                status__in=OPEN_ATTEMPT,
            ).update(status=TaskAttempt.Status.CANCELLED, finished_at=now, claim=None)
        elif kind == "finish":
            execution.status = command["status"]
            execution.output = command["output"]
            execution.error = (command["error"] or "")[:256]
            execution.cause = command["cause"] or ""
            execution.stopped_at = now
            if execution.parent_token:
                child = execution.pk
                transaction.on_commit(lambda child=child: dispatch.child_finished(child))
        elif kind == "redriven":
            execution.status = Execution.Status.RUNNING
            execution.output = None
            execution.error = ""
            execution.cause = ""
            execution.stopped_at = None
            execution.redrive_count = command["count"]
    statements.insert(events)
    if attempts:
        statements.insert(attempts)
        if not attempts[0].pk:  # backends without RETURNING (older SQLite) leave pk unset
            keys = [a.key for a in attempts]
            attempts = list(TaskAttempt.objects.filter(execution=execution, key__in=keys))
            if takeover is not None and takeover.attempt is not None:
                takeover.attempt = next(a for a in attempts if a.key == takeover.attempt.key)
    cancelled_keys = [c["key"] for c in step.commands if c["type"] == "cancel_task"]
    execution.snapshot = step.snapshot
    # Rewriting the snapshot is most of a transition's cost; a claim's TaskStarted skips it.
    fields = ["snapshot"] if step.snapshot_changed else []
    fields += ["next_seq", "status", "output", "error", "cause", "stopped_at", "redrive_count"]
    statements.update(Execution, execution.pk, {f: getattr(execution, f) for f in fields})
    summary = execution_summary(execution)
    payload = [e.as_dict() for e in events]
    # Activity tasks are not pushed anywhere: external workers poll for them; a taken-over
    # attempt already has its worker.
    attempt_ids = [
        (a.pk, a.queue)
        for a in attempts
        if not a.resource.startswith("activity:") and a.status == TaskAttempt.Status.SCHEDULED
    ]
    transaction.on_commit(lambda: dispatch.publish_attempts(attempt_ids))
    if wake_at:
        transaction.on_commit(lambda: dispatch.timers_scheduled(min(wake_at)))
    transaction.on_commit(lambda: broadcast.events_recorded(str(execution.pk), payload, summary))
    if cancelled_keys:
        _stop_children_after_commit(execution, cancelled_keys)
    limit = settings.LEGATO["MAX_HISTORY_EVENTS"]
    if execution.status == Execution.Status.RUNNING and execution.next_seq > limit:
        if takeover is not None:
            takeover.attempt = None  # the failure below cancels it
        event = {
            "type": "fail",
            "error": "Legato.HistoryLimitExceeded",
            "cause": f"The execution's history passed {limit} events.",
        }
        _persist(execution, _advance(execution, event, now), now)
        return
    for command in step.commands:
        if command["type"] == "gather_results":
            _answer_gather(execution, command, now)


def _stop_children_after_commit(execution: Execution, keys: list[str]) -> None:
    """A cancelled flow:….sync task or Distributed Map run takes its child with it."""
    tokens = list(
        TaskAttempt.objects.filter(execution=execution, key__in=keys)
        .exclude(token=None)
        .values_list("token", flat=True)
    )
    if not tokens:
        return

    def stop_children() -> None:
        from .executions import stop_execution

        children = Execution.objects.filter(parent_token__in=tokens, status="RUNNING")
        for child_id in children.values_list("pk", flat=True):
            stop_execution(child_id, "Legato.ParentStopped", "The parent's task was cancelled")

    transaction.on_commit(stop_children)


def _answer_gather(execution: Execution, command: dict[str, Any], now: datetime) -> None:
    """Give a Distributed Map its results, read from its runs, in the same transaction."""
    prefix = f"{execution.pk}:{command['entry']}#"
    results: list[Any] = [None] * command["total"]
    runs = TaskAttempt.objects.filter(
        execution=execution, idempotency_key__startswith=prefix
    ).values_list("item_index", "status", "output", "error", "cause")
    for index, status, output, error, cause in runs:
        if index is not None and index < len(results):
            failed = status == TaskAttempt.Status.FAILED
            results[index] = {"Error": error, "Cause": cause} if failed else output
    event = {"type": "map_gathered", "frame": command["frame"], "results": results}
    _persist(execution, _advance(execution, event, now), now)


def _new_attempt(execution: Execution, command: dict[str, Any], now: datetime) -> TaskAttempt:
    return TaskAttempt(
        execution=execution,
        key=command["key"],
        state=command["state"],
        resource=command["resource"],
        queue=command.get("queue") or "",
        attempt=command["attempt"],
        idempotency_key=f"{execution.pk}:{command['entry']}",
        token=command.get("token"),
        item_index=command.get("index"),
        input=command["input"],
        started=command.get("started") or {},
        scheduled_at=now,
        published_at=now,
    )


def execution_summary(execution: Execution) -> dict[str, Any]:
    """The fields a live viewer needs to refresh its header."""
    return {
        "id": str(execution.pk),
        "name": execution.name,
        "status": execution.status,
        "output": execution.output,
        "error": execution.error or None,
        "cause": execution.cause or None,
        "started_at": _stamp(execution.started_at),
        "stopped_at": _stamp(execution.stopped_at),
        "redrive_count": execution.redrive_count,
        "parent": str(execution.parent_id) if execution.parent_id else None,
        "rerun_of": str(execution.rerun_of_id) if execution.rerun_of_id else None,
    }


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


# --- attempts ----------------------------------------------------------------------------
