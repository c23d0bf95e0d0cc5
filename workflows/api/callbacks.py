"""Task tokens (complete a waiting callback task) and activities (external workers poll)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import roles, services
from ..services import callbacks
from .parsers import NUL, NulFreeMixin
from .schema import (
    BODY_ERRORS,
    TASK_TOKEN,
    ActivityTaskSerializer,
    EmptySerializer,
    errors,
    json_body,
)
from .serializers import StrictCharField

MAX_POLL_SECONDS = 60.0
DEFAULT_POLL_SECONDS = 20.0


class TokenSuccessSerializer(serializers.Serializer):
    output = serializers.JSONField(required=False, allow_null=True, default=None)


class TokenFailureSerializer(serializers.Serializer):
    error = StrictCharField(max_length=256, required=False, default="Legato.TaskFailed")
    cause = StrictCharField(max_length=32768, required=False, allow_blank=True, default="")


_TOKEN_ERRORS = errors(
    e404="No task has this token (`TaskDoesNotExist`).",
    e409="The task is no longer waiting (`TaskTimedOut`).",
)


class TokenSuccessView(NulFreeMixin, APIView):
    """Complete a callback task with its result (``{"output": …}``)."""

    @extend_schema(
        operation_id="sendTaskSuccess",
        tags=["callbacks"],
        parameters=[TASK_TOKEN],
        request=json_body(TokenSuccessSerializer),
        responses={200: EmptySerializer, **_TOKEN_ERRORS, **errors(*BODY_ERRORS, 413)},
    )
    def post(self, request: Request, token: str) -> Response:
        body = TokenSuccessSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.complete_token(token, output=body.validated_data["output"])
        services.audit(request.user, "task_success", f"task-token:{token[:24]}")
        return Response({})


class TokenFailureView(NulFreeMixin, APIView):
    """Fail a callback task (``{"error", "cause"}``); Retry/Catch apply as usual."""

    @extend_schema(
        operation_id="sendTaskFailure",
        tags=["callbacks"],
        parameters=[TASK_TOKEN],
        request=json_body(TokenFailureSerializer),
        responses={200: EmptySerializer, **_TOKEN_ERRORS, **errors(*BODY_ERRORS)},
    )
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


class TokenHeartbeatView(NulFreeMixin, APIView):
    """Report that a callback task is still being worked on (resets HeartbeatSeconds)."""

    @extend_schema(
        operation_id="sendTaskHeartbeat",
        tags=["callbacks"],
        parameters=[TASK_TOKEN],
        request=None,
        responses={200: EmptySerializer, **_TOKEN_ERRORS},
    )
    def post(self, request: Request, token: str) -> Response:
        services.heartbeat_token(token)
        return Response({})


class ActivityPollSchema(APIView):
    """The OpenAPI description of ``activity_poll`` (an async plain Django view, which
    drf-spectacular cannot inspect itself): ``documented_by`` attaches it. Never routed."""

    @extend_schema(
        operation_id="pollActivity",
        tags=["callbacks"],
        description="Long poll for the next task of an activity (operator role): up to `wait` "
        "seconds, then 204 if none came. A POST, as taking a task changes state; the body "
        "is ignored.",
        request=None,
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter(
                "worker",
                OpenApiTypes.STR,
                description="Who is asking, recorded on the task (first 200 characters); "
                "default `anonymous`.",
            ),
            OpenApiParameter(
                "wait",
                OpenApiTypes.NUMBER,
                description=f"Seconds to wait for a task (default {DEFAULT_POLL_SECONDS:g}); "
                f"clamped to 0–{MAX_POLL_SECONDS:g}.",
            ),
        ],
        responses={
            200: ActivityTaskSerializer,
            204: OpenApiResponse(description="No task came within `wait` seconds."),
            **errors(
                e400="`wait` is not a finite number, or a NUL character in the name or "
                "`worker` (`InvalidRequest`)."
            ),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        raise NotImplementedError  # documentation only: activity_poll answers


def documented_by(schema_view: type[APIView]) -> Any:
    """Let drf-spectacular document a plain Django view as if it were ``schema_view``
    (its endpoint enumerator only looks for ``view.cls``)."""

    def decorate(view: Any) -> Any:
        view.cls = schema_view
        view.initkwargs = {}
        return view

    return decorate


@documented_by(ActivityPollSchema)
@csrf_exempt  # token clients send no CSRF token; a session's POST is checked in _authenticate
async def activity_poll(request: HttpRequest, name: str) -> HttpResponse:
    """Long poll for the next task of activity ``name``: 200 ``{taskToken, input}`` or 204.

    POST only: taking a task changes state (Step Functions' GetActivityTask is a POST
    too), so a link followed by an operator's browser must not take work away. Async on
    purpose: a sync view would hold one of the few threads Django gives sync code under
    ASGI for the whole wait.
    """
    user, refusal = await sync_to_async(_authenticate)(request)
    if refusal is not None:
        return refusal
    if not await sync_to_async(roles.can_operate)(user):
        return _error(403, "PermissionDenied", "Your role does not allow this.")
    if request.method != "POST":
        response = _error(405, "MethodNotAllowed", f"Method {request.method} is not allowed.")
        response["Allow"] = "POST"
        return response
    wait, worker = _poll_parameters(request)
    if wait is None:
        return _error(400, "InvalidRequest", "wait must be a number of seconds")
    if NUL in name or NUL in worker:  # the database could not compare or store it
        return _error(400, "InvalidRequest", "name and worker must not contain NUL characters")
    deadline = time.monotonic() + wait
    claim = sync_to_async(callbacks.claim_activity, thread_sensitive=False)
    while True:
        task = await claim(name, worker)
        if task is not None:
            return JsonResponse(task)
        if time.monotonic() >= deadline:
            return HttpResponse(status=204)
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _poll_parameters(request: HttpRequest) -> tuple[float | None, str]:
    """``wait`` clamped to 0–60 s (None when it is not a finite number), and ``worker``."""
    try:
        wait = float(request.GET.get("wait", DEFAULT_POLL_SECONDS))
    except ValueError:
        wait = math.nan
    worker = request.GET.get("worker", "")[:200] or "anonymous"
    if not math.isfinite(wait):
        return None, worker
    return min(MAX_POLL_SECONDS, max(0.0, wait)), worker


def _authenticate(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    """The token's user, or the session's after the CSRF check DRF's SessionAuthentication
    makes (the view is exempt from the middleware's). Else a 401 or 403 to answer."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

    from .authentication import HashedTokenAuthentication

    unauthenticated = _error(
        401, "NotAuthenticated", "Authentication credentials were not provided."
    )
    try:
        found = HashedTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None, unauthenticated
    if found is not None:
        return found[0], None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, unauthenticated
    try:
        SessionAuthentication().enforce_csrf(request)
    except PermissionDenied as exc:
        return None, _error(403, "PermissionDenied", str(exc.detail))
    return user, None


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )
