"""WebSocket consumers: authorise, join a group, send what was missed, relay events."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .. import broadcast, roles
from ..models import Event, Execution
from ..services import execution_summary

CATCH_UP_PAGE = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403


class ExecutionConsumer(AsyncJsonWebsocketConsumer):
    """Live history of one execution: ``/ws/executions/{id}/?after_seq=N``."""

    async def connect(self) -> None:
        # Accept before refusing: a close before the handshake reaches the browser as a
        # bare 1006, and the page could not tell "go away" from "network blip".
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(roles.can_view)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.execution_id = str(self.scope["url_route"]["kwargs"]["execution_id"])
        self.last_seq = _after_seq(self.scope)
        self.group = broadcast.execution_group(self.execution_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # Join first, then read: an event committed in between arrives twice at worst,
        # and the seq filter drops the duplicate. The other order could lose it.
        while True:
            page = await self._catch_up()
            if page is None:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            await self._relay(page)
            if len(page["events"]) < CATCH_UP_PAGE:
                return

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            del self.group

    async def legato_events(self, message: dict[str, Any]) -> None:
        events = message["events"]
        if events and events[0]["seq"] > self.last_seq + 1:
            # The layer dropped a message (channels_redis may, under load): read the gap
            # from the database, which has everything.
            page = await self._catch_up()
            if page is not None:
                message = page
        await self._relay(message)

    async def legato_logs(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "logs",
                "attempt": message["attempt"],
                "state": message["state"],
                "lines": message["lines"],
            }
        )

    async def _relay(self, message: dict[str, Any]) -> None:
        events = [e for e in message["events"] if e["seq"] > self.last_seq]
        if events:
            self.last_seq = events[-1]["seq"]
        # A claim's TaskStarted comes without a summary (the claim does not read the
        # execution): every message still carries the last one this socket sent.
        if message.get("execution"):
            self.summary = message["execution"]
        if events or message.get("execution"):
            await self.send_json({"type": "events", "events": events, "execution": self.summary})

    @database_sync_to_async
    def _catch_up(self) -> dict[str, Any] | None:
        execution = Execution.objects.filter(pk=self.execution_id).first()
        if execution is None:
            return None
        events = Event.objects.filter(execution=execution, seq__gt=self.last_seq).order_by("seq")
        return {
            "events": [e.as_dict() for e in events[:CATCH_UP_PAGE]],
            "execution": execution_summary(execution),
        }


def _after_seq(scope: dict[str, Any]) -> int:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        return max(0, int(query.get("after_seq", ["0"])[0]))
    except ValueError:
        return 0
