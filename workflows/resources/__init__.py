"""What a Task's ``Resource`` can name, and how a worker runs it.

A handler is ``handler(input, context) -> output``. Raising :class:`TaskError` fails the
attempt with a chosen error name; any other exception fails it with the exception's class
name as the error and its message as the cause (as Lambda reports them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("legato.tasks")

Handler = Callable[[Any, "TaskContext"], Any]
_REGISTRY: dict[str, Handler] = {}
RESOURCE_NOT_FOUND = "Legato.ResourceNotFound"
CALLBACK_SUFFIX = ".waitForTaskToken"


class TaskError(Exception):
    """Fail the attempt with this ASL error name and cause (catchable by Retry/Catch)."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(cause or error)
        self.error = error
        self.cause = cause


@dataclass
class TaskContext:
    """What a handler may know about the attempt it runs."""

    execution_id: str
    state: str
    attempt: int
    idempotency_key: str
    logger: logging.Logger = field(default=log)
    heartbeat: Callable[[], None] = field(default=lambda: None)
    task_token: str | None = None


def register(resource: str) -> Callable[[Handler], Handler]:
    """Decorator: make ``handler`` runnable as ``Resource: <resource>``."""

    def decorate(handler: Handler) -> Handler:
        _REGISTRY[resource] = handler
        return handler

    return decorate


def handler(name: str) -> Callable[[Handler], Handler]:
    """Decorator for your own code: ``@handler("billing.charge")`` makes the function
    runnable as ``Resource: python:billing.charge`` (its module must be allowed in
    ``LEGATO_TASK_MODULES``, which workers import at start-up)."""
    return register(f"python:{name}")


def resolve(resource: str) -> Handler | None:
    if not _REGISTRY:
        from . import builtin, files, http  # noqa: F401 - registers the shipped handlers
    resource = resource.removesuffix(CALLBACK_SUFFIX)
    found = _REGISTRY.get(resource)
    if found is None and resource.startswith("python:"):
        from . import python

        found = python.resolve(resource.removeprefix("python:"))
    elif found is None and resource.startswith(("flow:", "legato:map:")):
        from . import flow

        found = flow.resolve(resource)
    elif found is None and resource.startswith("celery:"):
        from . import celery_tasks

        found = celery_tasks.resolve(resource)
    return found


def invoke(resource: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    """Run one handler; returns ``{"output": …}`` or ``{"error": …, "cause": …}``."""
    try:
        handler = resolve(resource)
    except TaskError as exc:
        return {"error": exc.error, "cause": exc.cause}
    if handler is None:
        return {"error": RESOURCE_NOT_FOUND, "cause": f"No handler for resource {resource!r}"}
    try:
        return {"output": handler(payload, context)}
    except TaskError as exc:
        return {"error": exc.error, "cause": exc.cause}
    except Exception as exc:  # noqa: BLE001 - a handler's crash is the step's failure
        context.logger.exception("handler for %s failed", resource)
        return {"error": type(exc).__name__, "cause": str(exc)}


def run_resource(
    claim: Any, logger: logging.Logger | None = None, heartbeat: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run the resource of a claimed attempt (see ``services.Claim``)."""
    context = TaskContext(
        execution_id=str(claim.execution_id),
        state=claim.state,
        attempt=claim.attempt,
        idempotency_key=claim.idempotency_key,
        logger=logger or log,
        heartbeat=heartbeat or (lambda: None),
        task_token=getattr(claim, "token", None),
    )
    return invoke(claim.resource, claim.input, context)
