"""An in-memory channel layer that worker threads can publish to (embedded mode).

Channels' ``InMemoryChannelLayer`` keeps asyncio queues that belong to the event loop of
the consumer reading them. In embedded mode the services publish from Celery worker
threads, each with its own loop, so a plain ``put`` from there would not wake the
consumer. This layer hands every message to the loop that owns the receiving channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loops: dict[str, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()

    async def receive(self, channel: str) -> Any:
        with self._lock:
            self._loops[channel] = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        self.require_valid_channel_name(channel)
        item = (time.time() + self.expiry, deepcopy(message))
        with self._lock:
            loop = self._loops.get(channel)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is not None and loop is not current and not loop.is_closed():
            loop.call_soon_threadsafe(self._put, channel, item)
            return
        self._put(channel, item, raise_full=True)

    def _put(self, channel: str, item: Any, raise_full: bool = False) -> None:
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            if raise_full:
                raise ChannelFull(channel) from None

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.require_valid_group_name(group)
        with self._lock:
            members = list(self.groups.get(group, {}))
        for channel in members:
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)

    async def group_discard(self, group: str, channel: str) -> None:
        await super().group_discard(group, channel)
        with self._lock:
            if not any(channel in members for members in self.groups.values()):
                self._loops.pop(channel, None)
