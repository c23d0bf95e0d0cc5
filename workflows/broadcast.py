"""Publishing new history events and log lines to live viewers, after commit.

Each message carries sequence numbers; a viewer that misses one (a dropped channel-layer
message, a reconnect) reads everything after the last seq it saw from the database, so
delivery here is best-effort and never blocks a transition: messages go onto a queue that
one background event loop per process drains in order. (Calling ``async_to_sync`` per
transition started a new loop and thread each time and, with ``channels_redis``, new
Redis connections: a quarter of every step's cost.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000


def execution_group(execution_id: str) -> str:
    return f"execution-{execution_id}"


class _Sender:
    """One event loop thread per process that sends queued messages in order."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="legato-broadcast", daemon=True
        )
        self.thread.start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue(QUEUE_LIMIT)
        self.loop.create_task(self._drain())
        ready.set()
        self.loop.run_forever()

    async def _drain(self) -> None:
        assert self.queue is not None
        while True:
            group, message = await self.queue.get()
            layer = get_channel_layer()
            if layer is None:
                continue
            try:
                await layer.group_send(group, message)
            except Exception:  # noqa: BLE001 - viewers catch up from the database
                log.warning("broadcast to %s failed", group, exc_info=True)

    def put(self, group: str, message: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._put_nowait, group, message)

    def _put_nowait(self, group: str, message: dict[str, Any]) -> None:
        assert self.queue is not None
        try:
            self.queue.put_nowait((group, message))
        except asyncio.QueueFull:
            log.warning("broadcast queue full; a viewer will catch up from the database")


_sender: _Sender | None = None
_lock = threading.Lock()


def _get_sender() -> _Sender:
    global _sender
    with _lock:
        # A forked worker process inherits the object but not its thread: start anew.
        if _sender is None or _sender.pid != os.getpid() or not _sender.thread.is_alive():
            _sender = _Sender()
        return _sender


def _publish(group: str, message: dict[str, Any]) -> None:
    if get_channel_layer() is None:
        return
    try:
        _get_sender().put(group, message)
    except Exception:  # noqa: BLE001 - best effort by design (see the module docstring)
        log.warning("could not queue a broadcast to %s", group, exc_info=True)


def events_recorded(
    execution_id: str, events: list[dict[str, Any]], execution: dict[str, Any] | None
) -> None:
    """``execution`` is the summary after these events, or None when the writer did not
    read it (a claim); consumers then repeat the last summary they sent."""
    _publish(
        execution_group(execution_id),
        {"type": "legato.events", "events": events, "execution": execution},
    )


def logs_recorded(execution_id: str, payload: dict[str, Any]) -> None:
    _publish(execution_group(execution_id), {"type": "legato.logs", **payload})
