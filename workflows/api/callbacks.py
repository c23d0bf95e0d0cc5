"""Task tokens (complete a waiting callback task) and activities (external workers poll)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import roles, services
from ..services import callbacks

MAX_POLL_SECONDS = 60.0
DEFAULT_POLL_SECONDS = 20.0


class TokenSuccessSerializer(serializers.Serializer):
    output = serializers.JSONField(required=False, allow_null=True, default=None)


class TokenFailureSerializer(serializers.Serializer):
    error = serializers.CharField(max_length=256, required=False, default="Legato.TaskFailed")
    cause = serializers.CharField(max_length=32768, required=False, allow_blank=True, default="")


class TokenSuccessView(APIView):
    """Complete a callback task with its result (``{"output": …}``)."""

    def post(self, request: Request, token: str) -> Response:
        body = TokenSuccessSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.complete_token(token, output=body.validated_data["output"])
        services.audit(request.user, "task_success", f"task-token:{token[:24]}")
        return Response({})


class TokenFailureView(APIView):
    """Fail a callback task (``{"error", "cause"}``); Retry/Catch apply as usual."""

    def post(self, request: Request, token: str) -> Response:
        body = TokenFailureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.complete_token(
            token, error=body.validated_data["error"], cause=body.validated_data["cause"]
        )
        services.audit(
            request.user,
            "task_failure",
            f"task-token:{token[:24]}",
            body.validated_data["cause"],
            error=body.validated_data["error"],
        )
        return Response({})


class TokenHeartbeatView(APIView):
    """Report that a callback task is still being worked on (resets HeartbeatSeconds)."""

    def post(self, request: Request, token: str) -> Response:
        services.heartbeat_token(token)
        return Response({})


async def activity_poll(request: HttpRequest, name: str) -> HttpResponse:
    """Long poll for the next task of activity ``name``: 200 ``{taskToken, input}`` or 204.

    Async on purpose: a sync view would hold one of the few threads Django gives sync
    code under ASGI for the whole wait.
    """
    user = await sync_to_async(_authenticate)(request)
    if user is None:
        return _error(401, "NotAuthenticated", "Authentication credentials were not provided.")
    if not await sync_to_async(roles.can_operate)(user):
        return _error(403, "PermissionDenied", "Your role does not allow this.")
    if request.method != "GET":
        return _error(405, "MethodNotAllowed", f"Method {request.method} is not allowed.")
    try:
        wait = min(MAX_POLL_SECONDS, max(0.0, float(request.GET.get("wait", DEFAULT_POLL_SECONDS))))
    except ValueError:
        return _error(400, "InvalidRequest", "wait must be a number of seconds")
    worker = request.GET.get("worker", "")[:200] or "anonymous"
    deadline = time.monotonic() + wait
    claim = sync_to_async(callbacks._claim_activity, thread_sensitive=False)
    while True:
        task = await claim(name, worker)
        if task is not None:
            return JsonResponse(task)
        if time.monotonic() >= deadline:
            return HttpResponse(status=204)
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _authenticate(request: HttpRequest) -> Any:
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if found is not None:
        return found[0]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user  # a signed-in browser session (a safe GET needs no CSRF check)
    return None


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )
