"""What keeps JSONata inside its budget: the evaluator's hooks, guarded built-ins, RE2.

``jsonata-python`` calls an entry and an exit hook for every node it evaluates
(``Meter``): they count nesting, read the clock and charge the bytes of each value built.
Some built-ins can do far more work than their arguments suggest, inside code that never
calls a hook (and where the watchdog's interruption only lands once it returns): those run
behind a ``Guarded`` check that refuses them before they start. Every serialisation the
library does (``$string``, ``&`` on a non-string, the transform operator's copy) goes
through one function of the library's, which is wrapped here to measure first: a value
that shares one large part many times is cheap to build but not to print.
"""

from __future__ import annotations

import contextvars
import math
import re
from typing import Any

from jsonata import Jsonata
from jsonata.datetimeutils import DateTimeUtils
from jsonata.functions import Functions
from jsonata.regex_engine import RegexFlags
from jsonata.utils import Utils

from . import budget as budgets
from .errors import QUERY_EVALUATION_ERROR, StatesError

# The budget of the evaluation running in this thread (None outside one).
current: contextvars.ContextVar[budgets.Budget | None] = contextvars.ContextVar(
    "jsonata_budget", default=None
)
# Node types that build a new value; the others (paths to data, variables, literals,
# conditions) pass on values that exist already and were counted where they were built.
_BUILDERS = frozenset({"binary", "unary", "function", "partial", "apply", "transform", "path"})
_CALLS = frozenset({"function", "partial", "apply"})
# A date picture's width is used as a power of ten by the library (10 ** width): a width
# of 1e8 runs for minutes inside one multiplication. No real picture is wider than this.
MAX_PICTURE_WIDTH = 64
# Options $formatNumber puts into regular expressions unescaped; each is one character.
_ONE_CHARACTER_OPTIONS = (
    "decimal-separator",
    "grouping-separator",
    "exponent-separator",
    "minus-sign",
    "percent",
    "per-mille",
    "zero-digit",
    "digit",
    "pattern-separator",
)
# In a $toMillis picture's literal text these would be read as regular expression syntax
# (the library does not escape them), and could make its backtracking matcher hang.
_REGEX_SYNTAX = re.compile(r"[\\()*+?{}|^$\[\]]")


def re2_engine(pattern: str, flags: RegexFlags) -> Any:
    """JSONata's regular expressions on RE2: linear-time matching, never backtracking."""
    import re2

    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not flags.case_insensitive
    inline = "(?m)" if flags.multiline else ""
    try:
        return re2.compile(inline + pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"/{pattern}/ is not a regular expression Legato can run ({reason}); "
            "matching uses RE2 syntax: no backreferences or lookaround"
        ) from None


class Meter:
    """The evaluator's entry and exit hooks, charging one evaluation's budget.

    They run for every node the evaluator visits, so they are kept to a few attribute
    operations; the clock is read on every 32nd entry only.
    """

    def __init__(self, budget: budgets.Budget) -> None:
        self.budget = budget
        self.ticks = 0

    def entered(self, expr: Any, _input: Any, _environment: Any) -> None:
        budget = self.budget
        budget.enter(expr.type in _CALLS)
        self.ticks += 1
        if not self.ticks & 31:
            budget.check_time()

    def left(self, expr: Any, _input: Any, _environment: Any, result: Any) -> None:
        budget = self.budget
        kind = expr.type
        budget.leave(kind in _CALLS)
        if result is None or kind not in _BUILDERS:
            return
        if isinstance(result, Utils.RangeList):
            budget.charge(40 * len(result))  # lazy now, but each number costs when used
        elif kind != "path" or not isinstance(result, str):
            budget.charge(budgets.cost(result))


def check_printable(value: Any, indent: int = 0) -> None:
    """Refuse (as over the allocation budget) a value that would print larger than what
    is left of it; the walk stops at the limit, whatever the value would print to."""
    budget = current.get()
    if budget is None:
        return
    remaining = max(budget.limits.max_bytes - budget.spent, 0)
    if budgets.json_size_exceeds(value, remaining, indent):
        budget.charge(remaining + 1)


_library_string = Functions._string


def _measured_string(arg: Any, prettify: bool) -> str:
    check_printable(arg, 2 if prettify else 0)
    return _library_string(arg, prettify)


# The library's one serialisation point ($string, `&`, the transform operator's copy).
Functions._string = staticmethod(_measured_string)


