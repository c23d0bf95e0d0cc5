"""Schemathesis hooks for test_schemathesis.py (loaded by the CLI through its config)."""

from __future__ import annotations

import math
from typing import Any

import schemathesis

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
