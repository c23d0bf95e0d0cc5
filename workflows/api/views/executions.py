"""Execution views: start and list, detail, history, task states, and their filters."""

from __future__ import annotations

import json
import math
from datetime import UTC
from typing import Any

from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import services
from ...models import Event, Execution, Flow, TaskAttempt
from .. import serializers as s
from ..pagination import StrictCursorPagination
from ..parsers import NulFreeMixin
from ..schema import (
    BODY_ERRORS,
    EXECUTION_FILTERS,
    EXECUTION_ID,
    FLOW_NAME,
    HistoryPageSerializer,
    TaskAttemptPageSerializer,
    errors,
    json_body,
    or_empty,
)
from ._common import MAX_HISTORY_PAGE, MAX_SEQ, MAX_START_WAIT, _int_param


class ExecutionPagination(StrictCursorPagination):
    ordering = ("-started_at", "-id")


class FlowExecutionsView(NulFreeMixin, generics.ListAPIView):
    """Start an execution of a flow (``{input, name?}``) or list the flow's executions."""

    serializer_class = s.ExecutionListSerializer
    pagination_class = ExecutionPagination

    def get_queryset(self) -> Any:
        flow = get_object_or_404(Flow, name=self.kwargs["name"])
        return _filter_executions(flow.executions.select_related("flow", "version"), self.request)

    @extend_schema(
        operation_id="listFlowExecutions",
        tags=["executions"],
        parameters=[FLOW_NAME, *EXECUTION_FILTERS],
        responses={
            200: s.ExecutionListSerializer(many=True),
            **errors(404, e400="An invalid parameter, or a malformed `cursor` (`InvalidRequest`)."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="startExecution",
        tags=["executions"],
        description="Start an execution of the flow's latest version (operator role). The "
        "same name and input while that execution is still running answers 200 with it. "
        "With `wait`, the answer comes when the execution ends or after `wait` seconds, "
        "whichever is first (then it is still `RUNNING`).",
        parameters=[
            FLOW_NAME,
            OpenApiParameter(
                "wait",
                or_empty(
                    {
                        "type": "number",
                        "exclusiveMinimum": True,
                        "minimum": 0,
                        "maximum": MAX_START_WAIT,
                    }
                ),
                description="Wait up to this many seconds (more than 0, at most "
                f"{MAX_START_WAIT:g}) for the execution to end, and answer with its final "
                "status and output. Absent or empty: answer at once.",
            ),
        ],
        request=json_body(s.StartExecutionSerializer),
        examples=[OpenApiExample("An input", value={"input": {"who": "Ada"}}, request_only=True)],
        responses={
            201: OpenApiResponse(s.ExecutionSerializer, description="Started."),
            200: OpenApiResponse(
                s.ExecutionSerializer, description="Already running with this name and input."
            ),
            **errors(
                *BODY_ERRORS,
                404,
                413,
                e400="Malformed JSON, invalid fields or an invalid `wait` (`InvalidRequest`).",
                e409="The name is taken by another execution (`ExecutionAlreadyExists`).",
            ),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        # With ?wait=N the async view in waiting.py calls this one to start, then waits;
        # checking the parameter here refuses a bad one before anything starts.
        wait_seconds(request.query_params)
        flow = get_object_or_404(Flow, name=name)
        body = s.StartExecutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution, created = services.start_execution(
            flow,
            body.validated_data.get("input", {}),
            body.validated_data.get("name"),
            request.user,
        )
        execution.refresh_from_db()
        return Response(
            s.ExecutionSerializer(execution).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ExecutionListView(NulFreeMixin, generics.ListAPIView):
    """All executions, filtered by ``status``, ``flow``, ``name``, ``q`` (text search),
    ``started_after``/``started_before``."""

    serializer_class = s.ExecutionListSerializer
    pagination_class = ExecutionPagination

    def get_queryset(self) -> Any:
        executions = Execution.objects.select_related("flow", "version")
        if flow := self.request.query_params.get("flow"):
            executions = executions.filter(flow__name=flow)
        return _filter_executions(executions, self.request)

    @extend_schema(
        operation_id="listExecutions",
        tags=["executions"],
        parameters=[
            OpenApiParameter("flow", OpenApiTypes.STR, description="Only this flow's."),
            *EXECUTION_FILTERS,
        ],
        responses={
            200: s.ExecutionListSerializer(many=True),
            **errors(e400="An invalid parameter, or a malformed `cursor` (`InvalidRequest`)."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _filter_executions(executions: Any, request: Request) -> Any:
    params = request.query_params
    if statuses := params.get("status"):
        executions = executions.filter(status__in=statuses.upper().split(","))
    if after := params.get("started_after"):
        executions = executions.filter(started_at__gte=_datetime(after, "started_after"))
    if before := params.get("started_before"):
        executions = executions.filter(started_at__lt=_datetime(before, "started_before"))
    if prefix := params.get("name"):
        executions = executions.filter(name__startswith=prefix)
    if text := params.get("q"):
        executions = _search(executions, text)
    return executions


def _search(executions: Any, text: str) -> Any:
    """Case-insensitive ``text`` in the name, or in the input's or output's JSON text.

    The JSON columns are cast to text (PostgreSQL: ``jsonb::text``; SQLite stores the text
    as written). Inside that text a string is JSON-escaped, and on SQLite non-ASCII
    characters are ``\\uXXXX`` escapes: the escaped spelling of ``text`` is searched too."""
    spellings = {text, json.dumps(text)[1:-1]}
    executions = executions.annotate(
        input_text=Cast("input", TextField()), output_text=Cast("output", TextField())
    )
    match = Q(name__icontains=text)
    for spelling in spellings:
        match |= Q(input_text__icontains=spelling) | Q(output_text__icontains=spelling)
    return executions.filter(match)


def wait_seconds(params: Any) -> float | None:
    """The ``wait`` query parameter of a start: seconds in (0, 30], or None when absent
    or empty."""
    raw = params.get("wait")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_START_WAIT):
        raise ValidationError(
            {"wait": f"must be a number of seconds, above 0 and at most {MAX_START_WAIT:g}"}
        )
    return value


def _datetime(text: str, field: str) -> Any:
    from django.utils.dateparse import parse_datetime

    try:
        value = parse_datetime(text)
        if value is not None and value.tzinfo is not None:
            value.astimezone(UTC)  # the database compares in UTC: year 0 or 10000 fails
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise ValidationError({field: "expected an ISO 8601 date-time within years 1-9999 (UTC)"})
    return value


class ExecutionDetailView(NulFreeMixin, APIView):
    @extend_schema(
        operation_id="getExecution",
        tags=["executions"],
        parameters=[EXECUTION_ID],
        responses={200: s.ExecutionSerializer, **errors(404)},
    )
    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(
            Execution.objects.select_related("flow", "version"), pk=execution_id
        )
        return Response(s.ExecutionSerializer(execution).data)


class ExecutionHistoryView(NulFreeMixin, APIView):
    """History events in order; ``?after_seq=N&limit=M`` reads incrementally."""

    @extend_schema(
        operation_id="getExecutionHistory",
        tags=["executions"],
        parameters=[
            EXECUTION_ID,
            OpenApiParameter(
                "after_seq",
                {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
                description="Only events after this `seq` (default 0: from the start).",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_PAGE},
                description=f"At most this many events (default {MAX_HISTORY_PAGE}).",
            ),
        ],
        responses={200: HistoryPageSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(Execution, pk=execution_id)
        after = _int_param(request, "after_seq", 0, 0, MAX_SEQ)
        limit = _int_param(request, "limit", MAX_HISTORY_PAGE, 1, MAX_HISTORY_PAGE)
        events = list(
            Event.objects.filter(execution=execution, seq__gt=after).order_by("seq")[: limit + 1]
        )
        more = len(events) > limit
        events = events[:limit]
        next_url = None
        if more:
            next_url = request.build_absolute_uri(
                f"{request.path}?after_seq={events[-1].seq}&limit={limit}"
            )
        return Response({"results": s.EventSerializer(events, many=True).data, "next": next_url})


class ExecutionStatesView(NulFreeMixin, APIView):
    """Every task attempt of an execution with its input, output, error and log lines."""

    @extend_schema(
        operation_id="listExecutionStates",
        tags=["executions"],
        parameters=[EXECUTION_ID],
        responses={200: TaskAttemptPageSerializer, **errors(404)},
    )
    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(Execution, pk=execution_id)
        attempts = (
            TaskAttempt.objects.filter(execution=execution)
            .order_by("scheduled_at", "pk")
            .prefetch_related("logs")
        )
        return Response({"results": [_attempt(a) for a in attempts], "next": None})


def _attempt(attempt: TaskAttempt) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "state": attempt.state,
        "resource": attempt.resource,
        "attempt": attempt.attempt,
        "status": attempt.status,
        "item_index": attempt.item_index,
        "input": attempt.input,
        "output": attempt.output,
        "error": attempt.error or None,
        "cause": attempt.cause or None,
        "waiting_for_token": attempt.status == TaskAttempt.Status.WAITING
        or (attempt.token is not None and attempt.status in ("SCHEDULED", "RUNNING")),
        "token": attempt.token if attempt.status in ("SCHEDULED", "RUNNING", "WAITING") else None,
        "scheduled_at": attempt.scheduled_at,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "logs": [line.as_dict() for line in attempt.logs.all()],
    }
