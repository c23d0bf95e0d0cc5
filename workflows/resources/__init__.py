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


def register(resource: str) -> Callable[[Handler], Handler]:
    """Decorator: make ``handler`` runnable as ``Resource: <resource>``."""

    def decorate(handler: Handler) -> Handler:
        _REGISTRY[resource] = handler
        return handler

    return decorate


def resolve(resource: str) -> Handler | None:
    if not _REGISTRY:
        from . import builtin  # noqa: F401 - registers the builtin handlers
    return _REGISTRY.get(resource)


def known_resources() -> list[str]:
    resolve("")
    return sorted(_REGISTRY)


def invoke(resource: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    """Run one handler; returns ``{"output": …}`` or ``{"error": …, "cause": …}``."""
    handler = resolve(resource)
    if handler is None:
        return {"error": RESOURCE_NOT_FOUND, "cause": f"No handler for resource {resource!r}"}
    try:
        return {"output": handler(payload, context)}
    except TaskError as exc:
        return {"error": exc.error, "cause": exc.cause}
    except Exception as exc:  # noqa: BLE001 - a handler's crash is the step's failure
        context.logger.exception("handler for %s failed", resource)
        return {"error": type(exc).__name__, "cause": str(exc)}


def run_resource(claim: Any) -> dict[str, Any]:
    """Run the resource of a claimed attempt (see ``services.Claim``)."""
    context = TaskContext(
        execution_id=str(claim.execution_id),
        state=claim.state,
        attempt=claim.attempt,
        idempotency_key=claim.idempotency_key,
    )
    return invoke(claim.resource, claim.input, context)
