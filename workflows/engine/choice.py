"""Choice rules: the comparison operators, And/Or/Not, with ASL's type rules.

A comparison whose operand has the wrong type is simply false (never an error), as in
Step Functions.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .errors import RUNTIME, StatesError
from .paths import compile_path, root_for

_STRING = (
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
)
_NUMERIC = (
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
)
_TIMESTAMP = (
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
)
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")

COMPARISONS: frozenset[str] = frozenset(
    [*_STRING, *_NUMERIC, *_TIMESTAMP, "BooleanEquals", "StringMatches", *_TYPE_TESTS]
    + [op + "Path" for op in (*_STRING, *_NUMERIC, *_TIMESTAMP, "BooleanEquals")]
)

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with an upper-case T and a zone, else ``None``."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(kind: str, a: Any, b: Any) -> bool:
    if kind == "Equals":
        return a == b
    if kind == "LessThan":
        return a < b
    if kind == "GreaterThan":
        return a > b
    if kind == "LessThanEquals":
        return a <= b
    return a >= b


def string_matches(value: str, pattern: str) -> bool:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are literals.

    Matched without a regular expression, in linear time: the pattern is literal pieces
    between stars, the first piece must start the value, the last must end it, and each
    piece between is found leftmost after the previous one (taking the leftmost match can
    never make a later piece fail that another choice would let through). A backtracking
    regex took tens of seconds on ``*a*a*a*a*a*a*b`` against a long run of ``a``.
    """
    pieces = _glob_pieces(pattern)
    if len(pieces) == 1:
        return value == pieces[0]
    first, *middle, last = pieces
    if len(value) < len(first) + len(last):
        return False
    if not (value.startswith(first) and value.endswith(last)):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _glob_pieces(pattern: str) -> list[str]:
    """The literal text between unescaped stars."""
    pieces, current, i = [], [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            current.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    pieces.append("".join(current))
    return pieces


def evaluate(rule: dict[str, Any], data: Any, context: Any = None, variables: Any = None) -> bool:
    """Whether a Choice rule (a comparison or a boolean combination) holds for ``data``."""
    if "And" in rule:
        return all(evaluate(r, data, context, variables) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate(r, data, context, variables) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, context, variables)
    variable = rule.get("Variable")
    present, value = _lookup(variable, data, context, variables)
    for op in rule:
        if op in COMPARISONS:
            if not present and op != "IsPresent":
                raise _invalid_path(variable)
            return _test(op, rule[op], present, value, data, (context, variables))
    return False


def _invalid_path(path: Any) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _lookup(text: Any, data: Any, context: Any, variables: Any) -> tuple[bool, Any]:
    if not isinstance(text, str):
        return False, None
    path = compile_path(text)
    try:
        return True, path.select(root_for(path, data, context, variables))
    except KeyError:
        return False, None


def _test(op: str, operand: Any, present: bool, value: Any, data: Any, env: Any) -> bool:
    if op == "IsPresent":
        return present == operand
    if not present:
        return False
    if op in _TYPE_TESTS:
        actual = {
            "IsNull": value is None,
            "IsNumeric": _is_number(value),
            "IsString": isinstance(value, str),
            "IsBoolean": isinstance(value, bool),
            "IsTimestamp": parse_timestamp(value) is not None,
        }[op]
        return actual == operand
    if op.endswith("Path"):
        path = operand
        found, operand = _lookup(path, data, *env)
        if not found:
            raise _invalid_path(path)
        op = op[:-4]
    if op == "StringMatches":
        return (
            isinstance(value, str) and isinstance(operand, str) and string_matches(value, operand)
        )
    if op == "BooleanEquals":
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    if op.startswith("String"):
        ok = isinstance(value, str) and isinstance(operand, str)
        return ok and _compare(op[len("String") :], value, operand)
    if op.startswith("Numeric"):
        ok = _is_number(value) and _is_number(operand)
        return ok and _compare(op[len("Numeric") :], value, operand)
    a, b = parse_timestamp(value), parse_timestamp(operand)
    return a is not None and b is not None and _compare(op[len("Timestamp") :], a, b)
