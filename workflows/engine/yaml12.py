"""Read a definition's YAML as YAML 1.2 (core schema), with the position of every value.

PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off``/``y``/``n`` are booleans,
``1:30`` is the sexagesimal 90, ``017`` is octal, ``0b11`` binary and ``2024-01-01`` a
date. States named ``Yes`` and ``No`` then became ``true`` and ``false``, and a date was a
value no JSON column could store. YAML 1.2's core schema — what every other YAML tool
today reads — knows only ``null``/``Null``/``NULL``/``~``/empty, ``true``/``True``/
``TRUE``/``false``/``False``/``FALSE``, decimal, ``0o`` octal and ``0x`` hexadecimal
integers, floats (``.inf``, ``.nan``) and strings.

libyaml (PyYAML's C parser) composes the node tree, with a resolver that leaves plain
scalars for us; then one walk builds the data and the JSON-pointer → (line, column) map,
refusing what a definition cannot be: non-string or duplicate keys, tags outside the core
schema, nesting deeper than the limit. Anchors and aliases (``&a``/``*a``) are refused
before anything is composed: a few lines of them can expand to billions of nodes.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .payloads import DEFAULT_MAX_DEPTH

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null"))
SEQ, MAP = f"{_TAG}seq", f"{_TAG}map"
_PLAIN = "tag:legato,2026:plain"  # a plain scalar, resolved by the walk

# YAML 1.2.2, 10.3.2 "Tag Resolution" (core schema).
_CORE = re.compile(
    r"(?P<null>~|null|Null|NULL|)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
)
# Only these can start a non-string plain scalar: most values ("Pass", "$.a") skip the regex.
_MAYBE_NOT_STRING = frozenset("~nNtTfF0123456789+-.")


class SourceError(Exception):
    """The text is not well-formed JSON or YAML; ``code`` is the diagnostic's code.

    Defined here, where YAML is read, and re-exported by ``definition``."""

    def __init__(self, code: str, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column


def _at(code: str, message: str, node_or_mark: Any) -> SourceError:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return SourceError(code, message, mark.line + 1, mark.column + 1)


class _Composer(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser and composer (the pure-Python ones if PyYAML lacks libyaml), with
    YAML 1.1's implicit tags left out: plain scalars are resolved by ``_plain``."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


def compose(text: str) -> Node | None:
    """The node tree of ``text``, or :class:`SourceError` with the position of a syntax error."""
    try:
        return yaml.compose(text, Loader=_Composer)  # noqa: S506 - composes, constructs nothing
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SourceError("INVALID_YAML_DESCRIPTION", str(exc.problem), line, column) from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise SourceError("INVALID_YAML_DESCRIPTION", str(exc), None, None) from exc


def refuse_aliases(text: str) -> None:
    """Refuse anchors and aliases before composing (which would share, and a later walk
    expand, the aliased nodes). Neither can exist without a ``&`` or a ``*``."""
    if "&" not in text and "*" not in text:
        return
    try:
        for event in yaml.parse(text, Loader=_Composer):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _at(
                    "INVALID_YAML_DESCRIPTION",
                    "YAML anchors and aliases (&name, *name) are not allowed in definitions",
                    event.start_mark,
                )
    except yaml.YAMLError:
        return  # composing reports the syntax error with its position


def load(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, dict[str, tuple[int, int]]]:
    """The data of a YAML definition and the position of every member and item."""
    refuse_aliases(text)
    root = compose(text)
    positions: dict[str, tuple[int, int]] = {}
    if root is None:
        return None, positions
    return _Walk(positions, max_depth).value(root, "", 0), positions


class _Walk:
    def __init__(self, positions: dict[str, tuple[int, int]], max_depth: int) -> None:
        self.positions = positions
        self.max_depth = max_depth

    def value(self, node: Node, pointer: str, depth: int) -> Any:
        mark = node.start_mark
        self.positions.setdefault(pointer, (mark.line + 1, mark.column + 1))
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if depth >= self.max_depth:  # bounds this walk's own recursion too
            raise _at(
                "INVALID_YAML_DESCRIPTION",
                f"nested more than {self.max_depth} levels deep",
                node,
            )
        if isinstance(node, SequenceNode):
            _expect_tag(node, SEQ)
            items = []
            for index, item in enumerate(node.value):  # a loop: one frame less per level
                items.append(self.value(item, f"{pointer}/{index}", depth + 1))
            return items
        _expect_tag(node, MAP)
        return self.mapping(node, pointer, depth)

    def mapping(self, node: MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key in result:
                raise _at("DUPLICATE_KEY", f"duplicate key {key!r}", key_node)
            child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            mark = key_node.start_mark
            self.positions[child] = (mark.line + 1, mark.column + 1)
            result[key] = self.value(value_node, child, depth + 1)
        return result


def _key(node: Node) -> str:
    # A definition is JSON: keys such as `~`, `1` or `true` would reach every checker as
    # None, int or bool, so they are refused where the line and column are still known.
    key = _scalar(node) if isinstance(node, ScalarNode) else node
    if not isinstance(key, str):
        shown = "a collection" if isinstance(key, Node) else repr(key)
        raise _at("INVALID_YAML_DESCRIPTION", f"mapping keys must be strings, not {shown}", node)
    return key


def _expect_tag(node: Node, tag: str) -> None:
    if node.tag != tag:
        raise _at("INVALID_YAML_DESCRIPTION", f"the tag {node.tag} is not allowed here", node)


def _scalar(node: ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == STR:
        return text
    if tag == _PLAIN:
        if text and text[0] not in _MAYBE_NOT_STRING:
            return text
        match = _CORE.fullmatch(text)
        return _construct(match.lastgroup, text) if match else text
    # An explicit core tag (`!!int "5"`) must fit its type; any other tag is refused.
    kind = tag[len(_TAG) :] if tag.startswith(_TAG) else None
    match = _CORE.fullmatch(text)
    found = match.lastgroup if match else None
    if kind in ("null", "bool", "int", "float") and (
        found == kind or (kind, found) == ("float", "int")
    ):
        return _construct(kind, text)
    raise _at("INVALID_YAML_DESCRIPTION", f"the tag {tag} is not allowed for {text!r}", node)


def _construct(kind: str | None, text: str) -> Any:
    if kind == "null":
        return None
    if kind == "bool":
        return text[0] in "tT"
    if kind == "int":
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)
    lowered = text.lower()
    if lowered.endswith((".inf", ".nan")):
        return float(lowered.replace(".", ""))  # "-.inf" -> float("-inf")
    return float(text)


def positions(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, tuple[int, int]]:
    """The position of every member and item of JSON text (a YAML 1.2 document), down
    to ``max_depth``; empty when the text does not compose."""
    try:
        root = compose(text)
    except SourceError:
        return {}
    out: dict[str, tuple[int, int]] = {}
    if root is not None:
        _positions(root, "", out, max_depth)
    return out


def _positions(node: Node, pointer: str, out: dict[str, tuple[int, int]], depth: int) -> None:
    out.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
    if depth <= 0:
        return
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            token = str(key_node.value).replace("~", "~0").replace("/", "~1")
            child = f"{pointer}/{token}"
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, child, out, depth - 1)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, f"{pointer}/{index}", out, depth - 1)
