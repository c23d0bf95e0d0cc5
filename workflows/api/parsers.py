"""Request parsing that turns every malformed body into a 400, never a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import JSONParser

NUL = "\x00"


def has_nul(value: Any) -> bool:
    """Whether any string in a parsed JSON value (keys included) holds a NUL character.

    PostgreSQL stores no NUL in text or jsonb: such a value would fail as a 500 at save.
    Iterative: a parsed document may be nested as deep as the parser allows.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus: nesting too deep for Python's parser is a 400, and so is a
    string holding a NUL character (``\\u0000``), which the database cannot store."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply") from exc
        if has_nul(data):
            raise ParseError("JSON strings must not contain NUL characters (\\u0000).")
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
