"""Task handlers for the example flows: ``Resource: python:examples.tasks.<function>``.

Each handler takes the state's input and a context (execution id, state name, attempt,
an idempotency key, a logger whose lines appear in the execution viewer, and heartbeat()).
This module is allowed by default (``LEGATO_TASK_MODULES=examples.tasks``).
"""

from __future__ import annotations

import time
from typing import Any

from workflows.resources import TaskContext, TaskError, handler


def charge_card(payload: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Pretend to charge a card; ``"card": "declined"`` fails with Payment.Declined."""
    order = payload.get("order", {})
    context.logger.info(
        "charging %s for order %s (key %s)",
        order.get("total"),
        order.get("id"),
        context.idempotency_key,
    )
    if order.get("card") == "declined":
        raise TaskError("Payment.Declined", "The card issuer declined the charge.")
    return {"charged": order.get("total"), "receipt": f"rcpt-{context.idempotency_key[-8:]}"}


@handler("media.transcode")
def transcode(payload: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Transcode one rendition, reporting progress and heartbeats as it goes."""
    steps = int(payload.get("steps", 3))
    for step in range(1, steps + 1):
        time.sleep(float(payload.get("step_seconds", 0.5)))
        context.logger.info("%s: %d%% done", payload.get("rendition", "video"), step * 100 // steps)
        context.heartbeat()
    return {"rendition": payload.get("rendition"), "bytes": 1_000_000 * steps}
