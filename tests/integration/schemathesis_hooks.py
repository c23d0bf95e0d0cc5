"""Schemathesis hooks for test_schemathesis.py (loaded by the CLI through its config)."""

from __future__ import annotations

import base64
import math
from typing import Any
from urllib.parse import urlencode

import schemathesis
from hypothesis import strategies as st

MAX_TEST_WAIT = 1.0


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Keep activity long polls and start-and-wait short: the API waits up to 60 s (20 s
    without ``wait``) for an activity task, up to 30 s for a started execution to end.

    Only schema-valid waits are shortened (absent, or a finite number above a second);
    anything else goes out as generated, so the API's rejection of it is still checked.
    """
    path = case.operation.path
    starting = case.operation.method.upper() == "POST" and path.endswith("/executions/")
    if not (path.endswith("/poll") or starting):
        return
    query = dict(case.query or {})
    raw = query.get("wait")
    if raw is None:
        if starting:
            return  # no wait: the start answers at once
        query["wait"] = "0.2"
    else:
        try:
            wait = float(raw)
        except (TypeError, ValueError):
            return
        if not (math.isfinite(wait) and wait > MAX_TEST_WAIT):
            return
        query["wait"] = str(MAX_TEST_WAIT)
    case.query = query


# --- the input classes that once gave 500s, generated on purpose -----------------------
# A schema cannot say "and sometimes a lone surrogate", so these hooks mix them into what
# schemathesis generates: every JSON body may get a lone UTF-16 surrogate (in a value or a
# key) or a value nested across LEGATO_MAX_JSON_DEPTH; every list's `cursor` may be a
# well-formed base64 cursor with a position of the wrong kind. The API must answer each
# with a documented 4xx (400), never a 5xx; `test_schemathesis.py` checks that. (NaN
# cannot be sent: the HTTP client refuses to encode it. tests/unit/test_fuzz.py has it.)

LONE_SURROGATES = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2
)
# From just below to well above the default limit of 100; json.dumps in this process
# recurses, so no deeper than it safely can.
NESTING = st.integers(95, 300)


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def _hostile_values(original: Any) -> st.SearchStrategy:
    return st.one_of(
        LONE_SURROGATES,
        LONE_SURROGATES.map(lambda text: {text: original}),
        NESTING.map(lambda depth: _nested(original, depth)),
    )


def _with_member(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**body, key: value}


@schemathesis.hook
def flatmap_body(ctx: Any, body: Any) -> st.SearchStrategy:
    """A JSON object body as generated, or with one member made hostile."""
    if not isinstance(body, dict):
        return st.just(body)
    key = st.sampled_from(sorted(body)) if body else st.just("input")
    hostile = key.flatmap(
        lambda k: _hostile_values(body.get(k)).map(lambda value: _with_member(body, k, value))
    )
    return st.one_of(st.just(body), hostile)


POSITIONS = st.one_of(
    st.text(max_size=20),  # names fit the flows list; elsewhere the wrong kind
    st.integers(-(10**30), 10**30).map(str),  # beyond any integer column
    st.sampled_from(["\x00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
CURSORS = st.fixed_dictionaries(
    {},
    optional={
        "p": POSITIONS,
        "o": st.one_of(st.integers(-5, 2000).map(str), st.text(max_size=5)),
        "r": st.sampled_from(["0", "1", "x"]),
    },
).map(lambda tokens: base64.b64encode(urlencode(tokens).encode()).decode())


@schemathesis.hook
def flatmap_query(ctx: Any, query: Any) -> st.SearchStrategy:
    """A list's query as generated, or with a decodable cursor whose contents are wrong."""
    operation = ctx.operation
    if operation is None or "cursor" not in operation.query:
        return st.just(query)
    if query is not None and not isinstance(query, dict):
        return st.just(query)  # a negative case's own malformed query
    with_cursor = CURSORS.map(lambda cursor: {**(query or {}), "cursor": cursor})
    return st.one_of(st.just(query), with_cursor)
