"""JSONPath for ASL: paths, reference paths, payload templates and ResultPath.

Simple paths (``$``, ``$.a.b``, ``$['a'][0]``, ``$.a[*].b``) are compiled into a tuple
of steps by a small parser and evaluated without any library; anything richer
(filters, slices, recursive descent) falls back to ``jsonpath_ng``'s extended parser.
Compiled paths are cached because the same few paths run on every transition.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from .errors import (
    PARAMETER_PATH_FAILURE,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    StatesError,
)

_WILD = object()
# The longest cause Step Functions records (its API's limit): a value quoted in a cause is
# cut there, as a JSONata expression can build one far larger than any payload.
QUOTE_LIMIT = 32_768
_NAME = re.compile(r"[^.\[\]\s'\"]+")


class PathSyntaxError(ValueError):
    """The text is not a JSONPath that ASL accepts."""


_VARIABLE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)(?=$|[.\[])")


class Path:
    """A compiled JSONPath. ``reference`` is true when it names one node (no wildcards).

    ``$$…`` paths read the context object and ``$name…`` paths read the workflow
    variable ``name``; plain ``$…`` paths read the state's data.
    """

    __slots__ = ("text", "steps", "reference", "_ext", "context", "variable")

    def __init__(self, text: str) -> None:
        self.text = text
        self.context = text.startswith("$$")
        match = None if self.context else _VARIABLE.match(text)
        self.variable = match.group(1) if match else None
        if self.context:
            body = text[1:]
        elif match:
            body = "$" + text[match.end() :]
        else:
            body = text
        self._ext = None
        try:
            self.steps: tuple[Any, ...] | None = _parse_simple(body)
        except PathSyntaxError:
            self.steps = None
            self._ext = _parse_extended(body)
        self.reference = self.steps is not None and _WILD not in self.steps

    def find(self, data: Any) -> list[Any]:
        """All matches (an empty list when nothing matches)."""
        if self.steps is None:
            return [m.value for m in self._ext.find(data)]
        current = [data]
        for step in self.steps:
            nxt: list[Any] = []
            for node in current:
                if step is _WILD:
                    if isinstance(node, dict):
                        nxt.extend(node.values())
                    elif isinstance(node, list):
                        nxt.extend(node)
                elif isinstance(step, int):
                    if isinstance(node, list) and -len(node) <= step < len(node):
                        nxt.append(node[step])
                elif isinstance(node, dict) and step in node:
                    nxt.append(node[step])
            current = nxt
        return current

    def select(self, data: Any) -> Any:
        """The value an ASL path selects: one node, or a list for multi-match paths."""
        if self.steps is not None and self.reference:
            node = data
            for step in self.steps:
                if isinstance(step, int):
                    if not isinstance(node, list) or not -len(node) <= step < len(node):
                        raise KeyError(self.text)
                    node = node[step]
                else:
                    if not isinstance(node, dict) or step not in node:
                        raise KeyError(self.text)
                    node = node[step]
            return node
        return self.find(data)


def _parse_simple(text: str) -> tuple[Any, ...]:
    if not text.startswith("$"):
        raise PathSyntaxError(f"a path must start with '$': {text!r}")
    steps: list[Any] = []
    i, n = 1, len(text)
    while i < n:
        ch = text[i]
        if ch == ".":
            if text.startswith("..", i):
                raise PathSyntaxError("recursive descent")
            if i + 1 < n and text[i + 1] == "*":
                steps.append(_WILD)
                i += 2
                continue
            m = _NAME.match(text, i + 1)
            if not m:
                raise PathSyntaxError(f"expected a field name at offset {i + 1}")
            steps.append(m.group(0))
            i = m.end()
        elif ch == "[":
            end = _bracket_end(text, i)
            inner = text[i + 1 : end].strip()
            steps.append(_bracket_step(inner))
            i = end + 1
        else:
            raise PathSyntaxError(f"unexpected {ch!r} at offset {i}")
    return tuple(steps)


def _bracket_end(text: str, start: int) -> int:
    quote = None
    for j in range(start + 1, len(text)):
        ch = text[j]
        if quote:
            if ch == "\\":
                continue
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return j
    raise PathSyntaxError("unclosed '['")


def _bracket_step(inner: str) -> Any:
    if inner == "*":
        return _WILD
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return inner[1:-1]
    if re.fullmatch(r"-?\d+", inner):
        return int(inner)
    raise PathSyntaxError(f"unsupported selector [{inner}]")


def _parse_extended(text: str) -> Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse as ext_parse

    try:
        return ext_parse(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # noqa: BLE001
        raise PathSyntaxError(str(exc)) from exc


@lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    """Compile (and cache) a path; raises :class:`PathSyntaxError`."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"a path must start with '$': {text!r}")
    return Path(text)


def root_for(path: Path, data: Any, context: Any, variables: Any) -> Any:
    """The document a path reads: the context object, a variable, or the data."""
    if path.context:
        return context
    if path.variable is not None:
        if variables is None or path.variable not in variables:
            raise StatesError(RUNTIME, f"The variable '${path.variable}' is not defined")
        return variables[path.variable]
    return data


class NoSuchPath(LookupError):
    """A reference path that selects nothing in ``root`` (the document it was applied to).

    ``detail`` is what Jayway JsonPath, which Step Functions quotes, says about it.
    """

    def __init__(self, text: str, root: Any, detail: str) -> None:
        super().__init__(detail)
        self.text = text
        self.root = root
        self.detail = detail


