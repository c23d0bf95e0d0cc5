"""Callback tasks: task tokens, activity workers, and child executions (``flow:``).

A callback task's state waits for its *task token* to be completed: by a program calling
the task-token API (``.waitForTaskToken``), by an external activity worker that polled for
it (``activity:``), or by the end of a child execution (``flow:<name>.sync``). Each
completion is one transition under the execution's row lock, so a token completes once.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import engine
from ..models import Execution, Flow, TaskAttempt, definition_for
from .attempts import record_started
from .core import (
    OPEN_ATTEMPT,
    UNRECORDABLE,
    _check_payload,
    _locked,
    _persist,
    _transition,
    fail_unrecordable,
)
from .errors import ChildDepthExceeded, PayloadInvalid, PayloadTooLarge, ServiceError

TERMINAL = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class TaskTokenInvalid(ServiceError):
    code = "TaskDoesNotExist"
    status = 404


class TaskTimedOut(ServiceError):
    """The token's task is no longer waiting (it finished, timed out or was stopped)."""

    code = "TaskTimedOut"
    status = 409


def _open_attempt(token: str) -> TaskAttempt:
    attempt = TaskAttempt.objects.filter(token=token).first()
    if attempt is None:
        raise TaskTokenInvalid("No task has this token.")
    if attempt.status not in OPEN_ATTEMPT:
        raise TaskTimedOut(f"The task is no longer waiting (it is {attempt.status}).")
    return attempt


RESULT_FIELDS = ["status", "finished_at", "output", "error", "cause", "claim"]


def _set_result(
    attempt: TaskAttempt, output: Any, error: str | None, cause: str | None, now: Any
) -> None:
    """A callback task is finished: its result, and no claim left to complete it again."""
    attempt.status = TaskAttempt.Status.FAILED if error else TaskAttempt.Status.SUCCEEDED
    attempt.finished_at = now
    attempt.output = None if error else output
    attempt.error = (error or "")[:256]
    attempt.cause = cause or ""
    attempt.claim = None


def complete_token(
    token: str, output: Any = None, error: str | None = None, cause: str | None = None
) -> None:
    """Finish a callback task with a result (or an error), exactly once."""
    attempt = _open_attempt(token)
    if error is None:
        _check_payload(output, "task output")
    now = timezone.now()

    def guard(execution: Execution) -> bool:
        locked = _locked(TaskAttempt.objects).get(pk=attempt.pk)
        if locked.status not in OPEN_ATTEMPT:
            return False
        _set_result(locked, output, error, cause, now)
        locked.save(update_fields=RESULT_FIELDS)
        return True

    event: dict[str, Any] = {"key": attempt.key}
    if error:
        event.update(type="task_failed", error=error, cause=cause or "")
    else:
        event.update(type="task_succeeded", output=output)
    if not _transition(attempt.execution_id, event, guard):
        raise TaskTimedOut("The task is no longer waiting.")


def heartbeat_token(token: str) -> None:
    """A callback task is still being worked on: move its HeartbeatSeconds deadline."""
    attempt = _open_attempt(token)
    lease = timedelta(seconds=settings.LEGATO["CLAIM_LEASE_SECONDS"])
    TaskAttempt.objects.filter(pk=attempt.pk).update(lease_until=timezone.now() + lease)
    _transition(attempt.execution_id, {"type": "task_heartbeat", "key": attempt.key})


