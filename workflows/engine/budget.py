"""Budgets for evaluating user expressions: time, recursion depth and allocation.

A definition's expressions run on the server, inside a transition, so a hostile or careless
one must not hang a worker, exhaust its memory or blow its stack. Every evaluation gets a
``Budget``: a deadline, a limit on nested function calls (and on the evaluator's own
nesting, which is what protects the Python stack), and a running estimate of the bytes of
the values it builds. Evaluators charge the budget as they go; the first budget exceeded
raises ``BudgetExceeded`` naming it, which the evaluator turns into
``States.QueryEvaluationError``.

Checks made by the evaluator itself cannot interrupt a long loop inside a library function
that never calls back into it, so a watchdog thread is the backstop: an evaluation still
running past its deadline (plus a grace) gets ``BudgetExceeded`` raised in its thread.

The limits are process-wide settings (``configure``), not arguments: they protect the
process, they never change what a successful evaluation returns.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

#: The evaluator's own nesting (each level is a few Python frames); far above what the
#: call-depth limit lets a real expression reach, far below Python's recursion limit.
MAX_NESTING = 1000
#: How long past its deadline an evaluation may run before the watchdog interrupts it.
WATCHDOG_GRACE = 0.25
_WATCHDOG_PERIOD = 0.05


@dataclass(frozen=True)
class Limits:
    """Per-evaluation limits (``LEGATO_EXPRESSION_*`` settings)."""

    timeout_ms: int = 1000
    max_depth: int = 200
    max_bytes: int = 64 * 1024 * 1024


_limits = Limits()


def configure(**changes: Any) -> Limits:
    """Replace some limits for the whole process; returns the new limits."""
    global _limits
    _limits = replace(_limits, **changes)
    return _limits


def limits() -> Limits:
    return _limits


class BudgetExceeded(BaseException):
    """An evaluation ran out of one of its budgets.

    A ``BaseException``, so that library code that turns any ``Exception`` into its own
    error (or swallows it) cannot hide it.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class Budget:
    """What one evaluation may still spend."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or _limits
        self.deadline = time.monotonic() + self.limits.timeout_ms / 1000
        self.depth = 0
        self.nesting = 0
        self.spent = 0
        self.exceeded: str | None = None

    def fail(self, message: str) -> BudgetExceeded:
        self.exceeded = self.exceeded or message
        return BudgetExceeded(self.exceeded)

    def check_time(self) -> None:
        if self.exceeded:
            raise BudgetExceeded(self.exceeded)
        if time.monotonic() > self.deadline:
            raise self.fail(
                f"it ran longer than its time budget of {self.limits.timeout_ms} ms "
                "(LEGATO_EXPRESSION_TIMEOUT_MS)"
            )

    def enter(self, call: bool) -> None:
        """One level deeper (``call``: into a function call); the caller checks the time."""
        self.nesting += 1
        if call:
            self.depth += 1
            if self.depth > self.limits.max_depth:
                raise self.fail(
                    f"it nested more than {self.limits.max_depth} function calls, its "
                    "recursion depth budget (LEGATO_EXPRESSION_MAX_DEPTH)"
                )
        if self.nesting > MAX_NESTING:
            raise self.fail(f"it nested deeper than {MAX_NESTING} levels")

    def leave(self, call: bool) -> None:
        self.nesting -= 1
        if call:
            self.depth -= 1

    def charge(self, size: int) -> None:
        """Count ``size`` bytes (an estimate) against the allocation budget."""
        self.spent += size
        if self.spent > self.limits.max_bytes:
            raise self.fail(
                f"it built more than {self.limits.max_bytes} bytes of values, its "
                "allocation budget (LEGATO_EXPRESSION_MAX_BYTES)"
            )


def cost(value: Any) -> int:
    """A rough size in bytes of a value just built (its own storage, not its items')."""
    if isinstance(value, str):
        return 49 + len(value)
    if isinstance(value, list | tuple):
        return 56 + 8 * len(value)
    if isinstance(value, dict):
        return 64 + 100 * len(value)
    return 0


def json_size_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` serialised as JSON surely takes more than ``limit`` bytes.

    Adds up a lower bound of the size without serialising, and stops as soon as it passes
    the limit, so a value that repeats one large string many times (a template naming the
    same path a thousand times) is refused before anything of its size is built. A false
    answer means the value is small enough to serialise safely and measure exactly.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 1 + 4 * len(item) + sum(len(key) for key in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 1 + len(item)
            stack.extend(item)
        else:
            total += 1
        if total > limit:
            return True
    return False


class _Watchdog:
    """Interrupts evaluations that run far past their deadline (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, int, Budget]] = {}
        self._next = 0
        self._pid = 0

    def watch(self, budget: Budget) -> int:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: no thread yet
                self._pid = os.getpid()
                self._watched.clear()
                threading.Thread(target=self._run, name="legato-budget", daemon=True).start()
            self._next += 1
            deadline = budget.deadline + WATCHDOG_GRACE
            self._watched[self._next] = (deadline, threading.get_ident(), budget)
            return self._next

    def unwatch(self, token: int) -> None:
        with self._lock:
            if self._watched.pop(token, None) is None:
                # Interrupted already: drop the exception if it is still pending.
                _raise_in(threading.get_ident(), None)

    def _run(self) -> None:
        while True:
            time.sleep(_WATCHDOG_PERIOD)
            now = time.monotonic()
            with self._lock:
                late = [t for t, (deadline, _, _) in self._watched.items() if deadline < now]
                for token in late:
                    _, thread_id, budget = self._watched.pop(token)
                    budget.fail(
                        f"it ran longer than its time budget of {budget.limits.timeout_ms} ms "
                        "(LEGATO_EXPRESSION_TIMEOUT_MS)"
                    )
                    _raise_in(thread_id, BudgetExceeded)


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


_watchdog = _Watchdog()


@contextmanager
def watched(budget: Budget) -> Iterator[Budget]:
    """Run a block under the watchdog. Catch ``BudgetExceeded`` around this block, not
    inside it: an interruption can land anywhere up to the moment the block is left."""
    token = _watchdog.watch(budget)
    try:
        yield budget
    finally:
        _watchdog.unwatch(token)
