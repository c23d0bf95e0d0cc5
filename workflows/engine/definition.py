"""Parse a definition from JSON or YAML text, keeping where every value came from.

The result is plain data (dicts, lists, scalars) plus a map from JSON pointer to a
1-based (line, column) in the original text, so that diagnostics can point at the
source the user wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import payloads, yaml12
from .payloads import DEFAULT_MAX_DEPTH
from .yaml12 import SourceError


@dataclass
class Source:
    """A parsed definition and the position of every member and item."""

    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    format: str = "json"


def pointer_escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, token: str | int) -> str:
    return f"{base}/{pointer_escape(token)}"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def parse(text: str | bytes | dict | list, max_depth: int = DEFAULT_MAX_DEPTH) -> Source:
    """Parse JSON or YAML text (or take already-parsed data) into a :class:`Source`.

    YAML is read as YAML 1.2 (core schema, see ``yaml12``). Nesting deeper than
    ``max_depth`` is refused here, before any recursive code meets it.
    """
    if isinstance(text, dict | list):
        _refuse_depth(text, max_depth)
        return Source(text, {}, "data")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError("INVALID_ENCODING", f"not UTF-8: {exc}", None, None) from exc
    _refuse_surrogates(text)
    if not looks_like_json(text):
        data, positions = yaml12.load(text, max_depth)
        return Source(data, positions, "yaml")
    data = _parse_json(text, max_depth)
    return Source(data, yaml12.positions(text, max_depth), "json")


def _refuse_depth(data: Any, max_depth: int) -> None:
    found = next((p for p in payloads.problems(data, max_depth) if p.kind == payloads.DEPTH), None)
    if found is not None:
        raise SourceError(
            "INVALID_JSON_DESCRIPTION", f"{found.message} at {found.pointer}", None, None
        )


def _refuse_surrogates(text: str) -> None:
    """A lone surrogate (from a caller's string, never from UTF-8) fails libyaml's encoder."""
    offset = payloads.lone_surrogate_at(text)
    if offset is not None:
        line, column = _line_column(text, offset)
        message = "the text holds a lone UTF-16 surrogate, which is not Unicode text"
        raise SourceError("INVALID_ENCODING", message, line, column)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _parse_json(text: str, max_depth: int) -> Any:
    deep_at = payloads.too_deep_at(text, max_depth)
    if deep_at is not None:  # refused before Python's recursive reader sees it
        line, column = _line_column(text, deep_at)
        message = f"nested more than {max_depth} levels deep"
        raise SourceError("INVALID_JSON_DESCRIPTION", message, line, column)
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise SourceError("INVALID_JSON_DESCRIPTION", exc.msg, exc.lineno, exc.colno) from exc
    except _DuplicateKey as exc:
        line, col = _find_duplicate(text, exc.key)
        raise SourceError("DUPLICATE_KEY", f"duplicate key {exc.key!r}", line, col) from exc
    except RecursionError as exc:
        raise SourceError("INVALID_JSON_DESCRIPTION", "nested too deeply", None, None) from exc


def _find_duplicate(text: str, key: str) -> tuple[int | None, int | None]:
    needle = json.dumps(key)
    first = text.find(needle)
    second = text.find(needle, first + 1) if first >= 0 else -1
    if second < 0:
        return None, None
    return _line_column(text, second)


def position(source: Source, pointer: str) -> tuple[int | None, int | None]:
    """The closest known position for ``pointer`` (falls back to its parents)."""
    while True:
        if pointer in source.positions:
            return source.positions[pointer]
        if not pointer:
            return (None, None)
        pointer = pointer.rsplit("/", 1)[0]


def sub_machine(definition: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The machine at ``pointer`` (a Map's ItemProcessor, a Parallel branch) as a definition
    of its own, for running it as a child execution (Distributed Map)."""
    machine: Any = definition
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        machine = machine[int(token)] if isinstance(machine, list) else machine[token]
    child = {"StartAt": machine["StartAt"], "States": machine["States"]}
    language = machine.get("QueryLanguage") or definition.get("QueryLanguage")
    if language:
        child["QueryLanguage"] = language
    return child
