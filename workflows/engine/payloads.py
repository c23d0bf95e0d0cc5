"""What a JSON value must be to be stored, sent and printed, and where it is not.

Python's JSON reader accepts more than a database, a UTF-8 encoder or a JSON writer
does: lone UTF-16 surrogates (``"\\ud800"`` decodes to a character no UTF-8 text can
hold), NUL characters (PostgreSQL stores none), NaN and the infinities (not JSON), and
nesting as deep as the recursion limit allows (every later recursive step — encoding,
validating, copying, SQLite's JSON functions — may then fail). A value that reaches
storage with any of these fails there, far from its cause, as a server error.

So every value that enters from outside (a request body, a definition, a task's output,
text parsed by ``States.StringToJson`` or an ItemReader) is checked here first:
:func:`problems` walks a value without recursion and says where each problem is (a JSON
pointer); :func:`dumps` is the fast path for values that are usually fine (every state
output): it lets the C encoder do the work and walks only when something is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

# Deep enough for any real payload or definition (ten nested Map/Parallel scopes take
# about 40), and shallow enough that the recursive code every value meets afterwards
# (the validator, templates, the JSON encoder) stays far from Python's recursion limit.
DEFAULT_MAX_DEPTH = 100
# Above this, the validator's and the interpreter's own recursion could reach Python's
# default recursion limit (1000 frames) on a value that passed the check.
MAX_DEPTH_CEILING = 200

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string in encoded text; a NUL is ``\u0000`` after an even number of backslashes.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENING, _CLOSING = frozenset("[{"), frozenset("]}")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}
# One encoder for every call: json.dumps with options builds a new one each time, which
# is a measurable part of a state transition.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


DEPTH, NUL, SURROGATE, NUMBER, OTHER = "depth", "nul", "surrogate", "number", "other"


class Unstorable(ValueError):
    """A value that cannot be stored as JSON: what (``kind``, ``message``) and where (a
    JSON pointer)."""

    def __init__(self, kind: str, message: str, pointer: str = "") -> None:
        super().__init__(f"{message} (at {pointer or '/'})")
        self.kind = kind
        self.message = message
        self.pointer = pointer


def printable(text: str) -> str:
    """``text`` with each NUL and lone surrogate spelled as its ``\\uXXXX`` escape: for
    messages and pointers that quote a value which could not be stored itself."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(token: str | int) -> str:
    # A key that is the problem must not make the message unprintable in turn.
    return printable(str(token)).replace("~", "~0").replace("/", "~1")


def _pointer(link: tuple[Any, ...] | None) -> str:
    tokens: list[str] = []
    while link is not None:
        link, token = link
        tokens.append(_escape(token))
    return "".join(f"/{token}" for token in reversed(tokens))


def text_problem(text: str) -> tuple[str, str] | None:
    """What makes ``text`` unstorable (a NUL or a lone surrogate): its kind and a
    description; or None."""
    if "\x00" in text:
        return NUL, "a NUL character (\\u0000), which cannot be stored"
    if not text.isascii() and _SURROGATE.search(text):
        return SURROGATE, "a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text"
    return None


def _scalar_problem(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return NUMBER, f"{value}, which is not a JSON number"
    return None


def problems(
    value: Any, max_depth: int = DEFAULT_MAX_DEPTH, envelope: bool = False
) -> Iterator[Unstorable]:
    """Every unstorable string, key or number in ``value``, and the first container
    nested deeper than ``max_depth`` in each branch (nothing below it is looked at).

    Depth counts containers: ``[]`` is 1 deep, ``{"a": [1]}`` 2; with ``envelope`` the
    outermost container (a request body around its payloads) does not count. Iterative,
    so a value of any depth is safe to check.
    """
    stack: list[tuple[Any, int, tuple[Any, ...] | None]] = [(value, -1 if envelope else 0, None)]
    while stack:
        item, depth, link = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                message = f"nested more than {max_depth} levels deep"
                yield Unstorable(DEPTH, message, _pointer(link))
                continue
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str) and (found := text_problem(key)):
                        kind, what = found
                        yield Unstorable(kind, f"a key holds {what}", _pointer((link, key)))
                children = [(child, depth + 1, (link, key)) for key, child in item.items()]
            else:
                children = [(child, depth + 1, (link, i)) for i, child in enumerate(item)]
            stack.extend(reversed(children))  # popped in document order
        elif found := _scalar_problem(item):
            kind, what = found
            yield Unstorable(
                kind,
                f"the value is {what}" if kind == NUMBER else f"the value holds {what}",
                _pointer(link),
            )


def problem(
    value: Any, max_depth: int = DEFAULT_MAX_DEPTH, envelope: bool = False
) -> Unstorable | None:
    """The first of :func:`problems`, or None when ``value`` can be stored."""
    return next(problems(value, max_depth, envelope), None)


def dumps(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> str:
    """``value`` as compact JSON text (``ensure_ascii=False``), or :class:`Unstorable`.

    The C encoder refuses NaN and the infinities; the text shows a NUL as an escape, a
    lone surrogate fails to encode, and the depth can be read from the brackets. Only
    when one of these fails does the slow walk run, to say where.
    """
    try:
        text = _ENCODER.encode(value)
        if _nul_escaped(text) or _too_deep(text, max_depth):
            raise ValueError
        text.encode()
    except (ValueError, RecursionError, TypeError) as exc:
        # UnicodeEncodeError is a ValueError: the lone surrogate case.
        found = problem(value, max_depth)
        if found is None:
            raise Unstorable(OTHER, f"not storable as JSON: {exc}") from None
        raise found from None
    return text


def loads(text: str) -> Any:
    """``json.loads`` for text parsed at run time (``States.StringToJson``, an
    ItemReader): text nested deeper than :data:`MAX_DEPTH_CEILING` is refused first, so
    the outcome never depends on how much stack Python has left. What is deeper than the
    execution's own limit fails later, when the value is stored."""
    deep_at = too_deep_at(text, MAX_DEPTH_CEILING)
    if deep_at is not None:
        message = f"nested more than {MAX_DEPTH_CEILING} levels deep (at offset {deep_at})"
        raise Unstorable(DEPTH, message)
    return json.loads(text)


def lone_surrogate_at(text: str) -> int | None:
    """The offset of the first lone surrogate in ``text``, or None."""
    found = None if text.isascii() else _SURROGATE.search(text)
    return found.start() if found else None


def too_deep_at(text: str, max_depth: int) -> int | None:
    """The offset of the first bracket in JSON text that opens a container nested deeper
    than ``max_depth``, or None. Reads the text only, so it is safe at any depth."""
    if not _too_deep(text, max_depth):
        return None
    depth = 0
    for match in _TOKEN.finditer(text):
        if match.group() in _OPENING:
            depth += 1
            if depth > max_depth:
                return match.start()
        elif match.group() in _CLOSING:
            depth -= 1
    return None


def _nul_escaped(text: str) -> bool:
    return "\\u0000" in text and _NUL_ESCAPE.search(text) is not None


def _too_deep(text: str, max_depth: int) -> bool:
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot be deeper than it has brackets (in strings or not)
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_NESTING.__getitem__, brackets)), default=0) > max_depth
