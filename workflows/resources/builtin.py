"""Small handlers shipped with Legato, for demos and tests (``builtin:*``)."""

from __future__ import annotations

import time
from typing import Any

from . import TaskContext, TaskError, register

MAX_SLEEP_SECONDS = 3600


@register("builtin:echo")
def echo(payload: Any, context: TaskContext) -> Any:
    """Return the input unchanged."""
    return payload


@register("builtin:sleep")
def sleep(payload: Any, context: TaskContext) -> Any:
    """Sleep ``seconds`` (default 1, at most an hour), then return the input."""
    seconds = payload.get("seconds", 1) if isinstance(payload, dict) else 1
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise TaskError("Legato.InvalidInput", "seconds must be a non-negative number")
    time.sleep(min(seconds, MAX_SLEEP_SECONDS))
    return payload


@register("builtin:fail")
def fail(payload: Any, context: TaskContext) -> Any:
    """Fail with ``error`` and ``cause`` from the input (defaults: Legato.Failure)."""
    payload = payload if isinstance(payload, dict) else {}
    raise TaskError(
        str(payload.get("error", "Legato.Failure")),
        str(payload.get("cause", "builtin:fail was asked to fail")),
    )


@register("builtin:log")
def log_message(payload: Any, context: TaskContext) -> Any:
    """Write ``message`` to the step log and return the input."""
    message = payload.get("message", payload) if isinstance(payload, dict) else payload
    context.logger.info("%s", message)
    return payload
