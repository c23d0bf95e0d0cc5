"""The only writer of execution state.

Every change to an execution follows one shape: open a transaction, lock the execution
row, let the pure interpreter compute the next step, save the snapshot, append the
history events with consecutive sequence numbers, create the attempts and timers it
asked for, and only after commit publish the attempts to the broker and the events to
the channel layer. ``UNIQUE(execution, seq)`` plus the row lock make each transition
happen exactly once, however many workers, sweepers or web processes race for it.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import broadcast, dispatch, engine
from .models import (
    Event,
    Execution,
    Flow,
    FlowVersion,
    StepLog,
    TaskAttempt,
    Timer,
    definition_of,
)

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A request the service layer refuses, with a stable code for the API."""

    code = "InvalidRequest"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DefinitionInvalid(ServiceError):
    code = "InvalidDefinition"


class ExecutionAlreadyExists(ServiceError):
    code = "ExecutionAlreadyExists"
    status = 409


class FlowAlreadyExists(ServiceError):
    code = "FlowAlreadyExists"
    status = 409


class PayloadTooLarge(ServiceError):
    code = "PayloadTooLarge"
    status = 413


def _unsafe(protection: str) -> bool:
    """Whether a protection is switched off (``LEGATO_UNSAFE``): only the fault suite's
    negative controls do this, to prove that its checks fail without the protection."""
    return protection in settings.LEGATO["UNSAFE"]


def _locked(manager: Any) -> Any:
    return manager.all() if _unsafe("row_lock") else manager.select_for_update()


# --- flows -----------------------------------------------------------------------------


