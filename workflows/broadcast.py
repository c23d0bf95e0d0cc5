"""Publishing new history events to live viewers, after commit.

Each message carries event sequence numbers; a viewer that misses one (a dropped
channel-layer message, a reconnect) asks for everything after the last seq it saw, so
delivery here may be best-effort.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def execution_group(execution_id: str) -> str:
    return f"execution-{execution_id}"


def flow_group(flow_name: str) -> str:
    return f"flow-{flow_name}"


EXECUTIONS_GROUP = "executions"


def events_recorded(
    execution_id: str, flow_name: str, events: list[dict[str, Any]], execution: dict[str, Any]
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "legato.events", "events": events, "execution": execution}
    summary = {"type": "legato.execution", "execution": {**execution, "flow": flow_name}}
    try:
        async_to_sync(_send)(layer, execution_id, flow_name, message, summary)
    except Exception:  # noqa: BLE001 - viewers catch up from the database on reconnect
        log.warning("broadcast for execution %s failed", execution_id, exc_info=True)


def logs_recorded(execution_id: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "legato.logs", **payload}
    try:
        async_to_sync(layer.group_send)(execution_group(execution_id), message)
    except Exception:  # noqa: BLE001 - logs are in the database; the page reloads them
        log.warning("log broadcast for execution %s failed", execution_id, exc_info=True)


async def _send(
    layer: Any, execution_id: str, flow_name: str, message: dict[str, Any], summary: dict[str, Any]
) -> None:
    await layer.group_send(execution_group(execution_id), message)
    await layer.group_send(flow_group(flow_name), summary)
    await layer.group_send(EXECUTIONS_GROUP, summary)
