"""The 18 ASL intrinsic functions (``States.Format``, ``States.Array``, …).

Calls are parsed by a closed grammar (string, number, boolean, null, path, nested
call); nothing is ever evaluated as code. Randomness and UUIDs come from a seeded
generator supplied by the interpreter so that replays are deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import payloads
from .budget import Budget, BudgetExceeded, StepClock, json_size_exceeds, limits, watched
from .errors import INTRINSIC_FAILURE, StatesError
from .paths import PathSyntaxError, compile_path, root_for

_MAX_ARRAY_RANGE = 1000
MAX_INPUT_CHARS = 10_000
_READS_EVERY_PART = frozenset(
    {
        "States.Format",
        "States.JsonToString",
        "States.Hash",
        "States.ArrayUnique",
        "States.ArrayContains",
    }
)
# `States.Array(States.Array(…` a thousand deep is a short string but a deep recursion in
# parsing, checking and evaluating; no real call nests a tenth as deep.
MAX_CALL_NESTING = 32


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class PathArg:
    text: str


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_FUNC = re.compile(r"States\.[A-Za-z0-9]+")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.nesting = 0

    def error(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{message} at offset {self.i} in {self.text!r}")

    def skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t\n":
            self.i += 1

    def call(self) -> Call:
        self.skip()
        m = _FUNC.match(self.text, self.i)
        if not m:
            raise self.error("expected a States.* function name")
        self.i = m.end()
        self.skip()
        if self.i >= len(self.text) or self.text[self.i] != "(":
            raise self.error("expected '('")
        self.i += 1
        args: list[Any] = []
        self.skip()
        if self.i < len(self.text) and self.text[self.i] == ")":
            self.i += 1
            return Call(m.group(0), ())
        while True:
            args.append(self.arg())
            self.skip()
            if self.i >= len(self.text):
                raise self.error("unbalanced parentheses")
            ch = self.text[self.i]
            self.i += 1
            if ch == ")":
                return Call(m.group(0), tuple(args))
            if ch != ",":
                raise self.error(f"unexpected {ch!r}")

    def arg(self) -> Any:
        self.skip()
        text, i = self.text, self.i
        if i >= len(text):
            raise self.error("missing argument")
        ch = text[i]
        if ch == "'":
            return self.string()
        if ch == "$":
            return self.path()
        if text.startswith("States.", i):
            return self.nested_call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i):
                self.i += len(word)
                return value
        m = _NUMBER.match(text, i)
        if m:
            self.i = m.end()
            return float(m.group(0)) if m.group(1) or m.group(2) else int(m.group(0))
        raise self.error(f"unexpected {ch!r}")

    def nested_call(self) -> Call:
        self.nesting += 1
        if self.nesting >= MAX_CALL_NESTING:
            raise self.error(f"calls nested more than {MAX_CALL_NESTING} deep")
        call = self.call()
        self.nesting -= 1
        return call

    def string(self) -> str:
        out: list[str] = []
        self.i += 1
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch == "\\" and self.i + 1 < len(self.text):
                out.append(self.text[self.i + 1])
                self.i += 2
                continue
            if ch == "'":
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1
        raise self.error("unterminated string literal")

    def path(self) -> PathArg:
        depth, start = 0, self.i
        quote = None
        while self.i < len(self.text):
            ch = self.text[self.i]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"" and depth:
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            self.i += 1
        text = self.text[start : self.i].strip()
        try:
            compile_path(text)
        except PathSyntaxError as exc:
            raise self.error(f"invalid path {text!r}: {exc}") from exc
        return PathArg(text)


ARITY: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}


@lru_cache(maxsize=2048)
def parse(text: str) -> Call:
    """Parse one call, checking function names and arity; raises IntrinsicSyntaxError."""
    parser = _Parser(text)
    call = parser.call()
    parser.skip()
    if parser.i != len(text):
        raise parser.error("trailing characters")
    _check(call)
    return call


def _check(call: Call) -> None:
    if call.name not in ARITY:
        raise IntrinsicSyntaxError(f"unknown intrinsic function {call.name}")
    low, high = ARITY[call.name]
    if len(call.args) < low or (high is not None and len(call.args) > high):
        expected = f"{low}" if low == high else f"{low}..{high if high is not None else 'n'}"
        raise IntrinsicSyntaxError(
            f"{call.name} takes {expected} argument(s), got {len(call.args)}"
        )
    for arg in call.args:
        if isinstance(arg, Call):
            _check(arg)


class Evaluator:
    """Evaluates parsed calls against the state input and the context object."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.step = StepClock()  # one evaluator serves one interpreter step

    def __call__(self, text: str, data: Any, context: Any, variables: Any = None) -> Any:
        try:
            call = parse(text)
        except IntrinsicSyntaxError as exc:
            raise StatesError(INTRINSIC_FAILURE, str(exc)) from exc
        budget = Budget(step=self.step)
        try:
            with watched(budget):
                return self.evaluate(call, data, context, variables)
        except BudgetExceeded:
            message = f"{call.name} was stopped: {budget.exceeded}"
            raise StatesError(INTRINSIC_FAILURE, message) from None

    def evaluate(self, call: Call, data: Any, context: Any, variables: Any = None) -> Any:
        args = [self._value(a, data, context, variables) for a in call.args]
        fn = getattr(self, "_" + call.name.split(".", 1)[1])
        if call.name in _READS_EVERY_PART and json_size_exceeds(args, limits().max_bytes):
            # States.Array can repeat one large value many times at no cost; printing or
            # comparing every copy is what would cost, so it is refused before it starts.
            raise StatesError(
                INTRINSIC_FAILURE,
                f"{call.name}: the arguments are larger than the allocation budget of "
                f"{limits().max_bytes} bytes (LEGATO_EXPRESSION_MAX_BYTES)",
            )
        try:
            return fn(*args)
        except StatesError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            raise StatesError(INTRINSIC_FAILURE, f"{call.name}: {exc}") from exc

    def _value(self, arg: Any, data: Any, context: Any, variables: Any) -> Any:
        if isinstance(arg, Call):
            return self.evaluate(arg, data, context, variables)
        if isinstance(arg, PathArg):
            path = compile_path(arg.text)
            try:
                return path.select(root_for(path, data, context, variables))
            except KeyError:
                raise StatesError(INTRINSIC_FAILURE, f"path {arg.text} matched nothing") from None
        return arg

    # --- the functions -------------------------------------------------------------

    @staticmethod
    def _Format(template: str, *values: Any) -> str:
        if not isinstance(template, str):
            raise StatesError(INTRINSIC_FAILURE, "States.Format: the template must be a string")
        parts = re.split(r"(?<!\\)\{\}", template)
        if len(parts) - 1 != len(values):
            raise StatesError(
                INTRINSIC_FAILURE,
                f"States.Format: {len(parts) - 1} placeholder(s) but {len(values)} value(s)",
            )
        out = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            out.append(_java_text(value))
            out.append(part)
        return "".join(out).replace("\\{", "{").replace("\\}", "}")

    @staticmethod
    def _StringToJson(text: str) -> Any:
        if not isinstance(text, str):
            raise StatesError(INTRINSIC_FAILURE, "States.StringToJson: expected a string")
        if not text.strip():
            return None  # as AWS does for an empty or blank string
        return payloads.loads(text)

    @staticmethod
    def _JsonToString(value: Any) -> str:
        return _json(value)

    @staticmethod
    def _Array(*values: Any) -> list[Any]:
        return list(values)

    @staticmethod
    def _ArrayPartition(array: list[Any], size: int) -> list[list[Any]]:
        _need_list(array, "States.ArrayPartition")
        size = _need_int(size, "States.ArrayPartition")
        if size <= 0:
            raise StatesError(INTRINSIC_FAILURE, "States.ArrayPartition: chunk size must be > 0")
        return [array[i : i + size] for i in range(0, len(array), size)]

    @staticmethod
    def _ArrayContains(array: list[Any], value: Any) -> bool:
        _need_list(array, "States.ArrayContains")
        return any(_same(item, value) for item in array)

    @staticmethod
    def _ArrayRange(start: Any, end: Any, step: Any) -> list[int]:
        start, end, step = (_need_int(v, "States.ArrayRange") for v in (start, end, step))
        if step == 0:
            raise StatesError(INTRINSIC_FAILURE, "States.ArrayRange: step must not be 0")
        stop = end + (1 if step > 0 else -1)
        result = list(range(start, stop, step)) if abs(stop - start) // abs(step) <= 1001 else None
        if result is None or len(result) > _MAX_ARRAY_RANGE:
            raise StatesError(INTRINSIC_FAILURE, "States.ArrayRange: more than 1000 items")
        return result

    @staticmethod
    def _ArrayGetItem(array: list[Any], index: Any) -> Any:
        _need_list(array, "States.ArrayGetItem")
        index = _need_int(index, "States.ArrayGetItem")
        if not 0 <= index < len(array):
            raise StatesError(INTRINSIC_FAILURE, f"States.ArrayGetItem: index {index} out of range")
        return array[index]

    @staticmethod
    def _ArrayLength(array: list[Any]) -> int:
        _need_list(array, "States.ArrayLength")
        return len(array)

    @staticmethod
    def _ArrayUnique(array: list[Any]) -> list[Any]:
        _need_list(array, "States.ArrayUnique")
        # One pass with a set of canonical forms: comparing each item with every kept
        # one took minutes on an input of 50,000 distinct numbers.
        seen: set[str] = set()
        out: list[Any] = []
        for item in array:
            key = json.dumps(_canonical(item), sort_keys=True, separators=(",", ":"))
            if key not in seen:
                seen.add(key)
                out.append(item)
        return out

    @staticmethod
    def _Base64Encode(text: str) -> str:
        if not isinstance(text, str):
            raise StatesError(INTRINSIC_FAILURE, "States.Base64Encode: argument must be a string")
        _limit(text, "States.Base64Encode")
        return base64.b64encode(text.encode()).decode()

    @staticmethod
    def _Base64Decode(text: str) -> str:
        if not isinstance(text, str):
            raise StatesError(INTRINSIC_FAILURE, "States.Base64Decode: argument must be a string")
        return base64.b64decode(text.encode(), validate=True).decode()

    @staticmethod
    def _Hash(value: Any, algorithm: str) -> str:
        names = {
            "MD5": "md5",
            "SHA-1": "sha1",
            "SHA-256": "sha256",
            "SHA-384": "sha384",
            "SHA-512": "sha512",
        }
        if algorithm not in names:
            raise StatesError(INTRINSIC_FAILURE, f"States.Hash: unsupported algorithm {algorithm}")
        text = value if isinstance(value, str) else _json(value)
        _limit(text, "States.Hash")
        return hashlib.new(names[algorithm], text.encode()).hexdigest()

    @staticmethod
    def _JsonMerge(left: Any, right: Any, deep: Any) -> dict[str, Any]:
        if deep is not False:
            raise StatesError(INTRINSIC_FAILURE, "States.JsonMerge: only shallow merge (false)")
        if not isinstance(left, dict) or not isinstance(right, dict):
            raise StatesError(INTRINSIC_FAILURE, "States.JsonMerge: both values must be objects")
        return {**left, **right}

    def _MathRandom(self, start: Any, end: Any, seed: Any = None) -> int:
        start, end = _need_int(start, "States.MathRandom"), _need_int(end, "States.MathRandom")
        rng = random.Random(seed) if seed is not None else self.rng  # noqa: S311 - not crypto
        return rng.randrange(start, end) if end > start else start

    @staticmethod
    def _MathAdd(a: Any, b: Any) -> int:
        return _java_round(a, "States.MathAdd") + _java_round(b, "States.MathAdd")

    @staticmethod
    def _StringSplit(text: str, delimiters: str) -> list[str]:
        if not isinstance(text, str) or not isinstance(delimiters, str):
            raise StatesError(INTRINSIC_FAILURE, "States.StringSplit: arguments must be strings")
        if not delimiters:
            return [text]
        parts = re.split("[" + re.escape(delimiters) + "]", text)
        return [p for p in parts if p]

    def _UUID(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _java_text(value: Any) -> str:
    """How Step Functions prints a value into States.Format: Java's ``toString``.

    Objects come out as ``{key=value, …}`` and arrays as ``[a, b]``, strings unquoted.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    return _json(value)


def _java_round(value: Any, name: str) -> int:
    """Java's ``Math.round``: halves go up (towards +infinity), as AWS rounds arguments."""
    if isinstance(value, float) and math.isfinite(value):
        return math.floor(value + 0.5)
    return _need_int(value, name)


def _limit(text: str, name: str) -> None:
    if len(text) > MAX_INPUT_CHARS:
        raise StatesError(
            INTRINSIC_FAILURE, f"{name}: the input is longer than {MAX_INPUT_CHARS} characters"
        )


def _canonical(value: Any) -> Any:
    """A form in which JSON-equal values are equal: 1 and 1.0 alike, true apart from 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (_is_num(a) and _is_num(b) and a == b)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _need_list(value: Any, name: str) -> None:
    if not isinstance(value, list):
        raise StatesError(INTRINSIC_FAILURE, f"{name}: expected an array")


def _need_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatesError(INTRINSIC_FAILURE, f"{name}: expected a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StatesError(INTRINSIC_FAILURE, f"{name}: expected a finite number")
        value = int(value)
    return value
