"""Parse a definition from JSON or YAML text, keeping where every value came from.

The result is plain data (dicts, lists, scalars) plus a map from JSON pointer to a
1-based (line, column) in the original text, so that diagnostics can point at the
source the user wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class Source:
    """A parsed definition and the position of every member and item."""

    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    format: str = "json"


class SourceError(Exception):
    """The text is not well-formed JSON or YAML."""

    def __init__(self, code: str, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column


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


# libyaml's C parser when PyYAML was built with it: parsing and composing positions are the
# slowest part of validating a large definition.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when available) that refuses duplicate keys."""


def _construct_mapping(loader: _SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        # A definition is JSON: keys such as `~` or `1` would reach every checker as
        # None or int, so they are refused where the line and column are still known.
        if not isinstance(key, str):
            raise SourceError(
                "INVALID_YAML_DESCRIPTION",
                f"mapping keys must be strings, not {key!r}",
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        if key in seen:
            raise SourceError(
                "DUPLICATE_KEY",
                f"duplicate key {key!r}",
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def parse(text: str | bytes | dict | list) -> Source:
    """Parse JSON or YAML text (or take already-parsed data) into a :class:`Source`."""
    if isinstance(text, dict | list):
        return Source(text, {}, "data")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError("INVALID_ENCODING", f"not UTF-8: {exc}", None, None) from exc
    if looks_like_json(text):
        data = _parse_json(text)
        fmt = "json"
    else:
        _refuse_aliases(text)
        data = _parse_yaml(text)
        fmt = "yaml"
    return Source(data, _positions(text), fmt)


def _parse_json(text: str) -> Any:
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
    line = text.count("\n", 0, second) + 1
    return line, second - (text.rfind("\n", 0, second) + 1) + 1


def _refuse_aliases(text: str) -> None:
    """YAML anchors and aliases let a few lines expand to billions of nodes (a "YAML
    bomb"); definitions never need them, so they are refused before anything expands."""
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise SourceError(
                    "INVALID_YAML_DESCRIPTION",
                    "YAML anchors and aliases (&name, *name) are not allowed in definitions",
                    mark.line + 1,
                    mark.column + 1,
                )
    except yaml.YAMLError:
        return  # the real parse below reports the syntax error with its position


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - _SafeLoader is a SafeLoader
    except SourceError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise SourceError("INVALID_YAML_DESCRIPTION", str(exc.problem), line, col) from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise SourceError("INVALID_YAML_DESCRIPTION", str(exc), None, None) from exc


def _positions(text: str) -> dict[str, tuple[int, int]]:
    """Map JSON pointers to positions by composing the text as YAML (a JSON superset)."""
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)  # noqa: S506 - compose builds no objects
    except (yaml.YAMLError, RecursionError):
        return {}
    out: dict[str, tuple[int, int]] = {}
    if root is not None:
        _walk(root, "", out)
    return out


def _walk(node: yaml.Node, pointer: str, out: dict[str, tuple[int, int]]) -> None:
    out.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = join_pointer(pointer, key_node.value)
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, join_pointer(pointer, index), out)


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