class Guarded(Jsonata.JNativeFunction):
    """A built-in run only after ``guard(budget, *args)`` lets it: the guard charges or
    refuses the work before it is done, and may answer in the built-in's place."""

    PROCEED = object()

    def __init__(self, name: str, signature: str, method: str, guard: Any) -> None:
        super().__init__(name, signature, Functions, method)
        self.guard = guard

    def call(self, input: Any, args: Any) -> Any:
        padded = [*(args or []), None, None, None, None][: max(self.nargs, 4)]
        answer = self.guard(current.get(), *padded)
        return super().call(input, args) if answer is Guarded.PROCEED else answer


def _pad(budget: budgets.Budget, string: Any, width: Any, char: Any, *_: Any) -> Any:
    number = width if isinstance(width, int | float) and math.isfinite(width) else 0
    budget.charge(_length(string) + int(abs(number)) * max(_length(char), 1))
    return Guarded.PROCEED


def _join(budget: budgets.Budget, strings: Any, separator: Any, *_: Any) -> Any:
    items = strings if isinstance(strings, list) else [strings]
    size = sum(_length(s) for s in items) + _length(separator) * max(len(items) - 1, 0)
    budget.charge(size)
    return Guarded.PROCEED


def _replace(
    budget: budgets.Budget, string: Any, pattern: Any, replacement: Any, limit: Any
) -> Any:
    if isinstance(string, str) and isinstance(replacement, str):
        literal = isinstance(pattern, str) and pattern
        found = string.count(pattern) if literal else len(string) + 1
        if isinstance(limit, int | float) and limit >= 0:
            found = min(found, int(limit))
        budget.charge(len(string) + found * len(replacement))
    return Guarded.PROCEED


_WIDTH = re.compile(r",\s*(?:\*|(\d+))(?:\s*-\s*(?:\*|(\d+)))?")


def _from_millis(budget: budgets.Budget, _millis: Any, picture: Any, *_: Any) -> Any:
    """Picture widths (``[Y,8]``, ``[Y,*-8]``) are bounded: the library raises ten to them."""
    if isinstance(picture, str):
        for match in _WIDTH.finditer(picture):
            for width in (int(n) for n in match.groups() if n):
                if width > MAX_PICTURE_WIDTH:
                    raise StatesError(
                        QUERY_EVALUATION_ERROR,
                        f"$fromMillis: a picture width of {width} is more than "
                        f"{MAX_PICTURE_WIDTH}, the widest Legato draws",
                    )
        budget.charge(len(picture))
    return Guarded.PROCEED


def _to_millis(_budget: budgets.Budget, timestamp: Any, picture: Any, *_: Any) -> Any:
    """The library matches a picture with a backtracking regular expression it builds from
    the picture: its literal text must be plain, and RE2 must find a match first (a
    backtracking matcher is fast where a match exists; it is a failing match that can take
    forever). Without a match the answer is undefined, as the library's would be."""
    if not isinstance(picture, str) or not isinstance(timestamp, str):
        return Guarded.PROCEED
    import re2

    spec = DateTimeUtils._analyse_datetime_picture(picture)
    for part in spec.parts:
        if part.type == "literal" and _REGEX_SYNTAX.search(part.value):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"$toMillis: the picture's literal text {part.value!r} may not hold any of "
                "\\ ( ) * + ? { } | ^ $ [ ]",
            )
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    parts = DateTimeUtils._generate_regex(spec).parts
    pattern = "^" + "".join(f"({part.regex})" for part in parts) + "$"
    return Guarded.PROCEED if re2.compile(pattern, options).search(timestamp) else None


def _format_number(
    _budget: budgets.Budget, _value: Any, _picture: Any, options: Any, *_: Any
) -> Any:
    """The library puts these options into regular expressions without escaping them."""
    for name in _ONE_CHARACTER_OPTIONS:
        if isinstance(options, dict) and name in options:
            value = options[name]
            if not isinstance(value, str) or len(value) != 1:
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"$formatNumber: the option {name!r} must be one character",
                )
    return Guarded.PROCEED


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


BUILT_INS = {
    "pad": Guarded("pad", "<s-ns?:s>", "pad", _pad),
    "join": Guarded("join", "<a<s>s?:s>", "join", _join),
    "replace": Guarded("replace", "<s-(sf)(sf)n?:s>", "replace", _replace),
    "fromMillis": Guarded("fromMillis", "<n-s?s?:s>", "datetime_from_millis", _from_millis),
    "toMillis": Guarded("toMillis", "<s-s?:n>", "datetime_to_millis", _to_millis),
    "formatNumber": Guarded("formatNumber", "<n-so?:s>", "format_number", _format_number),
}
