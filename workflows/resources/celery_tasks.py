"""``celery:<task name>``: hand the step to any Celery task, on the same broker.

The task is sent by name (``app.send_task``) with the state's input as its only argument,
routed by your Celery routing (``task_routes``). It is a callback task: its result comes
back through a ``link`` to ``legato.celery_result``, which completes the step's token, and
its failure through ``link_error`` (``Celery.TaskFailed``). No result backend needed.

A definition names the task, so it must not be able to name *any* task: only names that
``LEGATO_CELERY_TASKS`` allows are sent, and never Legato's own (``legato.…``), which
would let a definition complete other executions' steps or fire their timers.
"""

from __future__ import annotations

from typing import Any

from . import TaskContext, TaskError
from .python import NOT_ALLOWED


def send(task_name: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    from celery import signature

    from ..celery import app

    if not context.task_token:
        raise TaskError("Legato.InvalidResource", "celery: tasks need a task token")
    result = app.send_task(
        task_name,
        args=[payload],
        link=signature("legato.celery_result", kwargs={"token": context.task_token}),
        link_error=signature("legato.celery_failed", kwargs={"token": context.task_token}),
    )
    context.logger.info("sent Celery task %s (%s)", task_name, result.id)
    return {"CeleryTaskId": result.id, "Task": task_name}


def is_allowed(name: str) -> bool:
    """Whether ``name`` matches ``LEGATO_CELERY_TASKS`` (``billing.charge``, ``billing.*``)."""
    from django.conf import settings

    if name.startswith("legato."):
        return False
    return any(
        name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1]))
        for pattern in settings.LEGATO["CELERY_TASKS"]
    )


def resolve(resource: str) -> Any:
    name = resource.removeprefix("celery:")
    if not name:
        return None
    if not is_allowed(name):
        raise TaskError(
            NOT_ALLOWED,
            f"Celery task {name!r} is not allowed by LEGATO_CELERY_TASKS; Legato only sends "
            "tasks listed there, and never its own.",
        )
    return lambda payload, context: send(name, payload, context)
