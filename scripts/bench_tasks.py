"""Plain Celery no-op tasks: the floor ``scripts/bench_runtime.py`` measures Legato against.

The bench's Celery worker imports this module (``celery -A workflows worker -I
scripts.bench_tasks``), so the baseline runs on the very same worker processes, broker
and Celery settings (acks_late, prefetch 1, JSON) as Legato's steps. No result backend:
a chain hands its result to the next task inside the worker, and the driver learns that
a chain finished from a Redis list the last task appends to.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import shared_task

_redis: Any = None


def _client() -> Any:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _redis


@shared_task(name="bench.noop", ignore_result=True)
def noop(payload: Any = None, trace: str = "", done: str = "") -> Any:
    """Return the payload (like ``builtin:echo``); optionally record when it ran."""
    if trace:
        _client().rpush(trace, repr(time.time()))
    if done:
        _client().rpush(done, repr(time.time()))
    return payload