def claim_activity(name: str, worker: str) -> dict[str, Any] | None:
    """Hand the oldest waiting task of activity ``name`` to an external worker, or None.

    The worker reports back with the task token; if it goes silent past its lease, the
    sweeper offers the task to another worker. Long-polling is the API view's job.
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.LEGATO["CLAIM_LEASE_SECONDS"])
    with transaction.atomic():
        waiting = TaskAttempt.objects.filter(
            resource=f"activity:{name}", status=TaskAttempt.Status.SCHEDULED
        ).order_by("scheduled_at")
        if connection_supports_skip_locked():
            waiting = waiting.select_for_update(skip_locked=True)
        attempt = waiting.first()
        if attempt is None:
            return None
        attempt.status = TaskAttempt.Status.RUNNING
        attempt.claim = uuid.uuid4()
        attempt.claimed_by = worker[:200]
        attempt.claims += 1
        attempt.started_at = now
        attempt.lease_until = now + lease
        attempt.save(
            update_fields=["status", "claim", "claimed_by", "claims", "started_at", "lease_until"]
        )
    record_started(attempt.execution_id, attempt.started, attempt.key)
    return {"taskToken": attempt.token, "input": attempt.input}


def connection_supports_skip_locked() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_skip_locked


def start_child_execution(
    parent_id: str, flow_name: str, payload: Any, key: str, parent_token: str | None
) -> Execution:
    """Start (once) the child execution a parent's ``flow:`` task asked for.

    The child's name derives from the parent's idempotency key, so a redelivered task
    finds the child it already started instead of starting another.
    """
    from .executions import start_execution

    flow = Flow.objects.filter(name=flow_name).first()
    if flow is None:
        raise ServiceError(f"There is no flow named {flow_name!r}.")
    name = "child-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    existing = Execution.objects.filter(flow=flow, name=name).first()
    if existing is not None:
        return existing
    depth, root = Execution.objects.values_list("depth", "root_id").get(pk=parent_id)
    depth += 1
    limit = settings.LEGATO["MAX_CHILD_DEPTH"]
    if depth > limit:
        raise ChildDepthExceeded(
            f"Starting {flow_name!r} would nest executions {depth} deep; the limit is "
            f"{limit} (LEGATO_MAX_CHILD_DEPTH). Does the flow start itself?"
        )
    execution, _ = start_execution(
        flow,
        payload,
        name,
        parent_id=parent_id,
        parent_token=parent_token or "",
        depth=depth,
        root=root or parent_id,
    )
    return execution


# The most finished children one parent transition takes in. A Distributed Map's runs end
# in bursts, and every parent transition rewrites the parent's snapshot, which grows with
# the fan-out: one write for many endings instead of one each.
CHILD_BATCH = 200


def notify_parent(execution_id: str) -> bool:
    """Complete the parent's waiting task with this child's outcome (and, in the same
    transition, the tasks of its other children that have ended). True if this child's
    task was completed now."""
    child = (
        Execution.objects.filter(pk=execution_id)
        .only("parent_id", "parent_token", "status")
        .first()
    )
    if child is None or not child.parent_token or child.status not in TERMINAL:
        return False
    if child.parent_id is None:
        return False
    return child.parent_token in complete_ended_children(child.parent_id, first=child.parent_token)


def complete_ended_children(parent_id: Any, first: str | None = None) -> set[str]:
    """One transition of the parent that completes the waiting tasks of up to CHILD_BATCH
    children that have ended (``first``'s task among them). Returns the tokens done.

    If the parent's step cannot be computed or stored, the parent fails with
    ``States.Runtime`` instead (its children's outcomes kept on their tasks): every
    later notification and sweep would otherwise try the same batch again, forever.
    """
    now = timezone.now()
    try:
        return _take_in_ended_children(parent_id, first, now)
    except UNRECORDABLE as exc:
        kept: set[str] = set()

        def keep_outcomes(parent: Execution) -> bool:
            attempts, _ = _ended_children(parent_id, first, now)
            TaskAttempt.objects.bulk_update(attempts, RESULT_FIELDS)
            kept.update(a.token for a in attempts)
            return True

        what = "the end of its child executions"
        fail_unrecordable(parent_id, what, exc, now, keep_outcomes)
        return kept


def _take_in_ended_children(parent_id: Any, first: str | None, now: Any) -> set[str]:
    with transaction.atomic():
        # Lock without reading the snapshot: most calls in a burst find that an earlier
        # one already took their child in.
        parent = _locked(Execution.objects).filter(pk=parent_id).only("status").first()
        if parent is None or not parent.is_open:
            return set()
        attempts, events = _ended_children(parent_id, first, now)
        if not attempts:
            return set()
        parent = Execution.objects.get(pk=parent_id)
        definition = definition_for(parent)
        snapshot = parent.snapshot
        steps = []
        for event in events:
            seq = parent.next_seq + sum(len(s.events) for s in steps)
            step = engine.advance(definition, snapshot, event, now, first_event_id=seq)
            if not step.stale:
                steps.append(step)
                snapshot = step.snapshot
        # Every ended child's task is finished, whether or not the parent still waited.
        TaskAttempt.objects.bulk_update(attempts, RESULT_FIELDS)
        if steps:
            _persist(parent, _combined(steps), now)
    return {a.token for a in attempts}


def _ended_children(
    parent_id: Any, first: str | None, now: Any
) -> tuple[list[TaskAttempt], list[dict[str, Any]]]:
    """Under the parent's lock: the open tasks (locked too) of up to CHILD_BATCH of its
    children that have ended, each with its result filled in, and the parent's events."""
    # From the parent's open tasks to their children, one index lookup each, and not
    # from the status index: a large Map has thousands of ended children, and a
    # planner with stale statistics would otherwise intersect the two per task.
    waiting = dict(
        TaskAttempt.objects.filter(
            execution_id=parent_id, status__in=OPEN_ATTEMPT, token__isnull=False
        ).values_list("token", "pk")
    )
    done = Execution.objects.filter(parent_token__in=list(waiting)).exclude(
        status=Execution.Status.RUNNING
    )
    tokens = sorted(done.values_list("parent_token", flat=True), key=lambda t: t != first)
    attempts = list(
        _locked(TaskAttempt.objects)
        .filter(pk__in=[waiting[t] for t in tokens[:CHILD_BATCH]], status__in=OPEN_ATTEMPT)
        .order_by("pk")
    )
    children = {
        c.parent_token: c
        for c in Execution.objects.filter(
            parent_id=parent_id, parent_token__in=[a.token for a in attempts]
        ).only("parent_token", "status", "output", "error", "cause")
    }
    events = [_child_outcome(children[a.token], a, now) for a in attempts]
    return attempts, events


def _child_outcome(child: Execution, attempt: TaskAttempt, now: Any) -> dict[str, Any]:
    """The parent's event for an ended child; also fills in the task attempt's result."""
    output, error, cause = None, None, ""
    if child.status == "SUCCEEDED":
        output = child.output
        try:
            _check_payload(output, "child execution's output")
        except (PayloadTooLarge, PayloadInvalid) as exc:
            output, error, cause = None, engine.errors.DATA_LIMIT_EXCEEDED, exc.message
    else:
        error = child.error or f"Legato.ChildExecution{child.status.title().replace('_', '')}"
        cause = child.cause or ""
    _set_result(attempt, output, error, cause, now)
    if error:
        return {"key": attempt.key, "type": "task_failed", "error": error, "cause": cause}
    return {"key": attempt.key, "type": "task_succeeded", "output": output}


def _combined(steps: list[engine.Step]) -> engine.Step:
    """Several interpreter steps applied one after another, as one step to persist. A task
    scheduled by one step and cancelled by a later one is dropped altogether (it would
    otherwise be created after its cancellation was applied)."""
    commands = [c for step in steps for c in step.commands]
    scheduled = {c["key"] for c in commands if c["type"] == "run_task"}
    cancelled = {c["key"] for c in commands if c["type"] == "cancel_task"}
    gone = scheduled & cancelled
    return engine.Step(
        snapshot=steps[-1].snapshot,
        events=[e for step in steps for e in step.events],
        commands=[
            c
            for c in commands
            if not (c["type"] in ("run_task", "cancel_task") and c["key"] in gone)
        ],
        snapshot_changed=any(step.snapshot_changed for step in steps),
    )


def start_map_run(parent_id: str, pointer: str, payload: Any, key: str, token: str) -> Execution:
    """Start (once) the child execution of one Distributed Map iteration."""
    from .executions import start_execution

    # Not the parent's snapshot, input or output: they grow with the Map's fan-out, and
    # this runs once per item.
    parent = (
        Execution.objects.select_related("flow", "version")
        .defer("snapshot", "input", "output")
        .get(pk=parent_id)
    )
    name = "map-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    existing = Execution.objects.filter(flow=parent.flow, name=name).first()
    if existing is not None:
        return existing
    execution, _ = start_execution(
        parent.flow,
        payload,
        name,
        version=parent.version,
        parent_id=parent.pk,
        parent_token=token,
        scope=pointer,
        depth=parent.depth,
        root=parent.root_id or parent.pk,
    )
    return execution
