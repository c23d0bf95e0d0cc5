"""``/flows/{name}/executions/``: list and start, and with ``?wait=N`` start-and-wait.

Why an async view in front of the DRF one: a sync view that slept until the execution
ended would hold the thread Django runs the request's sync code on (under ASGI one
thread per request context, on thread-sensitive code) for up to 30 seconds, and a server
with many such waits would run out of threads. So the route points here:

* without ``wait`` (and for GET) this just calls the DRF view, on the same thread-sensitive
  executor Django would have used for it: behaviour and response shape are unchanged;
* with ``wait`` the DRF view still does all the work of a start (authentication, the
  CSRF check of session requests, the role check, validation including ``wait``'s, the
  service call, the error bodies); only once it has answered 200/201 do we wait, with
  ``asyncio.sleep`` between short status reads that run on a worker thread
  (``thread_sensitive=False``), as ``callbacks.activity_poll`` does. No thread is held
  while waiting, and no execution state is written here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..models import Execution
from . import serializers as s
from .callbacks import documented_by
from .views import FlowExecutionsView, wait_seconds

FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5

_drf_view = FlowExecutionsView.as_view()


@documented_by(FlowExecutionsView)
@csrf_exempt  # as DRF's views are: its SessionAuthentication checks CSRF in _drf_view
async def flow_executions(request: HttpRequest, name: str) -> HttpResponse:
    response = await sync_to_async(_drf_view)(request, name=name)
    if request.method != "POST" or response.status_code not in (200, 201):
        return response
    wait = wait_seconds(request.GET)  # the DRF view has refused an invalid one already
    if wait is None:
        return response
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    read = sync_to_async(_read_execution, thread_sensitive=False)
    pause = FIRST_POLL_SECONDS
    while True:
        ended, body = await read(response.data["id"])
        remaining = deadline - loop.time()
        if ended or remaining <= 0:
            break
        await asyncio.sleep(min(pause, remaining))
        pause = min(MAX_POLL_SECONDS, pause * 2)
    if body is not None:
        response.data = body  # a DRF Response, rendered by Django after this returns
    return response


def _read_execution(execution_id: Any) -> tuple[bool, dict[str, Any] | None]:
    """Whether the execution has ended, and its API body (None if it cannot be read)."""
    close_old_connections()  # a worker thread: no request signals tidy its connection
    try:
        execution = (
            Execution.objects.select_related("flow", "version").filter(pk=execution_id).first()
        )
        if execution is None:
            return False, None
        return not execution.is_open, dict(s.ExecutionSerializer(execution).data)
    finally:
        close_old_connections()
