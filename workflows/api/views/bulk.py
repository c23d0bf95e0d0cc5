"""Bulk operator actions: stop or redrive up to 100 executions in one request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import services
from ...models import Execution
from ...services import ServiceError
from .. import serializers as s
from ..parsers import NulFreeMixin
from ..schema import BODY_ERRORS, BulkResultSerializer, errors, json_body


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
