"""REST API views: parse the request, call one service, shape the response."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import diagrams, engine, services
from ..models import Event, Execution, Flow, TaskAttempt
from . import serializers as s
from .errors import error_response
from .parsers import NulFreeMixin
from .schema import (
    BODY_ERRORS,
    DEFINITION_ERRORS,
    EXECUTION_FILTERS,
    EXECUTION_ID,
    FLOW_NAME,
    VERSION_NUMBER,
    FlowVersionPageSerializer,
    GraphSerializer,
    HistoryPageSerializer,
    SavedFlowSerializer,
    TaskAttemptPageSerializer,
    ValidationResultSerializer,
    errors,
    json_body,
    or_empty,
)

MAX_HISTORY_PAGE = 1000
MAX_SEQ = 2**31 - 1  # the largest PositiveIntegerField everywhere


class FlowPagination(CursorPagination):
    ordering = "name"


class ExecutionPagination(CursorPagination):
    ordering = ("-started_at", "-id")


class FlowListView(NulFreeMixin, generics.ListAPIView):
    """List flows (``?q=`` filters by name) or create one from a JSON/YAML definition."""

    write_role = "design"

    serializer_class = s.FlowListSerializer
    pagination_class = FlowPagination

    def get_queryset(self) -> Any:
        flows = Flow.objects.all()
        if q := self.request.query_params.get("q"):
            flows = flows.filter(name__icontains=q)
        return flows

    @extend_schema(
        operation_id="listFlows",
        tags=["flows"],
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="Name contains this.")],
        responses={
            200: s.FlowListSerializer(many=True),
            **errors(400, 404, e404="Invalid cursor."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="createFlow",
        tags=["flows"],
        description="Create a flow from an ASL, FDL or CloudFlow definition (designer role).",
        request=json_body(s.FlowCreateSerializer),
        examples=[
            OpenApiExample(
                "A YAML definition",
                value={
                    "name": "greeter",
                    "definition": "StartAt: Hi\nStates:\n  Hi:\n    Type: Pass\n    End: true\n",
                    "description": "Says hello.",
                },
                request_only=True,
            )
        ],
        responses={
            201: SavedFlowSerializer,
            **errors(
                *BODY_ERRORS,
                e400=DEFINITION_ERRORS,
                e409="A flow with this name exists (`FlowAlreadyExists`).",
            ),
        },
    )
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


class FlowDetailView(NulFreeMixin, APIView):
    """Get a flow, save a new version of it (PUT), or delete it."""

    write_role = "design"

    @extend_schema(
        operation_id="getFlow",
        tags=["flows"],
        parameters=[FLOW_NAME],
        responses={200: s.FlowSerializer, **errors(404)},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(s.FlowSerializer(get_object_or_404(Flow, name=name)).data)

    @extend_schema(
        operation_id="updateFlow",
        tags=["flows"],
        description="Save a new immutable version of the flow (designer role).",
        parameters=[FLOW_NAME],
        request=json_body(s.FlowUpdateSerializer),
        responses={
            200: SavedFlowSerializer,
            **errors(*BODY_ERRORS, 404, e400=DEFINITION_ERRORS),
        },
    )
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

    @extend_schema(
        operation_id="deleteFlow",
        tags=["flows"],
        description="Delete the flow and its versions (designer role).",
        parameters=[FLOW_NAME],
        responses={
            204: OpenApiResponse(description="Deleted."),
            **errors(404, e409="The flow has executions (`FlowInUse`)."),
        },
    )
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


class FlowVersionListView(NulFreeMixin, APIView):
    @extend_schema(
        operation_id="listFlowVersions",
        tags=["flows"],
        description="Every version of the flow, newest first.",
        parameters=[FLOW_NAME],
        responses={200: FlowVersionPageSerializer, **errors(404)},
    )
    def get(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        versions = flow.versions.order_by("-number")
        return Response(
            {"results": s.FlowVersionSerializer(versions, many=True).data, "next": None}
        )


class FlowVersionDetailView(NulFreeMixin, APIView):
    @extend_schema(
        operation_id="getFlowVersion",
        tags=["flows"],
        description="One version of the flow with its source as submitted.",
        parameters=[FLOW_NAME, VERSION_NUMBER],
        responses={200: s.FlowVersionSerializer, **errors(404)},
    )
    def get(self, request: Request, name: str, number: int) -> Response:
        flow = get_object_or_404(Flow, name=name)
        if number > MAX_SEQ:  # no such version (and more than the database column holds)
            raise Http404
        version = get_object_or_404(flow.versions, number=number)
        return Response(s.FlowVersionSerializer(version).data)


class FlowGraphView(NulFreeMixin, APIView):
    """The flow's graph model and its DOT source (``?version=N`` for an older one)."""

    @extend_schema(
        operation_id="getFlowGraph",
        tags=["flows"],
        parameters=[
            FLOW_NAME,
            OpenApiParameter(
                "version",
                or_empty({"type": "integer", "minimum": 1, "maximum": MAX_SEQ}),
                description="A version number; absent or empty: the latest.",
            ),
        ],
        responses={200: GraphSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        number = flow.latest_version
        if request.query_params.get("version"):
            number = _int_param(request, "version", number, 1, MAX_SEQ)
        version = get_object_or_404(flow.versions, number=number)
        return Response(diagrams.graph_for(version))


class ValidateView(NulFreeMixin, APIView):
    """Validate a definition without saving it: ``{valid, diagnostics[]}``."""

    read_only_post = True  # checking a definition changes nothing: any viewer may

    @extend_schema(
        operation_id="validateDefinition",
        tags=["flows"],
        request=json_body(s.ValidateSerializer),
        responses={200: ValidationResultSerializer, **errors(*BODY_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        body = s.ValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = engine.validate(body.validated_data["definition"])
        return Response(
            {"valid": result.valid, "diagnostics": [d.as_dict() for d in result.diagnostics]}
        )


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
            **errors(400, 404, e404="No such flow, or an invalid cursor (`NotFound`)."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="startExecution",
        tags=["executions"],
        description="Start an execution of the flow's latest version (operator role). The "
        "same name and input while that execution is still running answers 200 with it.",
        parameters=[FLOW_NAME],
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
                e409="The name is taken by another execution (`ExecutionAlreadyExists`).",
            ),
        },
    )
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


class ExecutionListView(NulFreeMixin, generics.ListAPIView):
    """All executions, filtered by ``status``, ``flow``, ``started_after``/``started_before``."""

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
            **errors(400, 404, e404="Invalid cursor."),
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
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError({name: f"must be {bounds}"})
    return value


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


class ExecutionStopView(NulFreeMixin, APIView):
    """Stop a running execution (``{error?, cause?, reason?}``)."""

    @extend_schema(
        operation_id="stopExecution",
        tags=["executions"],
        parameters=[EXECUTION_ID],
        request=json_body(s.StopExecutionSerializer),
        responses={
            200: s.ExecutionSerializer,
            **errors(
                *BODY_ERRORS, 404, e409="The execution already ended (`ExecutionNotRunning`)."
            ),
        },
    )
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


class ExecutionRedriveView(NulFreeMixin, APIView):
    """Redrive a failed, timed-out or aborted execution from where it stopped."""

    @extend_schema(
        operation_id="redriveExecution",
        tags=["executions"],
        parameters=[EXECUTION_ID],
        request=json_body(s.RedriveSerializer),
        responses={
            200: s.ExecutionSerializer,
            **errors(
                *BODY_ERRORS,
                404,
                e409="The execution is running or succeeded (`ExecutionNotRedrivable`).",
            ),
        },
    )
    def post(self, request: Request, execution_id: str) -> Response:
        get_object_or_404(Execution, pk=execution_id)
        body = s.RedriveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.redrive_execution(
            execution_id, request.user, body.validated_data["reason"]
        )
        return Response(s.ExecutionSerializer(execution).data)


class ExecutionRerunView(NulFreeMixin, APIView):
    """Start a new execution at a chosen top-level state with the input it had here."""

    @extend_schema(
        operation_id="rerunExecution",
        tags=["executions"],
        parameters=[EXECUTION_ID],
        request=json_body(s.RerunSerializer),
        responses={
            201: s.ExecutionSerializer,
            **errors(
                *BODY_ERRORS,
                404,
                413,
                e400="Invalid fields, or the state never ran at the top level here.",
                e409="The new execution's name is taken (`ExecutionAlreadyExists`).",
            ),
        },
    )
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
