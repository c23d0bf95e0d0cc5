"""Condition expressions (both dialects): the tokenizer, and the parser to ASL choice rules."""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<path>\$[A-Za-z_]*(?:\.[A-Za-z_][\w-]*|\[\d+\]|\[\*\]|\['[^']*'\]|\["[^"]*"\])*)
      | (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<word>[A-Za-z_]\w*)
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!(),])
    )""",
    re.VERBOSE,
)


class ExpressionError(Exception):
    """An expression this converter cannot read."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        if text[0] == "`":
            return text[1:-1]
        if text[0] == "'":
            return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        return json.loads(text)
    if kind == "number":
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "nil"):
        return None
    raise ExpressionError(f"unknown name {text!r}")


class _ConditionParser:
    """Recursive descent over ``||``, ``&&``, ``!``, comparisons, paths and literals."""

    def __init__(self, text: str, path_of: Any) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.path_of = path_of

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("the condition ends too early")
        self.pos += 1
        return token

    def parse(self) -> dict[str, Any]:
        rule = self.disjunction()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return rule

    def disjunction(self) -> dict[str, Any]:
        items = [self.conjunction()]
        while self.peek() == ("op", "||"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else {"Or": items}

    def conjunction(self) -> dict[str, Any]:
        items = [self.unary()]
        while self.peek() == ("op", "&&"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else {"And": items}

    def unary(self) -> dict[str, Any]:
        if self.peek() == ("op", "!"):
            self.take()
            return {"Not": self.unary()}
        if self.peek() == ("op", "("):
            self.take()
            rule = self.disjunction()
            if self.take() != ("op", ")"):
                raise ExpressionError("missing ')'")
            return rule
        left = self.operand()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return _compare(left, token[1], self.operand())
        if left[0] != "path":
            raise ExpressionError("a condition needs a comparison or a path")
        return _guard(left[1], {"Variable": left[1], "BooleanEquals": True})

    def operand(self) -> tuple[str, Any]:
        kind, text = self.take()
        if kind == "path":
            path = self.path_of(text)
            if path is None:
                raise ExpressionError(f"cannot map the path {text!r}")
            return ("path", path)
        if kind in ("string", "number", "word"):
            return ("value", _literal(kind, text))
        raise ExpressionError(f"unexpected {text!r}")


_OPS = {
    "==": "Equals",
    "<": "LessThan",
    "<=": "LessThanEquals",
    ">": "GreaterThan",
    ">=": "GreaterThanEquals",
}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _guard(path: str, rule: dict[str, Any]) -> dict[str, Any]:
    # FDL and CloudFlow treat a missing field as not matching; ASL would fail the execution.
    return {"And": [{"Variable": path, "IsPresent": True}, rule]}


def _compare(left: tuple[str, Any], op: str, right: tuple[str, Any]) -> dict[str, Any]:
    if left[0] == "value" and right[0] == "path":
        left, right, op = right, left, _FLIP[op]
    if left[0] != "path":
        raise ExpressionError("a comparison needs a path on one side")
    path, value = left[1], right[1]
    base = "==" if op == "!=" else op
    if right[0] == "path":
        # The operand types are unknown statically; a type mismatch is false in ASL.
        families = ("Numeric", "String")
        rule: dict[str, Any] = {
            "Or": [{"Variable": path, f"{f}{_OPS[base]}Path": value} for f in families]
        }
        rule = _guard(path, rule)
    elif value is None:
        if base != "==":
            raise ExpressionError("null can only be compared with == or !=")
        rule = {"Variable": path, "IsNull": True}
        rule = _guard(path, rule)
    elif isinstance(value, bool):
        if base != "==":
            raise ExpressionError("booleans can only be compared with == or !=")
        rule = _guard(path, {"Variable": path, "BooleanEquals": value})
    else:
        family = "String" if isinstance(value, str) else "Numeric"
        rule = _guard(path, {"Variable": path, f"{family}{_OPS[base]}": value})
    return {"Not": rule} if op == "!=" else rule


def convert_condition(text: str, path_of: Any) -> dict[str, Any]:
    """An FDL/CloudFlow condition as an ASL choice rule (without ``Next``)."""
    return _ConditionParser(text, path_of).parse()