def resolve(text: str, data: Any, context: Any = None, variables: Any = None) -> Any:
    """Apply a path; raise :class:`NoSuchPath` when it must select a node and selects none."""
    path = compile_path(text)
    root = root_for(path, data, context, variables)
    try:
        return path.select(root)
    except KeyError:
        raise NoSuchPath(text, root, _jayway_detail(path.steps or (), root)) from None


def _jayway_detail(steps: tuple[Any, ...], root: Any) -> str:
    """Jayway's words: 'No results' for a missing last step, 'Missing property' before."""
    shown, node = "$", root
    for index, step in enumerate(steps):
        shown += f"[{step}]" if isinstance(step, int) else f"['{step}']"
        if isinstance(step, int):
            present = isinstance(node, list) and -len(node) <= step < len(node)
        else:
            present = isinstance(node, dict) and step in node
        if not present:
            if index < len(steps) - 1:
                return f"Missing property in path {shown}"
            break
        node = node[step]
    return f"No results for path: {shown}"


def select(
    text: str | None,
    data: Any,
    context: Any = None,
    *,
    error: str = RUNTIME,
    variables: Any = None,
) -> Any:
    """Apply an ASL path (``None`` selects ``{}``), raising an ASL error when nothing matches."""
    if text is None:
        return {}
    try:
        return resolve(text, data, context, variables)
    except NoSuchPath as exc:
        raise StatesError(error, f"Invalid path '{text}' : {exc.detail}") from None


def lookup(
    text: str, data: Any, context: Any, *, field: str, error: str = RUNTIME, variables: Any = None
) -> Any:
    """Apply the path a field names (``"v.$"``, ``ErrorPath``), failing in AWS's words."""
    try:
        return resolve(text, data, context, variables)
    except NoSuchPath as exc:
        root = exc.root
        if root is context and isinstance(root, dict):
            # A callback task's token completes it: a cause must not hand it to every viewer.
            root = {key: value for key, value in root.items() if key != "Task"}
        raise StatesError(
            error,
            f"The JSONPath '{text}' specified for the field '{field}' could not be found in "
            f"the input '{compact(root)}'",
        ) from None


def shown(value: Any) -> str:
    """A value as a cause quotes it: a string as it is, anything else as compact JSON."""
    if isinstance(value, str) and _storable(value) and len(value) <= QUOTE_LIMIT:
        return value
    return compact(value)


def compact(value: Any) -> str:
    """JSON as Step Functions quotes it in a cause: no spaces, characters as they are, and
    no longer than a cause may be (``QUOTE_LIMIT``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not _storable(text):
        # A lone surrogate (a JSONata string can make one) cannot be stored as UTF-8: escape.
        text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "..."


def _storable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def apply_template(
    template: Any,
    data: Any,
    context: Any,
    intrinsic: Any = None,
    variables: Any = None,
    error: str = PARAMETER_PATH_FAILURE,
) -> Any:
    """Build a payload template (Parameters, ResultSelector, ItemSelector, Assign).

    Keys ending in ``.$`` take their value from a path over ``data`` (``$$`` paths read the
    context object, ``$name`` paths a variable) or from an intrinsic function call; the
    suffix is dropped. A path that finds nothing raises ``error``: Step Functions'
    ``States.ParameterPathFailure`` for a Task's Parameters, ``States.Runtime`` elsewhere.
    """
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                out[key[:-2]] = _dynamic(key, value, data, context, intrinsic, variables, error)
            else:
                out[key] = apply_template(value, data, context, intrinsic, variables, error)
        return out
    if isinstance(template, list):
        return [apply_template(v, data, context, intrinsic, variables, error) for v in template]
    return template


def _dynamic(
    key: str, expr: str, data: Any, context: Any, intrinsic: Any, variables: Any, error: str
) -> Any:
    if expr.startswith("$"):
        return lookup(expr, data, context, field=key, error=error, variables=variables)
    if intrinsic is None:
        raise StatesError(error, f"not a path: {expr!r}")
    return intrinsic(expr, data, context, variables)


def set_result(text: str | None, data: Any, result: Any) -> Any:
    """Place ``result`` into ``data`` at a ResultPath, copying only the touched spine.

    ``None`` discards the result; ``$`` replaces the input; missing objects on the way
    are created; a non-object on the way is ``States.ResultPathMatchFailure``.
    """
    if text is None:
        return data
    if text == "$":
        return result
    path = compile_path(text)
    if not path.reference or path.context or not path.steps:
        raise StatesError(RESULT_PATH_MATCH_FAILURE, f"not a reference path: {text}")
    return _set(data, path.steps, result, text)


def _set(node: Any, steps: tuple[Any, ...], value: Any, text: str) -> Any:
    step, rest = steps[0], steps[1:]
    if isinstance(step, int):
        if not isinstance(node, list) or not -len(node) <= step < len(node):
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ResultPath '{text}' to input: index {step} is out of range",
            )
        out_list = list(node)
        out_list[step] = _set(out_list[step], rest, value, text) if rest else value
        return out_list
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f'Unable to apply step "{step}" to input {_short(node)}',
        )
    out = dict(node)
    out[step] = _set(out.get(step, {}), rest, value, text) if rest else value
    return out


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 200 else text[:197] + "..."
