"""Task handlers for the fault-injection suite
(``Resource: python:tests.faults.handlers.record`` and ``….hold``).

Each handler is a deterministic function of its input, plus a side effect on an external
"world" (the scenario's PostgreSQL database, named by ``LEGATO_FAULT_SINK``):

* every invocation is appended to ``fault_invocations`` (at-least-once shows up here);
* the effect itself goes into ``fault_effects`` keyed by ``context.idempotency_key``
  with ``ON CONFLICT DO NOTHING`` (exactly-once effects show up here).

The result reports how many effects exist for this logical step (``charges``), as a
payment provider would report the charges on an order: 1 when the key did its job. The
pure reference run (``workflows.runner.run`` in the test process) has no sink, does not
sleep, and always sees ``charges == 1`` — what a correct exactly-once run returns.

Handlers sleep a random time between ``LEGATO_FAULT_STEP_MIN`` and ``_MAX`` seconds (the
suite uses 50–200 ms) with the effect applied half-way, so a kill can land before, during
or after the effect.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from workflows.resources import TaskContext

SINK_ENV = "LEGATO_FAULT_SINK"
_local = threading.local()

SCHEMA = """
CREATE TABLE IF NOT EXISTS fault_invocations (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    label TEXT NOT NULL,
    attempt INT NOT NULL,
    pid INT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS fault_effects (
    key TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    label TEXT NOT NULL,
    pid INT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS fault_effects_step ON fault_effects (execution_id, label);
"""


def _sink() -> Any:
    """A connection to the scenario's sink database (one per process and thread)."""
    dsn = os.environ.get(SINK_ENV)
    if not dsn:
        return None
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or getattr(_local, "pid", None) != os.getpid():
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True)
        _local.conn, _local.pid = conn, os.getpid()
    return conn


def _nap(share: float) -> None:
    low = float(os.environ.get("LEGATO_FAULT_STEP_MIN", "0.05"))
    high = float(os.environ.get("LEGATO_FAULT_STEP_MAX", "0.3"))
    time.sleep(random.uniform(low, high) * share)  # noqa: S311 - timing jitter only


def record(payload: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Apply one keyed effect for ``payload["label"]``; return ``x`` doubled and ``charges``."""
    label = str(payload["label"])
    charges = 1
    sink = _sink()
    if sink is not None:
        now = time.time()
        sink.execute(
            "INSERT INTO fault_invocations (key, execution_id, label, attempt, pid, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                context.idempotency_key,
                context.execution_id,
                label,
                context.attempt,
                os.getpid(),
                now,
            ),
        )
        _nap(0.5)
        sink.execute(
            "INSERT INTO fault_effects (key, execution_id, label, pid, at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (context.idempotency_key, context.execution_id, label, os.getpid(), time.time()),
        )
        charges = sink.execute(
            "SELECT count(*) FROM fault_effects WHERE execution_id = %s AND label = %s",
            (context.execution_id, label),
        ).fetchone()[0]
        _nap(0.5)
    return {"label": label, "x2": payload.get("x", 0) * 2, "charges": charges}


def hold(payload: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Sleep until the wall-clock time ``payload["until"]`` (bounded by 30 s), then return.

    Lets a test line up a task's completion with an operator action on the same execution.
    """
    until = float(payload.get("until", 0))
    time.sleep(max(0.0, min(until - time.time(), 30.0)))
    return {"held": payload.get("tag")}
