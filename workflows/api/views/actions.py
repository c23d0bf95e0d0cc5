"""Operator actions on one execution: stop, redrive and rerun."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import services
from ...models import Execution
from .. import serializers as s
from ..errors import error_response
from ..parsers import NulFreeMixin
from ..schema import BODY_ERRORS, EXECUTION_ID, errors, json_body


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
        stopped = services.stop_execution(
            execution.pk,
            body.validated_data["error"],
            body.validated_data["cause"],
            request.user,
            reason=body.validated_data["reason"],
        )
        execution.refresh_from_db()
        if not stopped:
            # It ended between the check above and the lock (a completion won the race):
            # the stop did nothing, and the client must not be told otherwise.
            return error_response(
                "ExecutionNotRunning",
                f"The execution is already {execution.status}.",
                status.HTTP_409_CONFLICT,
            )
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
