"""Request parsing that turns every malformed body into a 400, never a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import JSONParser

from ..engine import payloads

NUL = "\x00"


class MalformedJSON(ParseError):
    """A body that parsed but cannot be stored, with the JSON pointer of the problem."""

    def __init__(self, message: str, pointer: str) -> None:
        super().__init__(f"JSON parse error - {message} at {pointer or '/'}")
        self.pointer = pointer


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus: a body that cannot be stored is a 400 saying where.

    That is nesting deeper than ``LEGATO["MAX_JSON_DEPTH"]`` below the body's top level,
    a NUL character (the database cannot store it) or a lone UTF-16 surrogate (no UTF-8
    text can hold it) in any string or key. DRF already refuses NaN and the infinities.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply") from exc
        found = payloads.problem(data, settings.LEGATO["MAX_JSON_DEPTH"], envelope=True)
        if found is not None:
            raise MalformedJSON(found.message, found.pointer)
        return data


class NulFreeMixin:
    """For API views: a NUL character in a path or query parameter is refused (after the
    authentication and permission checks): a 404 in the path (no name or token can hold
    one), a 400 in the query."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if any(isinstance(v, str) and NUL in v for v in kwargs.values()):
            raise NotFound()
        for key, values in request.query_params.lists():
            if NUL in key or any(NUL in value for value in values):
                raise ValidationError({key.replace(NUL, ""): "must not contain NUL characters"})
