"""CloudFlow expressions and constructors: $Input/$Context paths and built-in functions."""

from __future__ import annotations

import json
import re
from typing import Any

from ..definition import join_pointer
from .common import UNSUPPORTED, _Converter
from .conditions import ExpressionError, _literal, _tokens

CLOUDFLOW_CONTEXT = {
    "Execution.Name": "$$.Execution.Name",
    "Execution.Input": "$$.Execution.Input",
    "Execution.RoleArn": "$$.Execution.RoleArn",
    "Current.Name": "$$.State.Name",
    "Current.RetryCount": "$$.State.RetryCount",
    "Current.TaskToken": "$$.Task.Token",
}
# CloudFlow built-in function -> (ASL intrinsic, extra trailing arguments).
CLOUDFLOW_FUNCTIONS = {
    "format": ("States.Format", ""),
    "length": ("States.ArrayLength", ""),
    "arrayContains": ("States.ArrayContains", ""),
    "arrayUnique": ("States.ArrayUnique", ""),
    "stringToJson": ("States.StringToJson", ""),
    "fromJSON": ("States.StringToJson", ""),
    "toJSON": ("States.JsonToString", ""),
    "jsonMerge": ("States.JsonMerge", ", false"),
    "hash": ("States.Hash", ""),
    "split": ("States.StringSplit", ""),
    "intAdd": ("States.MathAdd", ""),
    "randomInt": ("States.MathRandom", ""),
    "fromBase64": ("States.Base64Decode", ""),
    "toBase64": ("States.Base64Encode", ""),
    "uuid": ("States.UUID", ""),
}


class _CloudFlowExpressions(_Converter):
    """Converts ``key.$`` expressions and constructor templates."""

    def path(self, text: str, roots: dict[str, str]) -> str | None:
        """``$Input.a``, ``$Output.b``, ``$Context.Execution.Name`` ... as an ASL path."""
        match = re.match(r"^\$([A-Za-z]+)(.*)$", text)
        if not match:
            return None
        root, rest = match.group(1), match.group(2)
        if root == "Context":
            for prefix, mapped in CLOUDFLOW_CONTEXT.items():
                if rest == "." + prefix or rest.startswith("." + prefix + "."):
                    return mapped + rest[len(prefix) + 1 :]
            for name, key in (("Current.Input", "Input"), ("Current.Output", "Output")):
                if (rest == "." + name or rest.startswith("." + name + ".")) and key in roots:
                    return roots[key] + rest[len(name) + 1 :]
            for name, key in (("Current.Error.Code", ".Error"), ("Current.Error.Detail", ".Cause")):
                if rest == "." + name and "Error" in roots:
                    return roots["Error"] + key
            return None
        if root not in roots:
            return None
        return roots[root] + rest

    def expression(self, value: Any, ptr: str, roots: dict[str, str]) -> str | None:
        """The value of a ``key.$`` field as an ASL path or intrinsic call."""
        if not isinstance(value, str):
            self.error("FDL_INVALID_EXPRESSION", "an expression must be a string", ptr)
            return None
        try:
            tokens = _tokens(value)
            text, pos = self.call(tokens, 0, roots)
            if pos != len(tokens):
                raise ExpressionError(f"unexpected {tokens[pos][1]!r}")
        except ExpressionError as exc:
            self.error(
                "FDL_UNSUPPORTED_EXPRESSION",
                f"cannot convert the expression {value!r}: {exc}",
                ptr,
                UNSUPPORTED,
            )
            return None
        return text

    def call(
        self, tokens: list[tuple[str, str]], pos: int, roots: dict[str, str]
    ) -> tuple[str, int]:
        if pos >= len(tokens):
            raise ExpressionError("the expression ends too early")
        kind, text = tokens[pos]
        if kind == "path":
            path = self.path(text, roots)
            if path is None:
                raise ExpressionError(f"{text!r} has no ASL equivalent here")
            return path, pos + 1
        if kind == "word" and pos + 1 < len(tokens) and tokens[pos + 1] == ("op", "("):
            if text not in CLOUDFLOW_FUNCTIONS:
                raise ExpressionError(f"the built-in function {text!r} has no ASL intrinsic")
            intrinsic, extra = CLOUDFLOW_FUNCTIONS[text]
            args: list[str] = []
            pos += 2
            while tokens[pos : pos + 1] != [("op", ")")]:
                if args:
                    if tokens[pos : pos + 1] != [("op", ",")]:
                        raise ExpressionError("expected ',' between arguments")
                    pos += 1
                if pos < len(tokens) and tokens[pos][0] == "string":
                    literal = _literal("string", tokens[pos][1])
                    args.append(_quote(literal, keep_braces=text == "format" and not args))
                    pos += 1
                elif (
                    pos < len(tokens)
                    and tokens[pos][0] in ("number", "word")
                    and (pos + 1 >= len(tokens) or tokens[pos + 1] != ("op", "("))
                ):
                    args.append(json.dumps(_literal(*tokens[pos])))
                    pos += 1
                else:
                    arg, pos = self.call(tokens, pos, roots)
                    args.append(arg)
                if pos >= len(tokens):
                    raise ExpressionError("missing ')'")
            return f"{intrinsic}({', '.join(args)}{extra if args else ''})", pos + 1
        raise ExpressionError(f"unexpected {text!r}")

    def template(self, value: Any, ptr: str, roots: dict[str, str]) -> Any:
        """A CloudFlow constructor as an ASL payload template."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                child = join_pointer(ptr, key)
                if isinstance(key, str) and key.endswith(".$"):
                    converted = self.expression(item, child, roots)
                    if converted is not None:
                        out[key] = converted
                else:
                    out[key] = self.template(item, child, roots)
            return out
        if isinstance(value, list):
            return [
                self.template(item, join_pointer(ptr, i), roots) for i, item in enumerate(value)
            ]
        return value


def _quote(value: Any, keep_braces: bool = False) -> str:
    """A string literal for an intrinsic call (``{}`` stays a placeholder in a format)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    if not keep_braces:
        text = text.replace("{", "\\{").replace("}", "\\}")
    return f"'{text}'"
