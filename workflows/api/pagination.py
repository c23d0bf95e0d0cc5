"""Cursor pagination whose malformed cursor is a 400 saying so, never a 404 or a 500."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination

from .parsers import NUL

INVALID_CURSOR = "not a cursor this list wrote; start again without it"


class StrictCursorPagination(CursorPagination):
    """DRF's cursor pagination, checking the cursor before it reaches a query.

    DRF answers an undecodable cursor with a 404 and passes a decodable one's position
    straight to a filter: a position of the wrong type (``p=2`` where a date belongs), a
    NUL, a number beyond the column or a date beyond the calendar in UTC failed there, as
    a 500. A cursor is the API's own output, so anything else is the client's mistake.
    """

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": INVALID_CURSOR}) from None
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        name = self.ordering[0].lstrip("-")
        try:
            field = self._model._meta.get_field(name)
            if NUL in position:
                raise DjangoValidationError("NUL")
            value = field.clean(field.to_python(position), None)
            if hasattr(value, "tzinfo") and value.tzinfo is not None:
                value.astimezone(UTC)  # the database compares in UTC
        except (DjangoValidationError, FieldDoesNotExist, ValueError, OverflowError):
            raise ValidationError({"cursor": INVALID_CURSOR}) from None
