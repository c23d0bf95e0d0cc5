"""REST API views: parse the request, call one service, shape the response."""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from django.db.models import ProtectedError, Q, TextField
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import diagrams, engine, services
from ..engine.validate import successors as validate_successors
from ..models import Event, Execution, Flow, TaskAttempt
from ..services import ServiceError
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
    BulkResultSerializer,
    GraphSerializer,
    HistoryPageSerializer,
    SavedFlowSerializer,
    StateTestResultSerializer,
    TaskAttemptPageSerializer,
    ValidationResultSerializer,
    VersionDiffSerializer,
    errors,
    json_body,
    or_empty,
)

MAX_HISTORY_PAGE = 1000
MAX_SEQ = 2**31 - 1  # the largest PositiveIntegerField everywhere
MAX_START_WAIT = 30.0  # seconds a start may wait for its execution to end (?wait=)


class FlowPagination(CursorPagination):
    ordering = "name"


class ExecutionPagination(CursorPagination):
    ordering = ("-started_at", "-id")


class VersionPagination(CursorPagination):
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
            **errors(404, e404="No such flow, or an invalid cursor (`NotFound`)."),
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


def _nested_scopes(state: dict[str, Any]) -> list[tuple[str, Any]]:
    """A state's nested machines: a Parallel's branches, a Map's processor (or Iterator)."""
    scopes: list[tuple[str, Any]] = []
    if isinstance(state.get("Branches"), list):
        scopes.extend(("Branches", branch) for branch in state["Branches"])
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(state.get(key), dict):
            scopes.append((key, state[key]))
    return scopes


TEST_STATE_NAME = "State"


