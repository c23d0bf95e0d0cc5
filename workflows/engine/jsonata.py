"""JSONata expressions (``QueryLanguage: JSONata``) with Step Functions' extra functions.

Expressions are strings of the exact form ``{% <expr> %}``, anywhere in a field's value.
They run on ``jsonata-python`` (a pure-Python JSONata), with the clock, randomness and
UUIDs supplied by the interpreter so that a replay computes the same values, and with
``$eval`` removed as in Step Functions. Every evaluation runs under a ``budget.Budget``
(time, nested calls, bytes built) and regular expressions run on RE2, which matches in
linear time, so no expression can hang or exhaust the process.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonata import Jsonata
from jsonata.utils import Utils

from . import budget as budgets
from . import guards, payloads
from .errors import DATA_LIMIT_EXCEEDED, StatesError

QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
_OPEN, _CLOSE = "{%", "%}"
_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class JsonataSyntaxError(ValueError):
    """The text inside ``{% %}`` is not a JSONata expression."""


def is_expression(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
        and len(value) >= 4
    )


def body(value: str) -> str:
    return value[2:-2].strip()


@lru_cache(maxsize=2048)
def compile_expression(text: str) -> Any:
    """Parse (and cache) one JSONata expression; raises JsonataSyntaxError."""
    from jsonata.jexception import JException

    try:
        expression = Jsonata(text, regex_engine=guards.re2_engine)
    except (JException, RecursionError, ValueError, TypeError, IndexError) as exc:
        raise JsonataSyntaxError(str(exc)) from exc
    # Keep JSON null apart from "nothing" (undefined) in results; _plain converts it.
    expression.set_output_convert_nulls(False)
    return expression


class Evaluator:
    """Evaluates ``{% %}`` expressions against ``$states`` and the workflow variables."""

    def __init__(self, now: datetime, rng: random.Random, max_bytes: int = 256 * 1024) -> None:
        self.now = now
        self.rng = rng
        self.max_bytes = max_bytes  # the largest result: the payload limit
        # One evaluator serves one interpreter step: its evaluations share a deadline.
        self.step = budgets.StepClock()

    def evaluate(self, text: str, states: dict[str, Any], variables: Any) -> Any:
        try:
            expression = compile_expression(body(text))
        except JsonataSyntaxError as exc:
            raise StatesError(QUERY_EVALUATION_ERROR, f"{text}: {exc}") from exc
        frame = expression.create_frame()
        for name, value in (variables or {}).items():
            frame.bind(name, _bindable(value))
        frame.bind("states", states)
        for name, function in self._functions().items():
            frame.bind(name, Jsonata.JLambda(function))
        for name, function in guards.BUILT_INS.items():
            frame.bind(name, function)
        meter = guards.Meter(budgets.Budget(step=self.step))
        frame.set_evaluate_entry_callback(meter.entered)
        frame.set_evaluate_exit_callback(meter.left)
        return self._run(expression, frame, meter.budget, text, self.max_bytes)

    @staticmethod
    def _run(expression: Any, frame: Any, budget: budgets.Budget, text: str, max_bytes: int) -> Any:
        token = guards.current.set(budget)
        try:
            with budgets.watched(budget):
                result = expression.evaluate(None, frame)
                return _result(expression, result, text, max_bytes)
        except budgets.BudgetExceeded:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{body(text)}' was stopped: {budget.exceeded}",
            ) from None
        except StatesError:
            raise
        except Exception as exc:  # noqa: BLE001 - any library failure is the expression's
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"An error occurred while evaluating {text}: {exc or type(exc).__name__}",
            ) from exc
        finally:
            guards.current.reset(token)

    def template(self, value: Any, states: dict[str, Any], variables: Any) -> Any:
        """Evaluate every expression inside a value (objects and arrays at any depth)."""
        if is_expression(value):
            return self.evaluate(value, states, variables)
        if isinstance(value, dict):
            return {k: self.template(v, states, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, states, variables) for v in value]
        return value

    def _functions(self) -> dict[str, Any]:
        now = self.now

        def no_eval(*_: Any) -> Any:
            raise StatesError(QUERY_EVALUATION_ERROR, "The $eval function is not available")

        return {
            "eval": no_eval,
            "now": lambda *_: (
                now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
            ),
            "millis": lambda *_: int(now.timestamp() * 1000),
            "partition": _partition,
            "range": _range,
            "hash": _hash,
            "random": self._random,
            "uuid": lambda *_: str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "parse": _parse,
        }

    def _random(self, seed: Any = None) -> float:
        rng = random.Random(seed) if seed is not None else self.rng  # noqa: S311 - not crypto
        return rng.random()


def _result(expression: Any, result: Any, text: str, max_bytes: int) -> Any:
    """The evaluation's result as JSON, measured before it is copied: a result can share
    one part many times (cheap to build) or nest thousands deep (built in a loop)."""
    if result is None and not _yields_null(expression):
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{body(text)}' returned nothing (undefined)",
        )
    size, _, height = budgets.measure(result, max_bytes)
    if size > max_bytes:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The JSONata expression '{body(text)}' returned a result larger than the payload "
            f"limit ({max_bytes} bytes)",
        )
    if height > payloads.MAX_DEPTH_CEILING:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The result is nested more than {payloads.MAX_DEPTH_CEILING} levels deep",
        )
    return _plain(result)


def _yields_null(expression: Any) -> bool:
    """An expression that is literally ``null`` returns JSON null; others must return data."""
    ast = getattr(expression, "ast", None)
    return getattr(ast, "type", None) == "value" and getattr(ast, "value", 0) is None


def _bindable(value: Any) -> Any:
    """A variable holding JSON null is null to JSONata, not undefined (Python None)."""
    return Utils.NULL_VALUE if value is None else value


def _plain(value: Any) -> Any:
    """A result as JSON: null for JSONata's null, and 3 rather than 3.0 (jsonata-python
    returns floats for whole numbers sometimes)."""
    return _json(value, Utils.NULL_VALUE)


def _json(value: Any, null: Any) -> Any:
    if value is null:
        return None
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return int(value)
    if isinstance(value, dict):
        return {k: _json(v, null) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, null) for v in value]
    return value


def _need_int(value: Any, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise StatesError(QUERY_EVALUATION_ERROR, f"{name}: expected an integer, got {value!r}")
    return int(value)


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list):
        raise StatesError(QUERY_EVALUATION_ERROR, "$partition: expected an array")
    size = _need_int(size, "$partition")
    if size <= 0:
        raise StatesError(QUERY_EVALUATION_ERROR, "$partition: size must be positive")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _range(start: Any, end: Any, step: Any) -> list[int]:
    """Step Functions' ``$range``: a JSONata *sequence*, so one item is the item itself
    (``$range(1, 9, 9)`` is ``1``) and none is nothing, while ``$partition`` returns a
    plain array that stays one (``[[0]]``)."""

    start, end, step = (_need_int(v, "$range") for v in (start, end, step))
    if step == 0:
        raise StatesError(QUERY_EVALUATION_ERROR, "$range: step must not be 0")
    numbers = range(start, end + (1 if step > 0 else -1), step)
    if len(numbers) > 1000:  # measured before anything is built: $range(0, 1e9, 1)
        raise StatesError(QUERY_EVALUATION_ERROR, "$range: more than 1000 items")
    return Utils.create_sequence_from_iter(numbers)


def _hash(data: Any, algorithm: Any) -> str:
    if algorithm not in _HASHES:
        raise StatesError(QUERY_EVALUATION_ERROR, f"$hash: unsupported algorithm {algorithm}")
    if not isinstance(data, str):
        guards.check_printable(data)
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise StatesError(QUERY_EVALUATION_ERROR, "$parse: expected a string")
    try:
        return payloads.loads(text)
    except json.JSONDecodeError as exc:
        raise StatesError(QUERY_EVALUATION_ERROR, f"$parse: {exc.msg}") from exc
    except payloads.Unstorable as exc:
        raise StatesError(QUERY_EVALUATION_ERROR, f"$parse: {exc}") from exc
