"""Shared pieces of the REST API views: limits, query-parameter parsing, state scopes."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

MAX_HISTORY_PAGE = 1000
MAX_SEQ = 2**31 - 1  # the largest PositiveIntegerField everywhere
MAX_START_WAIT = 30.0  # seconds a start may wait for its execution to end (?wait=)


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


def _nested_scopes(state: dict[str, Any]) -> list[tuple[str, Any]]:
    """A state's nested machines: a Parallel's branches, a Map's processor (or Iterator)."""
    scopes: list[tuple[str, Any]] = []
    if isinstance(state.get("Branches"), list):
        scopes.extend(("Branches", branch) for branch in state["Branches"])
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(state.get(key), dict):
            scopes.append((key, state[key]))
    return scopes
