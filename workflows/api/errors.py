"""One error body for every API failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from ..services import ServiceError


def error_response(code: str, message: str, http_status: int, details: Any = None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details}}, status=http_status
    )


_CODES = {
    exceptions.NotAuthenticated: "NotAuthenticated",
    exceptions.AuthenticationFailed: "AuthenticationFailed",
    exceptions.PermissionDenied: "PermissionDenied",
    exceptions.NotFound: "NotFound",
    exceptions.MethodNotAllowed: "MethodNotAllowed",
    exceptions.ParseError: "MalformedRequest",
    exceptions.UnsupportedMediaType: "UnsupportedMediaType",
    exceptions.Throttled: "Throttled",
    exceptions.ValidationError: "InvalidRequest",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return error_response(exc.code, exc.message, exc.status, exc.details)
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            "PayloadTooLarge",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # The database restarting or failing over. A retry is safe: starting by name is
        # idempotent, and operator actions are refused once done.
        response = error_response(
            "DatabaseUnavailable",
            "The database is not reachable right now. Retry shortly.",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "2"
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "Error")
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            code, "The request is invalid.", status.HTTP_400_BAD_REQUEST, response.data
        )
    detail = getattr(exc, "detail", str(exc))
    # Where in the body, when the parser knows (MalformedJSON).
    details = {"path": exc.pointer} if hasattr(exc, "pointer") else None
    response.data = {"error": {"code": code, "message": str(detail), "details": details}}
    return response


def _json_error(code: str, message: str, http_status: int) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "details": None}}
    return JsonResponse(body, status=http_status)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a URL no route matches is the API's JSON 404 under ``/api/``."""
    if request.path.startswith("/api/"):
        return _json_error("NotFound", "There is no such API endpoint or object.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the API's error body under ``/api/``, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return _json_error("InternalError", "The server failed to answer this request.", 500)
    return defaults.server_error(request)
