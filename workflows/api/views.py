"""REST API views: parse the request, call one service, shape the response."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import diagrams, engine, services
from ..models import Event, Execution, Flow, TaskAttempt
from . import serializers as s
from .errors import error_response

MAX_HISTORY_PAGE = 1000


class FlowPagination(CursorPagination):
    ordering = "name"


class ExecutionPagination(CursorPagination):
    ordering = ("-started_at", "-id")


class FlowListView(generics.ListAPIView):
    """List flows (``?q=`` filters by name) or create one from a JSON/YAML definition."""

    write_role = "design"

    serializer_class = s.FlowListSerializer
    pagination_class = FlowPagination

    def get_queryset(self) -> Any:
        flows = Flow.objects.all()
        if q := self.request.query_params.get("q"):
            flows = flows.filter(name__icontains=q)
        return flows

    def post(self, request: Request) -> Response:
        body = s.FlowCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.create_flow(
            body.validated_data["name"],
            body.validated_data["definition"],
            body.validated_data["description"],
            request.user,
            example_input=body.validated_data["example_input"],
        )
        return Response(_saved(version), status=status.HTTP_201_CREATED)


class FlowDetailView(APIView):
    """Get a flow, save a new version of it (PUT), or delete it."""

    write_role = "design"

    def get(self, request: Request, name: str) -> Response:
        return Response(s.FlowSerializer(get_object_or_404(Flow, name=name)).data)

    def put(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        body = s.FlowUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.save_flow_version(
            flow,
            body.validated_data["definition"],
            body.validated_data.get("description"),
            request.user,
        )
        return Response(_saved(version))

    def delete(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        try:
            flow.delete()
        except ProtectedError:
            return error_response(
                "FlowInUse",
                "The flow has executions; it cannot be deleted.",
                status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class FlowVersionListView(APIView):
    def get(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        versions = flow.versions.order_by("-number")
        return Response(
            {"results": s.FlowVersionSerializer(versions, many=True).data, "next": None}
        )


class FlowVersionDetailView(APIView):
    def get(self, request: Request, name: str, number: int) -> Response:
        flow = get_object_or_404(Flow, name=name)
        version = get_object_or_404(flow.versions, number=number)
        return Response(s.FlowVersionSerializer(version).data)


class FlowGraphView(APIView):
    """The flow's graph model and its DOT source (``?version=N`` for an older one)."""

    def get(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        number = request.query_params.get("version") or flow.latest_version
        version = get_object_or_404(flow.versions, number=number)
        return Response(diagrams.graph_for(version))


class ValidateView(APIView):
    """Validate a definition without saving it: ``{valid, diagnostics[]}``."""

    read_only_post = True  # checking a definition changes nothing: any viewer may

    def post(self, request: Request) -> Response:
        body = s.ValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = engine.validate(body.validated_data["definition"])
        return Response(
            {"valid": result.valid, "diagnostics": [d.as_dict() for d in result.diagnostics]}
        )


class FlowExecutionsView(generics.ListAPIView):
    """Start an execution of a flow (``{input, name?}``) or list the flow's executions."""

    serializer_class = s.ExecutionListSerializer
    pagination_class = ExecutionPagination

    def get_queryset(self) -> Any:
        flow = get_object_or_404(Flow, name=self.kwargs["name"])
        return _filter_executions(flow.executions.select_related("flow", "version"), self.request)

    def post(self, request: Request, name: str) -> Response:
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


class ExecutionListView(generics.ListAPIView):
    """All executions, filtered by ``status``, ``flow``, ``started_after``/``started_before``."""

    serializer_class = s.ExecutionListSerializer
    pagination_class = ExecutionPagination

    def get_queryset(self) -> Any:
        executions = Execution.objects.select_related("flow", "version")
        if flow := self.request.query_params.get("flow"):
            executions = executions.filter(flow__name=flow)
        return _filter_executions(executions, self.request)


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
    return executions


def _datetime(text: str, field: str) -> Any:
    from django.utils.dateparse import parse_datetime
    from rest_framework.exceptions import ValidationError

    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({field: "expected an ISO 8601 date-time"})
    return value


class ExecutionDetailView(APIView):
    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(
            Execution.objects.select_related("flow", "version"), pk=execution_id
        )
        return Response(s.ExecutionSerializer(execution).data)


class ExecutionHistoryView(APIView):
    """History events in order; ``?after_seq=N&limit=M`` reads incrementally."""

    def get(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(Execution, pk=execution_id)
        after = _int_param(request, "after_seq", 0, 0, None)
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


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    from rest_framework.exceptions import ValidationError

    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "expected an integer"}) from None
    if value < low or (high is not None and value > high):
        raise ValidationError({name: f"must be between {low} and {high or 'any'}"})
    return value


class ExecutionStatesView(APIView):
    """Every task attempt of an execution with its input, output, error and log lines."""

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


class ExecutionStopView(APIView):
    """Stop a running execution (``{error?, cause?, reason?}``)."""

    def post(self, request: Request, execution_id: str) -> Response:
        execution = get_object_or_404(Execution, pk=execution_id)
        body = s.StopExecutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not execution.is_open:
            return error_response(
                "ExecutionNotRunning",
                f"The execution is already {execution.status}.",
                status.HTTP_409_CONFLICT,
            )
        services.stop_execution(
            execution.pk,
            body.validated_data["error"],
            body.validated_data["cause"],
            request.user,
            reason=body.validated_data["reason"],
        )
        execution.refresh_from_db()
        return Response(s.ExecutionSerializer(execution).data)


class ExecutionRedriveView(APIView):
    """Redrive a failed, timed-out or aborted execution from where it stopped."""

    def post(self, request: Request, execution_id: str) -> Response:
        get_object_or_404(Execution, pk=execution_id)
        body = s.RedriveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.redrive_execution(
            execution_id, request.user, body.validated_data["reason"]
        )
        return Response(s.ExecutionSerializer(execution).data)


class ExecutionRerunView(APIView):
    """Start a new execution at a chosen top-level state with the input it had here."""

    def post(self, request: Request, execution_id: str) -> Response:
        get_object_or_404(Execution, pk=execution_id)
        body = s.RerunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.rerun_execution(
            execution_id,
            body.validated_data["state"],
            request.user,
            body.validated_data["reason"],
        )
        return Response(s.ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)


def _saved(version: Any) -> dict[str, Any]:
    """The saved flow plus this save's warnings (conversion notes, suspicious fields)."""
    return {**s.FlowSerializer(version.flow).data, "warnings": version.warnings}
