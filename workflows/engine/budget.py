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
    # All the evaluations of one interpreter step together (a Pass whose Output holds
    # thirty expressions, an inline Map's ItemSelector for each item).
    step_timeout_ms: int = 10_000


class StepClock:
    """The deadline all evaluations of one interpreter step share, started at the first."""

    def __init__(self) -> None:
        self.deadline: float | None = None

    def start(self, limits: Limits) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + limits.step_timeout_ms / 1000
        return self.deadline


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

    def __init__(self, limits: Limits | None = None, step: StepClock | None = None) -> None:
        self.limits = limits or _limits
        own = time.monotonic() + self.limits.timeout_ms / 1000
        shared = step.start(self.limits) if step is not None else own
        self.deadline = min(own, shared)
        self.step_bound = shared < own  # which budget the deadline is
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
            raise self.fail(self.late())

    def late(self) -> str:
        """Why running past the deadline stopped the evaluation."""
        if self.step_bound:
            return (
                "the expressions of its step ran longer than their time budget of "
                f"{self.limits.step_timeout_ms} ms (LEGATO_EXPRESSION_STEP_TIMEOUT_MS)"
            )
        return (
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


def json_size_exceeds(value: Any, limit: int, indent: int = 0) -> bool:
    """Whether ``value`` serialised as JSON surely takes more than ``limit`` bytes.

    Adds up a lower bound of the size without serialising, and stops as soon as it passes
    the limit, so a value that repeats one large part many times (a template naming the
    same path a thousand times, a JSONata loop that doubles an object by sharing it) is
    refused before anything of its size is built. Each container is measured once, however
    often it is shared. A false answer means the value is small enough to serialise
    safely and measure exactly. ``indent``: printed with that many spaces per level, a
    line per item (bounded from above there: pretty printing is refused a little early).
    """
    size, nodes, height = measure(value, limit)
    if indent:
        size += nodes * (1 + indent * height)
    return size > limit


# Up to this limit a plain walk is cheapest: it stops after at most this many items,
# however the value shares its parts. Past it, shared parts are measured once instead.
_TREE_WALK_LIMIT = 4 * 1024 * 1024


def measure(value: Any, limit: int) -> tuple[int, int, int]:
    """``(size, nodes, height)`` of ``value`` as JSON: a lower bound of its printed size
    and its count of items, each past ``limit`` as soon as it passes it, and how deep its
    containers nest (exact when the size is within the limit). Iterative: safe on a value
    of any depth, and on one that shares a part a billion times."""
    if limit <= _TREE_WALK_LIMIT:
        return _walk(value, limit)
    return _Measure(limit).of(value)


def _walk(value: Any, limit: int) -> tuple[int, int, int]:
    if not isinstance(value, dict | list | tuple):
        return _scalar_size(value), 1, 0
    size = nodes = height = 0
    stack = [(value, 1)]
    while stack and size <= limit:
        item, depth = stack.pop()
        nodes += len(item) + 1
        height = max(height, depth)
        if isinstance(item, dict):
            size += 1 + 4 * len(item) + sum(map(len, item))
            item = item.values()
        else:
            size += 1 + len(item)
        for child in item:
            if type(child) is str:
                size += len(child) + 2
            elif isinstance(child, dict | list | tuple):
                stack.append((child, depth + 1))
            else:
                size += 1
    return size, nodes, height


class _Measure:
    """Sizes of containers by identity (shared parts are measured once), saturating just
    past the limit so that sums stay small."""

    def __init__(self, limit: int) -> None:
        self.cap = limit + 1
        self.known: dict[int, tuple[int, int, int]] = {}

    def of(self, value: Any) -> tuple[int, int, int]:
        """``(size, nodes, height)`` of ``value``, each saturated at the limit."""
        if not isinstance(value, dict | list | tuple):
            return _scalar_size(value), 1, 0
        stack = [(value, False)]
        while stack:
            item, children_done = stack.pop()
            if id(item) in self.known:
                continue
            if children_done:
                self.known[id(item)] = self._combine(item)
                continue
            stack.append((item, True))
            children = item.values() if isinstance(item, dict) else item
            stack.extend(
                (child, False)
                for child in children
                if isinstance(child, dict | list | tuple) and id(child) not in self.known
            )
        return self.known[id(value)]

    def _combine(self, item: Any) -> tuple[int, int, int]:
        if isinstance(item, dict):
            size = 1 + 4 * len(item) + sum(len(key) for key in item)
            children = item.values()
        else:
            size, children = 1 + len(item), item
        nodes, height = 1, 0
        for child in children:
            if isinstance(child, dict | list | tuple):
                child_size, child_nodes, child_height = self.known[id(child)]
            else:
                child_size, child_nodes, child_height = _scalar_size(child), 1, 0
            size, nodes = size + child_size, nodes + child_nodes
            height = max(height, child_height + 1)
            if size >= self.cap:
                break
        return min(size, self.cap), min(nodes, self.cap), height


def _scalar_size(value: Any) -> int:
    return len(value) + 2 if isinstance(value, str) else 1


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

    def forked(self) -> None:
        """In a forked child: the parent's thread is gone, and its lock may have been held
        by that thread at the fork, so a new lock, no watches, a thread on first use."""
        self._lock = threading.Lock()
        self._watched = {}
        self._pid = 0

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
                    budget.fail(budget.late())
                    _raise_in(thread_id, BudgetExceeded)


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


_watchdog = _Watchdog()
os.register_at_fork(after_in_child=_watchdog.forked)


@contextmanager
def watched(budget: Budget) -> Iterator[Budget]:
    """Run a block under the watchdog. Catch ``BudgetExceeded`` around this block, not
    inside it: an interruption can land anywhere up to the moment the block is left."""
    token = _watchdog.watch(budget)
    try:
        yield budget
    finally:
        _watchdog.unwatch(token)
