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

from ..models import Execution, Flow, TaskAttempt
from .attempts import record_started
from .core import OPEN_ATTEMPT, _check_payload, _locked, _transition
from .errors import ServiceError

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
        locked.status = TaskAttempt.Status.FAILED if error else TaskAttempt.Status.SUCCEEDED
        locked.finished_at = now
        locked.output = None if error else output
        locked.error = (error or "")[:256]
        locked.cause = cause or ""
        locked.claim = None
        locked.save(update_fields=["status", "finished_at", "output", "error", "cause", "claim"])
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
    execution, _ = start_execution(
        flow, payload, name, parent_id=parent_id, parent_token=parent_token or ""
    )
    return execution


def notify_parent(execution_id: str) -> bool:
    """Complete the parent's waiting ``flow:….sync`` task with this child's outcome."""
    child = Execution.objects.filter(pk=execution_id).first()
    if child is None or not child.parent_token or child.status not in TERMINAL:
        return False
    try:
        if child.status == "SUCCEEDED":
            complete_token(child.parent_token, output=child.output)
        else:
            error = child.error or f"Legato.ChildExecution{child.status.title().replace('_', '')}"
            complete_token(child.parent_token, error=error, cause=child.cause)
    except ServiceError:
        return False  # the parent stopped waiting (stopped, timed out): nothing to do
    return True


def start_map_run(parent_id: str, pointer: str, payload: Any, key: str, token: str) -> Execution:
    """Start (once) the child execution of one Distributed Map iteration."""
    from .executions import start_execution

    parent = Execution.objects.select_related("flow", "version").get(pk=parent_id)
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
    )
    return execution