class StateTestView(NulFreeMixin, APIView):
    """Run one state on an input and show each processing stage (Step Functions' TestState)."""

    read_only_post = True  # nothing is stored and no resource runs: any viewer may

    @extend_schema(
        operation_id="testState",
        tags=["flows"],
        description="Run one state once on `input`, without an execution, and show the value "
        "after each processing stage. A Task's resource is never run (it could have side "
        "effects): give the `result` it would return, or the `error` (and `cause`) it would "
        "raise to see what Retry and Catch do; a Task with neither is a 400. Parallel and Map "
        "states cannot be tested on their own (400). The state is validated first, as the "
        "only state of a machine (400 `InvalidDefinition` with the diagnostics).",
        request=json_body(s.StateTestSerializer),
        examples=[
            OpenApiExample(
                "A Pass state",
                value={
                    "definition": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"},
                    "input": {"a": 1},
                },
                request_only=True,
            ),
            OpenApiExample(
                "A Task of a whole definition, with the error its resource would raise",
                value={
                    "definition": {
                        "StartAt": "Work",
                        "States": {
                            "Work": {
                                "Type": "Task",
                                "Resource": "builtin:echo",
                                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}],
                                "End": True,
                            },
                            "Oops": {"Type": "Fail"},
                        },
                    },
                    "stateName": "Work",
                    "input": {},
                    "error": "Boom",
                    "cause": "simulated",
                },
                request_only=True,
            ),
        ],
        responses={
            200: StateTestResultSerializer,
            **errors(
                *BODY_ERRORS,
                e400="Invalid fields, a Task with neither `result` nor `error`, a Parallel or "
                "Map, no such `stateName` (`InvalidRequest`), or an invalid state "
                "(`InvalidDefinition`, details = diagnostics).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        from ..engine.inspect import inspect_state

        body = s.StateTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        definition = data["definition"]
        if isinstance(definition, str):
            try:
                definition = engine.parse(definition).data
            except engine.SourceError as exc:
                diagnostic = engine.Diagnostic(
                    exc.code, exc.code, exc.message, "", line=exc.line, column=exc.column
                )
                return error_response(
                    "InvalidDefinition",
                    "The definition cannot be parsed.",
                    status.HTTP_400_BAD_REQUEST,
                    [diagnostic.as_dict()],
                )
        state, name, pointer, language = _pick_state(definition, data.get("stateName"))
        if state.get("Type") in ("Parallel", "Map"):
            raise ValidationError(
                {"definition": "Parallel and Map states cannot be tested on their own."}
            )
        diagnostics = _check_single_state(state, name, pointer, language)
        if diagnostics is not None:
            return error_response(
                "InvalidDefinition",
                "The state is invalid.",
                status.HTTP_400_BAD_REQUEST,
                diagnostics,
            )
        has_result, has_error = "result" in data, "error" in data
        if state.get("Type") == "Task":
            if not (has_result or has_error):
                raise ValidationError(
                    {
                        "result": "A Task's resource is not run here (it could have side "
                        "effects): give the `result` it would return, or the `error` (and "
                        "`cause`) it would raise."
                    }
                )
            if has_result and has_error:
                raise ValidationError({"error": "Give either `result` or `error`, not both."})
        try:
            answer = inspect_state(
                state,
                data["input"],
                now=timezone.now(),
                result=data.get("result"),
                error=data.get("error"),
                cause=data["cause"] if has_error else None,
                variables=data["variables"],
                query_language=language,
            )
        except ValueError as exc:
            raise ValidationError({"definition": str(exc)}) from None
        return Response(answer)


def _pick_state(definition: Any, state_name: str | None) -> tuple[dict[str, Any], str, str, Any]:
    """The state to test, its name, its JSON pointer in ``definition`` and the query
    language of its scope."""
    if not isinstance(definition, dict):
        raise ValidationError({"definition": "must be a state or a whole definition"})
    whole = isinstance(definition.get("States"), dict)
    if state_name is None:
        if whole and "Type" not in definition:
            raise ValidationError(
                {"stateName": "Name the state to test: the definition is a whole machine."}
            )
        return definition, TEST_STATE_NAME, "", None
    if not whole:
        raise ValidationError({"stateName": "Only with a whole definition (with `States`)."})
    found = _find_state(definition, state_name, "", definition.get("QueryLanguage"))
    if found is None:
        raise ValidationError({"stateName": f"There is no state {state_name!r}."})
    return found


def _find_state(
    machine: dict[str, Any], wanted: str, pointer: str, language: Any
) -> tuple[dict[str, Any], str, str, Any] | None:
    language = machine.get("QueryLanguage") or language
    states = machine.get("States")
    if not isinstance(states, dict):
        return None
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{pointer}/States/{_escape(name)}"
        if name == wanted:
            return state, name, here, language
        for index, (key, scope) in enumerate(_nested_scopes(state)):
            if not isinstance(scope, dict):
                continue
            inner = f"{here}/{key}" + (f"/{index}" if key == "Branches" else "")
            if found := _find_state(scope, wanted, inner, language):
                return found
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _check_single_state(
    state: dict[str, Any], name: str, pointer: str, language: Any
) -> list[dict[str, Any]] | None:
    """Validate the state as the only one of a tiny machine (its transitions lead to
    placeholder end states); the diagnostics, pointing into the request, if it is invalid."""
    body = {k: v for k, v in state.items() if k not in ("Next", "End")}
    if state.get("Type") not in ("Choice", "Succeed", "Fail"):
        body["End"] = True
    states: dict[str, Any] = {name: body}
    for target in validate_successors(body):
        if target != name:
            states.setdefault(target, {"Type": "Succeed"})
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if language:
        machine["QueryLanguage"] = language
    result = engine.validate(machine)
    if result.valid:
        return None
    prefix = f"/States/{_escape(name)}"
    diagnostics = []
    for diagnostic in result.diagnostics:
        item = diagnostic.as_dict()
        path = item["path"]
        if path == prefix or path.startswith(prefix + "/"):
            item["path"] = pointer + path[len(prefix) :]
        item["line"] = item["column"] = None  # they would point into the wrapper machine
        diagnostics.append(item)
    return diagnostics


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


class _BulkActionView(NulFreeMixin, APIView):
    """Apply one operator action to up to 100 executions; every id gets its own result, and
    one that cannot be acted on is an error in its result, never a failed request."""

    def post(self, request: Request) -> Response:
        body = s.BulkActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        results = []
        for execution_id in body.validated_data["ids"]:
            try:
                results.append(self.act(execution_id, request.user, reason))
            except ServiceError as exc:
                results.append(_bulk_error(execution_id, exc.code, exc.message))
        return Response({"results": results})

    def act(self, execution_id: Any, user: Any, reason: str) -> dict[str, Any]:
        raise NotImplementedError


def _bulk_error(execution_id: Any, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(execution_id),
        "ok": False,
        **extra,
        "error": {"code": code, "message": message},
    }


def _status_of(execution_id: Any) -> str | None:
    return Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first()


_NOT_FOUND = "There is no such execution."

_BULK_DOC = {
    "tags": ["executions"],
    "request": json_body(s.BulkActionSerializer),
    "responses": {
        200: OpenApiResponse(
            BulkResultSerializer,
            description="One result per id: `ok`, the execution's `status`, or the `error` "
            "(`NotFound`, …) that kept it from being done.",
        ),
        **errors(
            *BODY_ERRORS,
            e400="Malformed JSON, or invalid fields: `ids` must hold 1 to "
            "100 execution ids (`InvalidRequest`).",
        ),
    },
}


class BulkStopView(_BulkActionView):
    @extend_schema(
        operation_id="bulkStopExecutions",
        description="Stop up to 100 running executions (operator role), each as "
        "`POST /executions/{id}/stop/` with the error `Legato.Stopped` and the `reason` as "
        "cause. One that already ended is a `ExecutionNotRunning` error in its result.",
        **_BULK_DOC,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def act(self, execution_id: Any, user: Any, reason: str) -> dict[str, Any]:
        current = _status_of(execution_id)
        if current is None:
            return _bulk_error(execution_id, "NotFound", _NOT_FOUND)
        stopped = current == Execution.Status.RUNNING and services.stop_execution(
            execution_id, "Legato.Stopped", reason, user, reason=reason
        )
        current = _status_of(execution_id)
        if not stopped:
            return _bulk_error(
                execution_id,
                "ExecutionNotRunning",
                f"The execution is already {current}.",
                status=current,
            )
        return {"id": str(execution_id), "ok": True, "status": current}


class BulkRedriveView(_BulkActionView):
    @extend_schema(
        operation_id="bulkRedriveExecutions",
        description="Redrive up to 100 failed, timed-out or aborted executions (operator "
        "role), each as `POST /executions/{id}/redrive/`. A running or succeeded one is an "
        "`ExecutionNotRedrivable` error in its result.",
        **_BULK_DOC,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def act(self, execution_id: Any, user: Any, reason: str) -> dict[str, Any]:
        current = _status_of(execution_id)
        if current is None:
            return _bulk_error(execution_id, "NotFound", _NOT_FOUND)
        try:
            execution = services.redrive_execution(execution_id, user, reason)
        except ServiceError as exc:
            return _bulk_error(execution_id, exc.code, exc.message, status=current)
        return {"id": str(execution_id), "ok": True, "status": execution.status}


def _saved(version: Any) -> dict[str, Any]:
    """The saved flow plus this save's warnings (conversion notes, suspicious fields)."""
    return {**s.FlowSerializer(version.flow).data, "warnings": version.warnings}