def import_definition(source: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Turn Alibaba FDL or CloudFlow into ASL; ASL passes through unchanged.

    Returns the source to store (the converted ASL as JSON text for imports) and the
    conversion's warnings; conversion errors raise DefinitionInvalid.
    """
    import json

    from .engine import fdl

    try:
        data = engine.parse(source).data
    except engine.SourceError:
        return source, []  # the validator reports the syntax error with its position
    if fdl.detect(data) == "asl":
        return source, []
    converted = fdl.convert(source)
    diagnostics = [d.as_dict() for d in converted.diagnostics]
    if not converted.ok:
        raise DefinitionInvalid(
            f"The {converted.dialect} definition cannot be converted to the States Language.",
            diagnostics,
        )
    return json.dumps(converted.definition, indent=2), diagnostics


def check_definition(source: Any) -> engine.Result:
    """Validate a definition; raise DefinitionInvalid with every diagnostic if it has errors."""
    result = engine.validate(source)
    if not result.valid:
        raise DefinitionInvalid(
            "The definition is invalid.", [d.as_dict() for d in result.diagnostics]
        )
    return result


def _source_text(source: Any) -> str:
    if isinstance(source, str):
        return source
    import json

    return json.dumps(source, indent=2)


@transaction.atomic
def create_flow(
    name: str, source: Any, description: str = "", user: Any = None, example_input: Any = None
) -> FlowVersion:
    """Create a flow with its first version (ASL, or FDL/CloudFlow converted to ASL)."""
    source, warnings = import_definition(source)
    result = check_definition(source)
    if Flow.objects.filter(name=name).exists():
        raise FlowAlreadyExists(f"A flow named {name!r} already exists.")
    flow = Flow.objects.create(
        name=name, description=description, created_by=_user(user), example_input=example_input
    )
    return _add_version(flow, source, result, user, warnings)


@transaction.atomic
def save_flow_version(
    flow: Flow, source: Any, description: str | None = None, user: Any = None
) -> FlowVersion:
    """Save a new immutable version of an existing flow."""
    source, warnings = import_definition(source)
    result = check_definition(source)
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    if description is not None:
        flow.description = description
    return _add_version(flow, source, result, user, warnings)


def _add_version(
    flow: Flow, source: Any, result: engine.Result, user: Any, warnings: list[dict[str, Any]]
) -> FlowVersion:
    flow.latest_version += 1
    flow.save(update_fields=["latest_version", "description", "updated_at"])
    version = FlowVersion.objects.create(
        flow=flow,
        number=flow.latest_version,
        source=_source_text(source),
        source_format="yaml" if result.format == "yaml" else "json",
        definition=result.definition,
        created_by=_user(user),
    )
    # Not stored: warnings are feedback for whoever saved this version, right now.
    version.warnings = warnings + [
        d.as_dict() for d in result.diagnostics if d.severity == "WARNING"
    ]
    return version


def _user(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- starting and stopping -------------------------------------------------------------


def _check_payload(value: Any, what: str) -> None:
    import json

    size = len(json.dumps(value, separators=(",", ":")).encode())
    limit = settings.LEGATO["MAX_PAYLOAD_BYTES"]
    if size > limit:
        raise PayloadTooLarge(f"The {what} is {size} bytes; the limit is {limit} bytes.")


def start_execution(
    flow: Flow,
    input: Any = None,
    name: str | None = None,
    user: Any = None,
    version: FlowVersion | None = None,
) -> tuple[Execution, bool]:
    """Start an execution of a flow's latest version (or ``version``).

    Starting again with the same name and the same input while the first is still open
    returns the first (``created`` is false); any other reuse of a name is refused.
    """
    input = {} if input is None else input
    _check_payload(input, "input")
    version = version or flow.versions.get(number=flow.latest_version)
    execution_id = uuid.uuid4()
    name = name or str(execution_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                id=execution_id,
                flow=flow,
                version=version,
                name=name,
                input=input,
                started_at=now,
                started_by=_user(user),
                snapshot={},
            )
            step = engine.start(
                version.parsed,
                input,
                now=now,
                execution_id=str(execution.id),
                execution_name=name,
                state_machine_name=flow.name,
                seed=secrets.randbits(32),
            )
            _persist(execution, step, now)
    except IntegrityError:
        existing = Execution.objects.filter(flow=flow, name=name).first()
        if existing is not None and existing.is_open and existing.input == input:
            return existing, False
        raise ExecutionAlreadyExists(
            f"An execution named {name!r} already exists for flow {flow.name!r}."
        ) from None
    return execution, True


def stop_execution(execution_id: Any, error: str = "", cause: str = "", user: Any = None) -> bool:
    """Abort a running execution; its running attempts are cancelled and timers dropped."""
    return _transition(
        execution_id, {"type": "stop", "error": error or None, "cause": cause or None}
    )


# --- transitions -----------------------------------------------------------------------


def _transition(execution_id: Any, event: dict[str, Any], guard: Any = None) -> bool:
    """Lock the execution, apply one interpreter event, persist. False if nothing changed.

    ``guard(execution)`` runs under the lock and may veto the event (a stale delivery).
    """
    now = timezone.now()
    with transaction.atomic():
        execution = _locked(Execution.objects).filter(pk=execution_id).first()
        if execution is None or not execution.is_open:
            return False
        if guard is not None and not guard(execution):
            return False
        step = engine.advance(definition_of(execution.version_id), execution.snapshot, event, now)
        if not step.events and not step.commands:
            return False
        _persist(execution, step, now)
    return True


def _persist(execution: Execution, step: engine.Step, now: datetime) -> None:
    """Write one interpreter step and arrange the after-commit side effects."""
    events = []
    for item in step.events:
        events.append(
            Event(
                execution=execution,
                seq=execution.next_seq,
                type=item["type"],
                timestamp=now,
                state=item["state"],
                status=item["status"],
                details=item["details"],
            )
        )
        execution.next_seq += 1
    Event.objects.bulk_create(events)
    attempts: list[TaskAttempt] = []
    wake_at: list[datetime] = []
    for command in step.commands:
        kind = command["type"]
        if kind == "run_task":
            attempts.append(_new_attempt(execution, command, now))
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
                status__in=[TaskAttempt.Status.SCHEDULED, TaskAttempt.Status.RUNNING],
            ).update(status=TaskAttempt.Status.CANCELLED, finished_at=now, claim=None)
        elif kind == "finish":
            execution.status = command["status"]
            execution.output = command["output"]
            execution.error = (command["error"] or "")[:256]
            execution.cause = command["cause"] or ""
            execution.stopped_at = now
    if attempts:
        TaskAttempt.objects.bulk_create(attempts)
        if not attempts[0].pk:  # backends without RETURNING (older SQLite) leave pk unset
            keys = [a.key for a in attempts]
            attempts = list(TaskAttempt.objects.filter(execution=execution, key__in=keys))
    execution.snapshot = step.snapshot
    execution.save(
        update_fields=["snapshot", "next_seq", "status", "output", "error", "cause", "stopped_at"]
    )
    summary = execution_summary(execution)
    payload = [e.as_dict() for e in events]
    attempt_ids = [(a.pk, a.queue) for a in attempts]
    transaction.on_commit(lambda: dispatch.publish_attempts(attempt_ids))
    if wake_at:
        transaction.on_commit(lambda: dispatch.timers_scheduled(min(wake_at)))
    transaction.on_commit(
        lambda: broadcast.events_recorded(str(execution.pk), execution.flow.name, payload, summary)
    )


def _new_attempt(execution: Execution, command: dict[str, Any], now: datetime) -> TaskAttempt:
    return TaskAttempt(
        execution=execution,
        key=command["key"],
        state=command["state"],
        resource=command["resource"],
        queue=command.get("queue") or "",
        attempt=command["attempt"],
        idempotency_key=f"{execution.pk}:{command['entry']}",
        input=command["input"],
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
    }


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


# --- attempts ----------------------------------------------------------------------------


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


def claim_attempt(attempt_id: int, worker: str) -> Claim | None:
    """Take a scheduled attempt for this worker, or None if it is not ours to run.

    A duplicate or late delivery finds the attempt already claimed, finished or
    cancelled and gets None: it must do nothing.
    """
    now = timezone.now()
    lease = settings.LEGATO["CLAIM_LEASE_SECONDS"]
    token = uuid.uuid4()
    with transaction.atomic():
        attempt = TaskAttempt.objects.filter(pk=attempt_id).only("execution_id").first()
        if attempt is None:
            return None
        execution = _locked(Execution.objects).filter(pk=attempt.execution_id).first()
        attempt = _locked(TaskAttempt.objects).get(pk=attempt_id)
        if attempt.status != TaskAttempt.Status.SCHEDULED or not execution.is_open:
            return None
        attempt.status = TaskAttempt.Status.RUNNING
        attempt.claim = token
        attempt.claimed_by = worker[:200]
        attempt.claims += 1
        attempt.started_at = now
        attempt.lease_until = now + timedelta(seconds=lease)
        attempt.save(
            update_fields=["status", "claim", "claimed_by", "claims", "started_at", "lease_until"]
        )
        step = engine.advance(
            definition_of(execution.version_id),
            execution.snapshot,
            {"type": "task_started", "key": attempt.key},
            now,
        )
        if step.events:
            _persist(execution, step, now)
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
    )


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
    rows = [StepLog(attempt_id=attempt_id, seq=start + i, **record)
            for i, record in enumerate(records)]
    StepLog.objects.bulk_create(rows)
    payload = {"attempt": attempt_id, "state": attempt.state,
               "lines": [row.as_dict() for row in rows]}
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
) -> bool:
    """Record an attempt's result and advance the execution, once.

    Ignored (False) when the claim is stale: the attempt was reclaimed after a lost
    lease, cancelled by a stop or a timeout, or already completed by a duplicate.
    """
    attempt = TaskAttempt.objects.filter(pk=attempt_id).only("execution_id", "key").first()
    if attempt is None:
        return False
    if error is None:
        try:
            _check_payload(output, "task output")
        except PayloadTooLarge as exc:
            output, error, cause = None, engine.errors.DATA_LIMIT_EXCEEDED, exc.message
    now = timezone.now()

    def guard(execution: Execution) -> bool:
        locked = _locked(TaskAttempt.objects).get(pk=attempt_id)
        stale = locked.status != TaskAttempt.Status.RUNNING or locked.claim != claim
        if stale and not _unsafe("fencing"):
            return False
        locked.status = TaskAttempt.Status.FAILED if error else TaskAttempt.Status.SUCCEEDED
        locked.finished_at = now
        locked.output = None if error else output
        locked.error = (error or "")[:256]
        locked.cause = cause or ""
        locked.save(update_fields=["status", "finished_at", "output", "error", "cause"])
        return True

    event: dict[str, Any] = {"key": attempt.key}
    if error:
        event.update(type="task_failed", error=error, cause=cause)
    else:
        event.update(type="task_succeeded", output=output)
    return _transition(attempt.execution_id, event, guard)


# --- timers and recovery ---------------------------------------------------------------------


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

    @property
    def total(self) -> int:
        return self.timers_fired + self.republished + self.reclaimed


def sweep(batch: int = 500) -> SweepReport:
    """Fire due timers, re-publish attempts never claimed, reclaim attempts whose worker died.

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
        TaskAttempt.objects.filter(
            status=TaskAttempt.Status.SCHEDULED, published_at__lt=stale
        ).values_list("pk", "queue")[:batch]
    )
    for attempt_id, queue in unclaimed:
        updated = TaskAttempt.objects.filter(
            pk=attempt_id, status=TaskAttempt.Status.SCHEDULED, published_at__lt=stale
        ).update(published_at=now)
        if updated:
            report.republished += 1
            dispatch.publish_attempts([(attempt_id, queue)], republish=True)
    lost = list(
        TaskAttempt.objects.filter(
            status=TaskAttempt.Status.RUNNING, lease_until__lt=now
        ).values_list("pk", "queue", "claim")[:batch]
    )
    for attempt_id, queue, claim in lost:
        updated = TaskAttempt.objects.filter(
            pk=attempt_id, status=TaskAttempt.Status.RUNNING, claim=claim
        ).update(status=TaskAttempt.Status.SCHEDULED, claim=None, published_at=now)
        if updated:
            report.reclaimed += 1
            dispatch.publish_attempts([(attempt_id, queue)], republish=True)
    return report


def next_timer_at() -> datetime | None:
    """When the earliest unfired timer is due (for sweepers that sleep until then)."""
    timer = Timer.objects.filter(fired_at=None).order_by("fire_at").only("fire_at").first()
    return timer.fire_at if timer else None
