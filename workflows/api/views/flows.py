"""Flow views: list, detail, versions, version diff, graph and validate."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
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
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import diagrams, engine, services
from ...models import Flow
from .. import serializers as s
from ..errors import error_response
from ..pagination import StrictCursorPagination
from ..parsers import NulFreeMixin
from ..schema import (
    BODY_ERRORS,
    DEFINITION_ERRORS,
    FLOW_NAME,
    VERSION_NUMBER,
    GraphSerializer,
    SavedFlowSerializer,
    ValidationResultSerializer,
    VersionDiffSerializer,
    errors,
    json_body,
    or_empty,
)
from ._common import MAX_SEQ, _int_param, _nested_scopes


class FlowPagination(StrictCursorPagination):
    ordering = "name"


class VersionPagination(StrictCursorPagination):
    ordering = "-number"  # unique within a flow: a stable cursor


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
            **errors(e400="An invalid parameter, or a malformed `cursor` (`InvalidRequest`)."),
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


class FlowVersionListView(NulFreeMixin, generics.ListAPIView):
    serializer_class = s.FlowVersionSerializer
    pagination_class = VersionPagination

    def get_queryset(self) -> Any:
        flow = get_object_or_404(Flow, name=self.kwargs["name"])
        return flow.versions.select_related("flow")

    @extend_schema(
        operation_id="listFlowVersions",
        tags=["flows"],
        description="Every version of the flow, newest first (cursor-paginated).",
        parameters=[FLOW_NAME],
        responses={
            200: s.FlowVersionSerializer(many=True),
            **errors(404, e400="A malformed `cursor` (`InvalidRequest`)."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


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


class FlowVersionDiffView(NulFreeMixin, APIView):
    """What changed between two versions: their source text and their states."""

    @extend_schema(
        operation_id="diffFlowVersions",
        tags=["flows"],
        description="A unified diff of the two versions' source text, and the state names "
        "(top level and nested) added, removed or changed from `a` to `b`.",
        parameters=[
            FLOW_NAME,
            OpenApiParameter("a", OpenApiTypes.INT, OpenApiParameter.PATH, description="From."),
            OpenApiParameter("b", OpenApiTypes.INT, OpenApiParameter.PATH, description="To."),
        ],
        responses={200: VersionDiffSerializer, **errors(404)},
    )
    def get(self, request: Request, name: str, a: int, b: int) -> Response:
        flow = get_object_or_404(Flow, name=name)
        if a > MAX_SEQ or b > MAX_SEQ:  # no such version (and more than the column holds)
            raise Http404
        old = get_object_or_404(flow.versions, number=a)
        new = get_object_or_404(flow.versions, number=b)
        diff = difflib.unified_diff(
            old.source.splitlines(keepends=True),
            new.source.splitlines(keepends=True),
            fromfile=f"{flow.name} v{a}",
            tofile=f"{flow.name} v{b}",
        )
        return Response(
            {
                "from": a,
                "to": b,
                "diff": "".join(line if line.endswith("\n") else line + "\n" for line in diff),
                "changed_states": _changed_states(old.parsed, new.parsed),
            }
        )


def _changed_states(old: Any, new: Any) -> dict[str, list[str]]:
    before, after = _all_states(old), _all_states(new)
    return {
        "added": [n for n in after if n not in before],
        "removed": [n for n in before if n not in after],
        "changed": [n for n in after if n in before and before[n] != after[n]],
    }


def _all_states(definition: Any) -> dict[str, Any]:
    """Every state of a definition by name (names are unique across the whole machine),
    in source order, parents before the states nested in them."""
    found: dict[str, Any] = {}

    def walk(machine: Any) -> None:
        states = machine.get("States") if isinstance(machine, dict) else None
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            found[name] = _own_fields(state)
            if isinstance(state, dict):
                for _, scope in _nested_scopes(state):
                    walk(scope)

    walk(definition)
    return found


def _own_fields(state: Any) -> Any:
    """A state with its branches or processor reduced to their outline (StartAt and state
    names): a change inside one is the inner state's change, not the Parallel's or Map's."""
    if not isinstance(state, dict):
        return state

    def outline(scope: Any) -> Any:
        if isinstance(scope, dict) and isinstance(scope.get("States"), dict):
            return {**scope, "States": list(scope["States"])}
        return scope

    shape = dict(state)
    if isinstance(state.get("Branches"), list):
        shape["Branches"] = [outline(branch) for branch in state["Branches"]]
    for key in ("ItemProcessor", "Iterator"):
        if key in state:
            shape[key] = outline(state[key])
    return shape


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
        result = engine.validate(
            body.validated_data["definition"], settings.LEGATO["MAX_JSON_DEPTH"]
        )
        return Response(
            {"valid": result.valid, "diagnostics": [d.as_dict() for d in result.diagnostics]}
        )


def _saved(version: Any) -> dict[str, Any]:
    """The saved flow plus this save's warnings (conversion notes, suspicious fields)."""
    return {**s.FlowSerializer(version.flow).data, "warnings": version.warnings}
