"""Convert Alibaba Cloud Serverless Workflow definitions (classic FDL and CloudFlow) to ASL.

Classic FDL (``version: v1``, ``type: flow``, ``steps``) has a data model ASL lacks: every
scope has an *input* and a *local* (the merged outputs of its steps), and a step's default
input is the two merged. The converted machine therefore carries an envelope
``{"input", "local", "merged"}`` (plus ``"parent"`` inside a choice branch) and merges each
step's output into it with ``States.JsonMerge``. CloudFlow (``Type: StateMachine``) is
already a state machine, so its conversion is mostly renaming. See docs/fdl.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import paths
from .definition import Source, SourceError, join_pointer, parse, position
from .validate import Diagnostic, successors

ERROR = "ERROR"
WARNING = "WARNING"
SCHEMA = "SCHEMA_VALIDATION_FAILED"
UNSUPPORTED = "UNSUPPORTED_FEATURE"
TARGET = "MISSING_TRANSITION_TARGET"

# FDL and CloudFlow share the wildcard and timeout error names; ASL spells them States.*.
ERROR_NAMES = {"FnF.ALL": "States.ALL", "FnF.Timeout": "States.Timeout"}
CHILD_FLOW = re.compile(r"^acs:fnf:[^:]*:[^:]*:flow/(?P<name>[^/]+)$")
PATTERN_SUFFIX = {
    None: "",
    "requestResponse": "",
    "sync": ".sync",
    "waitForCallback": ".waitForTaskToken",
}
TASK_MODE_SUFFIX = {
    None: "",
    "RequestComplete": "",
    "WaitForSystemCallback": ".sync",
    "WaitForCustomCallback": ".waitForTaskToken",
}
# Unverified in the reference: only these classic $context fields are mapped.
CLASSIC_CONTEXT = {
    "execution.name": "$$.Execution.Name",
    "execution.input": "$$.Execution.Input",
    "step.name": "$$.State.Name",
}
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

STEP_FIELDS = {"type", "name", "description", "end", "inputMappings", "outputMappings"}
STEP_TYPE_FIELDS: dict[str, set[str]] = {
    "task": {"resourceArn", "pattern", "timeoutSeconds", "errorMappings", "retry", "catch"},
    "pass": set(),
    "wait": {"duration", "timestamp"},
    "choice": {"choices", "default"},
    "parallel": {"branches", "retry", "catch", "errorMappings"},
    "foreach": {"iterationMapping", "steps", "maxConcurrency", "retry", "catch", "errorMappings"},
    "succeed": set(),
    "fail": {"error", "cause"},
}
FLOW_FIELDS = {"version", "type", "steps", "inputMappings", "outputMappings", "timeoutSeconds"}
CF_COMMON = {"Name", "Type", "Description", "Next", "End", "InputConstructor", "OutputConstructor"}
CF_FIELDS: dict[str, set[str]] = {
    "Task": {
        "Action",
        "TaskMode",
        "Parameters",
        "Resource",
        "ResourceArn",
        "Timeout",
        "Retry",
        "Catch",
    },
    "Pass": set(),
    "Wait": {"Seconds", "Seconds.$", "UntilDateTime", "UntilDateTime.$"},
    "Choice": {"Branches", "Default"},
    "Parallel": {"Branches", "Retry", "Catch"},
    "Map": {
        "ItemsPath",
        "Processor",
        "ItemProcessor",
        "ItemConstructor",
        "MaxConcurrency",
        "MaxConcuccency",
        "Retry",
        "Catch",
        "ProcessorConfig",
    },
    "Succeed": set(),
    "Fail": {"Error", "Cause", "Code", "Detail", "Error.$", "Cause.$", "Code.$", "Detail.$"},
}
DISTRIBUTED_FIELDS = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxItems",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
)


@dataclass
class ConversionResult:
    """The converted ASL definition (None when nothing could be converted) and diagnostics."""

    definition: dict[str, Any] | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    dialect: str = "asl"

    @property
    def ok(self) -> bool:
        return self.definition is not None and not any(
            d.severity == ERROR for d in self.diagnostics
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "definition": self.definition,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


def detect(data: Any) -> str:
    """Which language ``data`` is written in: ``"asl"``, ``"fdl"`` or ``"cloudflow"``."""
    if not isinstance(data, dict):
        return "asl"
    if data.get("Type") == "StateMachine":
        return "cloudflow"
    # Lenient on purpose: a flow with a wrong version should get a diagnostic, not go to ASL.
    if "steps" in data and (data.get("type") == "flow" or "version" in data):
        return "fdl"
    return "asl"


def convert(
    text_or_data: str | bytes | dict | list, resource_map: dict[str, str] | None = None
) -> ConversionResult:
    """Convert classic FDL or CloudFlow to ASL; ASL is returned unchanged."""
    try:
        source = parse(text_or_data)
    except SourceError as exc:
        diag = Diagnostic(exc.code, exc.code, exc.message, "", ERROR, exc.line, exc.column)
        return ConversionResult(None, [diag], "unknown")
    dialect = detect(source.data)
    if dialect == "asl":
        return ConversionResult(source.data, [], "asl")
    converter: _Converter
    if dialect == "fdl":
        converter = _Classic(source, resource_map or {})
    else:
        converter = _CloudFlow(source, resource_map or {})
    definition = converter.run()
    return ConversionResult(definition, converter.diagnostics, dialect)


# --- shared machinery -------------------------------------------------------------------


class _Names:
    """Unique state names within one ASL scope (top level, a branch, an iteration)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        return name


class _Converter:
    def __init__(self, source: Source, resource_map: dict[str, str]) -> None:
        self.source = source
        self.resource_map = resource_map
        self.diagnostics: list[Diagnostic] = []
        # ASL wants state names unique across the whole machine, branches included.
        self.names = _Names()

    def report(self, severity: str, code: str, rule: str, message: str, pointer: str) -> None:
        line, column = position(self.source, pointer)
        self.diagnostics.append(Diagnostic(code, rule, message, pointer, severity, line, column))

    def error(self, rule: str, message: str, pointer: str, code: str = SCHEMA) -> None:
        self.report(ERROR, code, rule, message, pointer)

    def warn(self, rule: str, message: str, pointer: str, code: str = UNSUPPORTED) -> None:
        self.report(WARNING, code, rule, message, pointer)

    def run(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def unknown_fields(self, obj: dict[str, Any], allowed: set[str], ptr: str, what: str) -> None:
        for key in obj:
            if key not in allowed:
                self.warn(
                    "FDL_UNKNOWN_FIELD",
                    f"field {key!r} is not known in {what}; it was ignored",
                    join_pointer(ptr, key),
                )

    def resource(self, arn: str, suffix: str, ptr: str) -> str:
        """Map an Alibaba resource to a Legato one, or keep it and warn."""
        if arn in self.resource_map:
            return self.resource_map[arn] + suffix
        child = CHILD_FLOW.match(arn)
        if child:
            return f"flow:{child['name']}{suffix}"
        extra = f" (its {suffix[1:]} pattern is not applied)" if suffix else ""
        self.warn(
            "FDL_UNMAPPED_RESOURCE",
            f"{arn!r} has no Legato equivalent and was kept as the Resource{extra}; "
            "map it with --map-resource ARN=RESOURCE",
            ptr,
        )
        return arn

    def error_names(self, names: Any, ptr: str) -> list[str] | None:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.error("FDL_INVALID_ERRORS", "errors must be a non-empty list of strings", ptr)
            return None
        return [ERROR_NAMES.get(n, n) for n in names]

    def retriers(self, retriers: Any, ptr: str, names: dict[str, str]) -> list[dict[str, Any]]:
        """Convert a retry list; ``names`` maps the dialect's field names to ASL's."""
        if not isinstance(retriers, list):
            self.error("FDL_INVALID_RETRY", "retry must be a list", ptr)
            return []
        out = []
        for index, retrier in enumerate(retriers):
            rptr = join_pointer(ptr, index)
            if not isinstance(retrier, dict):
                self.error("FDL_INVALID_RETRY", "a retrier must be an object", rptr)
                continue
            converted: dict[str, Any] = {}
            for key, value in retrier.items():
                kptr = join_pointer(rptr, key)
                if key not in names:
                    self.warn("FDL_UNKNOWN_FIELD", f"retrier field {key!r} was ignored", kptr)
                elif names[key] == "ErrorEquals":
                    errors = self.error_names(value, kptr)
                    if errors is not None:
                        converted["ErrorEquals"] = errors
                elif names[key] == "Comment":
                    converted["Comment"] = str(value)
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    self.error("FDL_INVALID_RETRY", f"{key} must be a number", kptr)
                else:
                    converted[names[key]] = value
            if "ErrorEquals" not in converted:
                if not any(names.get(k) == "ErrorEquals" for k in retrier):
                    self.error("FDL_INVALID_RETRY", "a retrier needs its list of errors", rptr)
                continue
            out.append(converted)
        return out


# --- conditions (both dialects) -----------------------------------------------------------

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


# --- classic FDL --------------------------------------------------------------------------


def _carry(depth: int) -> dict[str, Any]:
    """Parameters that keep the envelope as it is (a helper adds its own keys)."""
    out: dict[str, Any] = {"input.$": "$.input", "local.$": "$.local", "merged.$": "$.merged"}
    if depth:
        out["parent.$"] = "$.parent"
    return out


def _step_path(expr: str, base: str) -> str | None:
    """``$.key`` (relative to the step input) inside the envelope at ``base``."""
    if expr == "$":
        return base
    if expr.startswith(("$.", "$[")):
        return base + expr[1:]
    return None


def _prune(states: dict[str, Any], start: str, keep: set[str]) -> None:
    """Drop generated states nothing reaches (e.g. a branch exit after a fail step)."""
    seen, todo = {start}, [start]
    while todo:
        for target in successors(states.get(todo.pop())):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    for name in [n for n in states if n not in seen and n not in keep]:
        del states[name]


@dataclass
class _Scope:
    states: dict[str, Any]
    names: _Names
    depth: int


@dataclass
class _Step:
    """What the compilers of the step types need to know about one step."""

    data: dict[str, Any]
    ptr: str
    name: str
    entry: str
    next: str
    exit: str
    siblings: dict[str, str]
    scope: _Scope
    kind: str = ""
    base: str = "$.merged"
    in_template: dict[str, Any] | None = None
    main: str = ""


class _Classic(_Converter):
    def __init__(self, source: Source, resource_map: dict[str, str]) -> None:
        super().__init__(source, resource_map)
        self.step_states: set[str] = set()

    RETRY_NAMES = {
        "errors": "ErrorEquals",
        "intervalSeconds": "IntervalSeconds",
        "maxAttempts": "MaxAttempts",
        "multiplier": "BackoffRate",
        "maxIntervalSeconds": "MaxDelaySeconds",
        "description": "Comment",
    }

    def run(self) -> dict[str, Any] | None:
        root = self.source.data
        if root.get("version") != "v1":
            self.error(
                "FDL_INVALID_VERSION", "version must be v1", self.key_ptr(root, "", "version")
            )
        if root.get("type") != "flow":
            self.error("FDL_INVALID_TYPE", "type must be flow", self.key_ptr(root, "", "type"))
        self.unknown_fields(root, FLOW_FIELDS, "", "a flow")
        scope = _Scope({}, self.names, 0)
        enter, done = scope.names.take("Flow.input"), scope.names.take("Flow.output")
        first_state: dict[str, Any] = {
            "Type": "Pass",
            "Comment": "FDL: the flow input and an empty $local",
        }
        scope.states[enter] = first_state
        if "inputMappings" in root:
            template = self.template(root["inputMappings"], "/inputMappings", {"$input": "$"})
            first_state["Parameters"] = {"input": template, "local": {}, "merged": template}
        else:
            first_state["Parameters"] = {"input.$": "$", "local": {}, "merged.$": "$"}
        steps = root.get("steps")
        if not isinstance(steps, list) or not steps:
            self.error(
                "FDL_MISSING_STEPS",
                "steps must be a non-empty list",
                self.key_ptr(root, "", "steps"),
            )
        first_state["Next"] = self.steps(steps, "/steps", scope, done)
        last: dict[str, Any] = {"Type": "Pass", "Comment": "FDL: the flow output"}
        if "outputMappings" in root:
            last["Parameters"] = self.template(
                root["outputMappings"],
                "/outputMappings",
                {"$input": "$.input", "$local": "$.local"},
            )
        else:
            last["OutputPath"] = "$.local"
        last["End"] = True
        scope.states[done] = last
        _prune(scope.states, enter, self.step_states)
        definition: dict[str, Any] = {
            "Comment": "Converted from Alibaba Cloud Serverless Workflow FDL",
            "StartAt": enter,
            "States": scope.states,
        }
        if "timeoutSeconds" in root:
            definition["TimeoutSeconds"] = root["timeoutSeconds"]
        return definition

    @staticmethod
    def key_ptr(obj: dict[str, Any], ptr: str, key: str) -> str:
        return join_pointer(ptr, key) if key in obj else ptr

    # --- mappings ----------------------------------------------------------------------

    def template(
        self, mappings: Any, ptr: str, roots: dict[str, str | None], error_output: bool = False
    ) -> dict[str, Any]:
        """A payload template from ``[{target, source}]``; ``roots`` say where $input/$local are."""
        out: dict[str, Any] = {}
        if not isinstance(mappings, list):
            self.error("FDL_INVALID_MAPPINGS", "mappings must be a list of {target, source}", ptr)
            return out
        for index, mapping in enumerate(mappings):
            mptr = join_pointer(ptr, index)
            if not isinstance(mapping, dict) or not isinstance(mapping.get("target"), str):
                self.error("FDL_INVALID_MAPPING", "a mapping needs a string target", mptr)
                continue
            if "source" not in mapping:
                self.error("FDL_INVALID_MAPPING", "a mapping needs a source", mptr)
                continue
            value = self.source_value(
                mapping["source"], join_pointer(mptr, "source"), roots, error_output
            )
            if value is None:
                continue
            kind, resolved = value
            if kind == "path":
                out[mapping["target"] + ".$"] = resolved
            else:
                out[mapping["target"]] = resolved
        return out

    def source_value(
        self, source: Any, ptr: str, roots: dict[str, str | None], error_output: bool
    ) -> tuple[str, Any] | None:
        if not isinstance(source, str) or not source.startswith("$"):
            return ("const", source)
        match = re.match(r"^\$(input|local|context)(?=$|[.\[])(.*)$", source)
        if not match:
            self.error(
                "FDL_INVALID_MAPPING_SOURCE",
                f"source {source!r} must be a constant or start with $input, $local or $context",
                ptr,
            )
            return None
        root, rest = match.group(1), match.group(2)
        if root == "context":
            mapped = CLASSIC_CONTEXT.get(rest.lstrip("."))
            if mapped is None:
                self.error(
                    "FDL_UNSUPPORTED_CONTEXT",
                    f"{source!r} has no ASL context equivalent",
                    ptr,
                    UNSUPPORTED,
                )
                return None
            return ("path", mapped)
        base = roots.get("$" + root)
        if base is None:
            self.error(
                "FDL_MAPPING_SOURCE_UNAVAILABLE",
                f"${root} is not available in this mapping",
                ptr,
            )
            return None
        if error_output:
            # errorMappings may only read $local.error and $local.cause.
            field_match = re.match(r"^\.(error|cause)(.*)$", rest)
            if root != "local" or not field_match:
                self.error(
                    "FDL_INVALID_ERROR_MAPPING",
                    "errorMappings sources must be $local.error or $local.cause",
                    ptr,
                )
                return None
            rest = ".Error" if field_match.group(1) == "error" else ".Cause"
            rest += field_match.group(2)
        path = base + rest
        try:
            paths.compile_path(path)
        except paths.PathSyntaxError as exc:
            self.error("FDL_INVALID_MAPPING_SOURCE", f"invalid path {source!r}: {exc}", ptr)
            return None
        return ("path", path)

    @staticmethod
    def reads_input(mappings: Any) -> bool:
        return isinstance(mappings, list) and any(
            isinstance(m, dict)
            and isinstance(m.get("source"), str)
            and re.match(r"^\$input(?=$|[.\[])", m["source"])
            for m in mappings
        )

    @staticmethod
    def local_only(mappings: Any) -> bool:
        return isinstance(mappings, list) and not any(
            isinstance(m, dict)
            and isinstance(m.get("source"), str)
            and re.match(r"^\$(input|context)", m["source"])
            for m in mappings
        )

    # --- step lists --------------------------------------------------------------------

    def steps(self, steps: Any, ptr: str, scope: _Scope, exit_name: str) -> str:
        """Compile a serial list of steps; return the name of its first state."""
        if not isinstance(steps, list):
            if steps is not None:
                self.error("FDL_INVALID_STEPS", "steps must be a list", ptr)
            return exit_name
        siblings: dict[str, str] = {}
        planned: list[tuple[dict[str, Any], str, str, str]] = []
        for index, step in enumerate(steps):
            sptr = join_pointer(ptr, index)
            if not isinstance(step, dict):
                self.error("FDL_INVALID_STEP", "a step must be an object", sptr)
                continue
            name = step.get("name")
            if not isinstance(name, str) or not name:
                self.error(
                    "FDL_MISSING_NAME", "a step needs a name", self.key_ptr(step, sptr, "name")
                )
                name = f"{step.get('type', 'step')}-{index + 1}"
            elif name in siblings:
                self.error(
                    "FDL_DUPLICATE_STEP_NAME",
                    f"another step in this list is already named {name!r}",
                    join_pointer(sptr, "name"),
                )
            entry = scope.names.take(name)
            self.step_states.add(entry)
            siblings.setdefault(name, entry)
            planned.append((step, sptr, name, entry))
        for index, (step, sptr, name, entry) in enumerate(planned):
            following = planned[index + 1][3] if index + 1 < len(planned) else exit_name
            if "end" in step and not isinstance(step["end"], bool):
                self.error(
                    "FDL_INVALID_END", "end must be true or false", join_pointer(sptr, "end")
                )
            nxt = exit_name if step.get("end") is True else following
            self.step(_Step(step, sptr, name, entry, nxt, exit_name, siblings, scope))
        return planned[0][3] if planned else exit_name

    def step(self, st: _Step) -> None:
        kind = st.data.get("type")
        if kind not in STEP_TYPE_FIELDS:
            self.error(
                "FDL_UNKNOWN_STEP_TYPE",
                f"unknown step type {kind!r}",
                self.key_ptr(st.data, st.ptr, "type"),
            )
            # A placeholder keeps the chain intact so later problems are still reported.
            st.scope.states[st.entry] = {"Type": "Pass", "Next": st.next}
            return
        st.kind = kind
        self.unknown_fields(st.data, STEP_FIELDS | STEP_TYPE_FIELDS[kind], st.ptr, f"a {kind} step")
        st.main = st.entry
        if "inputMappings" in st.data:
            st.in_template = self.template(
                st.data["inputMappings"],
                join_pointer(st.ptr, "inputMappings"),
                {"$input": "$.input", "$local": "$.local"},
            )
            needs_step_input = kind in ("choice", "wait", "foreach") or self.reads_input(
                st.data.get("outputMappings")
            )
            if needs_step_input:
                # The step input is needed as data (conditions, durations, $input in outputs):
                # compute it once into $.step.
                st.main = st.scope.names.take(f"{st.name}.{kind}")
                st.scope.states[st.entry] = {
                    "Type": "Pass",
                    "Comment": "FDL: the step input from inputMappings",
                    "Parameters": {**_carry(st.scope.depth), "step": st.in_template},
                    "Next": st.main,
                }
                st.base = "$.step"
        getattr(self, "step_" + kind)(st)

    def place(self, st: _Step, state: dict[str, Any]) -> None:
        st.scope.states[st.main] = state

    def input_fields(self, st: _Step, state: dict[str, Any]) -> None:
        if st.base == "$.step":
            state["InputPath"] = "$.step"
        elif st.in_template is not None:
            state["Parameters"] = st.in_template
        else:
            state["InputPath"] = "$.merged"

    def merge(self, st: _Step, label: str, output: str, nxt: str) -> str:
        """A Pass merging the object at ``output`` into $local (and the merged view)."""
        name = st.scope.names.take(f"{st.name}.{label}")
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: merge the step output into $local",
            "Parameters": {
                "input.$": "$.input",
                "local.$": f"States.JsonMerge($.local, {output}, false)",
                "merged.$": f"States.JsonMerge($.merged, {output}, false)",
                **({"parent.$": "$.parent"} if st.scope.depth else {}),
            },
            "Next": nxt,
        }
        return name

    def build_output(self, st: _Step, local: str | None, nxt: str, label: str = "output") -> str:
        """States building the step output from outputMappings, then merging it."""
        name = st.scope.names.take(f"{st.name}.{label}")
        template = self.template(
            st.data["outputMappings"],
            join_pointer(st.ptr, "outputMappings"),
            {"$input": st.base, "$local": local},
        )
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: the step output from outputMappings",
            "Parameters": {**_carry(st.scope.depth), "output": template},
            "Next": "",
        }
        st.scope.states[name]["Next"] = self.merge(st, "merge", "$.output", nxt)
        return name

    def result_output(self, st: _Step, state: dict[str, Any], default_merge: bool) -> None:
        """Output handling for steps with a result (task, parallel, foreach)."""
        out_maps = st.data.get("outputMappings")
        if out_maps is None:
            if default_merge:
                state["ResultPath"] = "$.output"
                state["Next"] = self.merge(st, "merge", "$.output", st.next)
            else:
                # parallel and foreach steps output nothing without outputMappings.
                state["ResultPath"] = None
                state["Next"] = st.next
        elif self.local_only(out_maps):
            state["ResultSelector"] = self.template(
                out_maps, join_pointer(st.ptr, "outputMappings"), {"$local": "$"}
            )
            state["ResultPath"] = "$.output"
            state["Next"] = self.merge(st, "merge", "$.output", st.next)
        else:
            state["ResultPath"] = "$.result"
            state["Next"] = ""
            self.place(st, state)
            state["Next"] = self.build_output(st, "$.result", st.next)

    def errors_and_retries(self, st: _Step, state: dict[str, Any]) -> None:
        if "retry" in st.data:
            retry = self.retriers(st.data["retry"], join_pointer(st.ptr, "retry"), self.RETRY_NAMES)
            if retry:
                state["Retry"] = retry
        if "errorMappings" in st.data and "catch" not in st.data:
            self.warn(
                "FDL_ERROR_MAPPINGS_WITHOUT_CATCH",
                "errorMappings only apply with catch; they were ignored",
                join_pointer(st.ptr, "errorMappings"),
            )
        if "catch" not in st.data:
            return
        ptr = join_pointer(st.ptr, "catch")
        catchers = st.data["catch"]
        if not isinstance(catchers, list):
            self.error("FDL_INVALID_CATCH", "catch must be a list", ptr)
            return
        out = []
        for index, catcher in enumerate(catchers):
            cptr = join_pointer(ptr, index)
            if not isinstance(catcher, dict):
                self.error("FDL_INVALID_CATCH", "a catcher must be an object", cptr)
                continue
            self.unknown_fields(catcher, {"errors", "goto", "description"}, cptr, "a catcher")
            errors = self.error_names(catcher.get("errors"), self.key_ptr(catcher, cptr, "errors"))
            target = self.goto(st, catcher.get("goto"), self.key_ptr(catcher, cptr, "goto"))
            if errors is None or target is None:
                continue
            converted: dict[str, Any] = {"ErrorEquals": errors}
            if "errorMappings" in st.data:
                converted["ResultPath"] = "$.result"
                converted["Next"] = self.error_output(st, index, target)
            else:
                converted["ResultPath"] = None
                converted["Next"] = target
            out.append(converted)
        if out:
            state["Catch"] = out

    def error_output(self, st: _Step, index: int, target: str) -> str:
        name = st.scope.names.take(f"{st.name}.catch[{index}]")
        template = self.template(
            st.data["errorMappings"],
            join_pointer(st.ptr, "errorMappings"),
            {"$local": "$.result"},
            error_output=True,
        )
        st.scope.states[name] = {
            "Type": "Pass",
            "Comment": "FDL: the step output from errorMappings",
            "Parameters": {**_carry(st.scope.depth), "output": template},
            "Next": self.merge(st, f"catch[{index}].merge", "$.output", target),
        }
        return name

    def goto(self, st: _Step, target: Any, ptr: str) -> str | None:
        if not isinstance(target, str) or target not in st.siblings:
            self.error(
                "FDL_UNKNOWN_GOTO",
                f"goto {target!r} does not name a sibling step",
                ptr,
                TARGET,
            )
            return None
        return st.siblings[target]

    # --- step types ----------------------------------------------------------------------

    def step_task(self, st: _Step) -> None:
        arn = st.data.get("resourceArn")
        aptr = self.key_ptr(st.data, st.ptr, "resourceArn")
        pattern = st.data.get("pattern")
        if pattern not in PATTERN_SUFFIX:
            self.error(
                "FDL_INVALID_PATTERN",
                f"pattern must be requestResponse, sync or waitForCallback, not {pattern!r}",
                join_pointer(st.ptr, "pattern"),
            )
            pattern = None
        if not isinstance(arn, str) or not arn:
            self.error("FDL_MISSING_RESOURCE", "a task step needs a resourceArn string", aptr)
            arn = "acs:unknown"
            resource = arn
        else:
            resource = self.resource(arn, PATTERN_SUFFIX[pattern], aptr)
        state: dict[str, Any] = {"Type": "Task", "Resource": resource}
        self.input_fields(st, state)
        if "timeoutSeconds" in st.data:
            state["TimeoutSeconds"] = st.data["timeoutSeconds"]
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=True)

    def step_pass(self, st: _Step) -> None:
        if "outputMappings" in st.data:
            # The pass step's own state is the output builder.
            template = self.template(
                st.data["outputMappings"],
                join_pointer(st.ptr, "outputMappings"),
                {"$input": st.base, "$local": None},
            )
            self.place(
                st,
                {
                    "Type": "Pass",
                    "Parameters": {**_carry(st.scope.depth), "output": template},
                    "Next": self.merge(st, "merge", "$.output", st.next),
                },
            )
        else:
            # No output: $local stays as it is.
            self.place(st, {"Type": "Pass", "Next": st.next})

    def step_succeed(self, st: _Step) -> None:
        # "Like return": ends the enclosing list of steps.
        st.next = st.exit
        self.step_pass(st)

    def step_fail(self, st: _Step) -> None:
        state: dict[str, Any] = {"Type": "Fail"}
        for key, asl in (("error", "Error"), ("cause", "Cause")):
            if key in st.data:
                if isinstance(st.data[key], str):
                    state[asl] = st.data[key]
                else:
                    self.error(
                        "FDL_INVALID_FAIL_FIELD",
                        f"{key} must be a string",
                        join_pointer(st.ptr, key),
                    )
        self.place(st, state)

    def step_wait(self, st: _Step) -> None:
        given = [k for k in ("duration", "timestamp") if k in st.data]
        state: dict[str, Any] = {"Type": "Wait"}
        if len(given) != 1:
            self.error(
                "FDL_INVALID_WAIT", "a wait step needs exactly one of duration or timestamp", st.ptr
            )
            state["Seconds"] = 0
        else:
            key = given[0]
            value, vptr = st.data[key], join_pointer(st.ptr, key)
            path = _step_path(value, st.base) if isinstance(value, str) else None
            if path is not None:
                state["SecondsPath" if key == "duration" else "TimestampPath"] = path
            elif key == "duration" and isinstance(value, int) and not isinstance(value, bool):
                state["Seconds"] = value
            elif key == "timestamp" and isinstance(value, str):
                state["Timestamp"] = value
            else:
                self.error(
                    "FDL_INVALID_WAIT",
                    f"{key} must be a {'number of seconds' if key == 'duration' else 'timestamp'}"
                    " or a $.key path",
                    vptr,
                )
                state["Seconds"] = 0
        if "outputMappings" in st.data:
            state["Next"] = ""
            self.place(st, state)
            state["Next"] = self.build_output(st, None, st.next)
        else:
            state["Next"] = st.next
            self.place(st, state)

    def step_choice(self, st: _Step) -> None:
        state: dict[str, Any] = {"Type": "Choice", "Choices": []}
        self.place(st, state)
        options = st.data.get("choices")
        cptr = self.key_ptr(st.data, st.ptr, "choices")
        if not isinstance(options, list) or not options:
            self.error("FDL_MISSING_CHOICES", "a choice step needs a non-empty choices list", cptr)
            options = []
        for index, option in enumerate(options):
            optr = join_pointer(cptr, index)
            if not isinstance(option, dict):
                self.error("FDL_INVALID_CHOICE", "a choice must be an object", optr)
                continue
            self.unknown_fields(
                option, {"condition", "steps", "goto", "description"}, optr, "a choice"
            )
            rule = self.condition(
                st, option.get("condition"), self.key_ptr(option, optr, "condition")
            )
            target = self.branch(st, option, optr, f"choices[{index}]")
            if rule is not None and target is not None:
                state["Choices"].append({**rule, "Next": target})
        if "default" in st.data:
            dptr = join_pointer(st.ptr, "default")
            default = st.data["default"]
            if isinstance(default, dict):
                self.unknown_fields(default, {"steps", "goto", "description"}, dptr, "a default")
                target = self.branch(st, default, dptr, "default")
            else:
                self.error("FDL_INVALID_CHOICE", "default must be an object", dptr)
                target = None
        else:
            # Without a default, FDL simply ends the choice step (ASL would fail instead).
            target = self.branch(st, {}, st.ptr, "default")
        if target is not None:
            state["Default"] = target
        if not state["Choices"]:
            # ASL needs at least one rule; one that never matches keeps the meaning.
            state["Choices"].append(
                {"Variable": "$", "IsPresent": False, "Next": state.get("Default", st.next)}
            )

    def condition(self, st: _Step, text: Any, ptr: str) -> dict[str, Any] | None:
        if not isinstance(text, str):
            self.error("FDL_MISSING_CONDITION", "a choice needs a condition string", ptr)
            return None
        try:
            return convert_condition(text, lambda p: _step_path(p, st.base))
        except ExpressionError as exc:
            self.error(
                "FDL_UNSUPPORTED_CONDITION",
                f"cannot convert the condition {text!r}: {exc}",
                ptr,
                UNSUPPORTED,
            )
            return None

    def branch(self, st: _Step, option: dict[str, Any], ptr: str, label: str) -> str | None:
        """The state a choice option leads to: its steps in a scope, then its goto."""
        after = st.next
        if "goto" in option:
            target = self.goto(st, option["goto"], join_pointer(ptr, "goto"))
            if target is None:
                return None
            after = target
        if not option.get("steps") and "outputMappings" not in st.data:
            return after
        scope = _Scope(st.scope.states, st.scope.names, st.scope.depth + 1)
        enter = scope.names.take(f"{st.name}.{label}")
        done = scope.names.take(f"{st.name}.{label}.done")
        st.scope.states[enter] = {
            "Type": "Pass",
            "Comment": "FDL: enter the choice branch with its own $local",
            "Parameters": {"input.$": st.base, "local": {}, "merged.$": st.base, "parent.$": "$"},
            "Next": "",
        }
        st.scope.states[enter]["Next"] = self.steps(
            option.get("steps"), join_pointer(ptr, "steps"), scope, done
        )
        output = "$.local"
        exit_state: dict[str, Any] = {"Type": "Pass"}
        st.scope.states[done] = exit_state
        if "outputMappings" in st.data:
            template = self.template(
                st.data["outputMappings"],
                join_pointer(st.ptr, "outputMappings"),
                {"$input": "$.input", "$local": "$.local"},
            )
            exit_state["Comment"] = "FDL: the choice output from outputMappings"
            exit_state["Parameters"] = {**_carry(scope.depth), "output": template}
            output = "$.output"
            merge_name = scope.names.take(f"{st.name}.{label}.merge")
            exit_state["Next"] = merge_name
            exit_state = {"Type": "Pass"}
            st.scope.states[merge_name] = exit_state
        exit_state["Comment"] = "FDL: leave the choice branch, merging its output"
        exit_state["Parameters"] = {
            "input.$": "$.parent.input",
            "local.$": f"States.JsonMerge($.parent.local, {output}, false)",
            "merged.$": f"States.JsonMerge($.parent.merged, {output}, false)",
            **({"parent.$": "$.parent.parent"} if st.scope.depth else {}),
        }
        exit_state["Next"] = after
        return enter

    def sub_machine(
        self, steps: Any, ptr: str, enter_comment: str, enter_parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """An ASL branch/iteration holding ``steps`` in a fresh envelope."""
        scope = _Scope({}, self.names, 0)
        enter, done = scope.names.take("Branch.input"), scope.names.take("Branch.output")
        scope.states[enter] = {
            "Type": "Pass",
            "Comment": enter_comment,
            "Parameters": enter_parameters,
            "Next": "",
        }
        scope.states[enter]["Next"] = self.steps(steps, ptr, scope, done)
        scope.states[done] = {
            "Type": "Pass",
            "Comment": "FDL: a branch returns its $local",
            "OutputPath": "$.local",
            "End": True,
        }
        _prune(scope.states, enter, self.step_states)
        return {"StartAt": enter, "States": scope.states}

    def step_parallel(self, st: _Step) -> None:
        branches = st.data.get("branches")
        bptr = self.key_ptr(st.data, st.ptr, "branches")
        state: dict[str, Any] = {"Type": "Parallel", "Branches": []}
        if not isinstance(branches, list) or not branches:
            self.error(
                "FDL_MISSING_BRANCHES", "a parallel step needs a non-empty branches list", bptr
            )
            branches = []
        for index, branch in enumerate(branches):
            ptr = join_pointer(bptr, index)
            if not isinstance(branch, dict) or not isinstance(branch.get("steps"), list):
                self.error("FDL_INVALID_BRANCH", "a branch must be an object with steps", ptr)
                continue
            self.unknown_fields(branch, {"steps"}, ptr, "a branch")
            state["Branches"].append(
                self.sub_machine(
                    branch["steps"],
                    join_pointer(ptr, "steps"),
                    "FDL: the branch input and an empty $local",
                    {"input.$": "$", "local": {}, "merged.$": "$"},
                )
            )
        self.input_fields(st, state)
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=False)

    def step_foreach(self, st: _Step) -> None:
        mapping = st.data.get("iterationMapping")
        mptr = self.key_ptr(st.data, st.ptr, "iterationMapping")
        state: dict[str, Any] = {"Type": "Map"}
        extra: dict[str, Any] = {}
        if not isinstance(mapping, dict):
            self.error(
                "FDL_MISSING_ITERATION_MAPPING", "a foreach step needs iterationMapping", mptr
            )
            mapping = {}
        else:
            self.unknown_fields(mapping, {"collection", "item", "index"}, mptr, "iterationMapping")
            collection = mapping.get("collection")
            path = _step_path(collection, st.base) if isinstance(collection, str) else None
            if path is None:
                self.error(
                    "FDL_INVALID_COLLECTION",
                    "collection must be a $.key path into the step input",
                    self.key_ptr(mapping, mptr, "collection"),
                )
            else:
                state["ItemsPath"] = path
            for key, context in (("item", "Value"), ("index", "Index")):
                if key not in mapping:
                    if key == "item":
                        self.error("FDL_MISSING_ITEM", "iterationMapping needs item", mptr)
                    continue
                if not isinstance(mapping[key], str) or not mapping[key]:
                    self.error(
                        "FDL_INVALID_ITEM", f"{key} must be a key name", join_pointer(mptr, key)
                    )
                    continue
                extra[mapping[key] + ".$"] = f"$$.Map.Item.{context}"
        # Each iteration's input is the step input plus the item (and index) keys.
        state["ItemSelector"] = {"base.$": st.base, "extra": extra}
        merged = "States.JsonMerge($.base, $.extra, false)"
        state["ItemProcessor"] = self.sub_machine(
            st.data.get("steps"),
            self.key_ptr(st.data, st.ptr, "steps"),
            "FDL: the iteration input (step input + item) and an empty $local",
            {"input.$": merged, "local": {}, "merged.$": merged},
        )
        if not isinstance(st.data.get("steps"), list):
            self.error("FDL_MISSING_STEPS", "a foreach step needs a list of steps", st.ptr)
        if "maxConcurrency" in st.data:
            state["MaxConcurrency"] = st.data["maxConcurrency"]
        self.errors_and_retries(st, state)
        self.place(st, state)
        self.result_output(st, state, default_merge=False)


# --- CloudFlow ----------------------------------------------------------------------------


class _CloudFlow(_Converter):
    RETRY_NAMES = {
        "Errors": "ErrorEquals",
        "IntervalSeconds": "IntervalSeconds",
        "MaxAttempts": "MaxAttempts",
        "BackoffRate": "BackoffRate",
        "MaxBackoffSeconds": "MaxDelaySeconds",
        "Description": "Comment",
    }

    def run(self) -> dict[str, Any] | None:
        root = self.source.data
        self.unknown_fields(
            root,
            {"Type", "Name", "SpecVersion", "StartAt", "States", "Description"},
            "",
            "a CloudFlow definition",
        )
        if "SpecVersion" in root and root["SpecVersion"] != "v1":
            self.warn("FDL_SPEC_VERSION", "only SpecVersion v1 is known", "/SpecVersion")
        machine = self.machine(root, "")
        comment = "Converted from Alibaba Cloud CloudFlow"
        if isinstance(root.get("Name"), str):
            comment += f" flow {root['Name']}"
        if isinstance(root.get("Description"), str):
            comment += f": {root['Description']}"
        return {"Comment": comment, **machine}

    def machine(self, obj: dict[str, Any], ptr: str) -> dict[str, Any]:
        """Convert ``{StartAt, States: [...]}``; helper states get names with a dot."""
        states_in = obj.get("States")
        sptr = join_pointer(ptr, "States") if "States" in obj else ptr
        if not isinstance(states_in, list) or not states_in:
            self.error("FDL_MISSING_STATES", "States must be a non-empty list of states", sptr)
            states_in = []
        names = self.names
        planned: list[tuple[dict[str, Any], str, str]] = []
        for index, state in enumerate(states_in):
            item = join_pointer(sptr, index)
            if not isinstance(state, dict):
                self.error("FDL_INVALID_STATE", "a state must be an object", item)
                continue
            name = state.get("Name")
            if not isinstance(name, str) or not name:
                self.error("FDL_MISSING_NAME", "a state needs a Name", item)
                continue
            if name in names.used:
                self.error(
                    "FDL_DUPLICATE_STATE_NAME",
                    f"another state is already named {name!r}",
                    join_pointer(item, "Name"),
                )
                continue
            names.take(name)
            planned.append((state, item, name))
        scope = _CfScope({}, names, {name for _, _, name in planned}, [])
        entries = {name: self.state(state, item, name, scope) for state, item, name in planned}
        # Transitions the user wrote name states; a state may now start with a helper Pass.
        for container, key in scope.fixups:
            container[key] = entries.get(container[key], container[key])
        start = obj.get("StartAt")
        if not isinstance(start, str) or start not in entries:
            self.error(
                "FDL_UNKNOWN_START",
                f"StartAt {start!r} does not name a state",
                join_pointer(ptr, "StartAt") if "StartAt" in obj else ptr,
                TARGET,
            )
            start = planned[0][2] if planned else ""
        return {"StartAt": entries.get(start, start), "States": scope.states}

    def target(
        self, container: dict[str, Any], key: str, value: Any, ptr: str, scope: _CfScope
    ) -> None:
        """Set a user-written transition (resolved to entry states once all are converted)."""
        if not isinstance(value, str) or value not in scope.known:
            self.error(
                "FDL_UNKNOWN_NEXT", f"{value!r} does not name a state in this scope", ptr, TARGET
            )
            return
        container[key] = value
        scope.fixups.append((container, key))

    # --- expressions ---------------------------------------------------------------------

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

    # --- states --------------------------------------------------------------------------

    def state(self, data: dict[str, Any], ptr: str, name: str, scope: _CfScope) -> str:
        """Convert one state (plus helpers); return the name of its first ASL state."""
        kind = data.get("Type")
        if kind not in CF_FIELDS:
            self.error(
                "FDL_UNKNOWN_STATE_TYPE",
                f"unknown state Type {kind!r}",
                join_pointer(ptr, "Type") if "Type" in data else ptr,
            )
            scope.states[name] = {"Type": "Pass", "End": True}
            return name
        self.unknown_fields(data, CF_COMMON | CF_FIELDS[kind], ptr, f"a {kind} state")
        entry = name
        if "InputConstructor" in data and kind != "Pass":
            # ASL has no input template for these states: build the input in a Pass first.
            entry = scope.names.take(f"{name}.Input")
            scope.states[entry] = {
                "Type": "Pass",
                "Comment": "CloudFlow InputConstructor",
                "Parameters": self.template(
                    data["InputConstructor"], join_pointer(ptr, "InputConstructor"), {"Input": "$"}
                ),
                "Next": name,
            }
        state: dict[str, Any] = {"Type": kind}
        if isinstance(data.get("Description"), str):
            state["Comment"] = data["Description"]
        scope.states[name] = state
        post = getattr(self, "state_" + kind.lower())(data, ptr, name, state, scope)
        last = state
        optr = join_pointer(ptr, "OutputConstructor")
        if "OutputConstructor" in data and post is not None:
            helper = scope.names.take(f"{name}.Output")
            shaped = {
                "Type": "Pass",
                "Comment": "CloudFlow OutputConstructor",
                "Parameters": self.template(data["OutputConstructor"], optr, post),
            }
            if kind == "Succeed":
                # Succeed is terminal, so the output is shaped just before it.
                scope.states[name] = {**shaped, "Next": helper}
                scope.states[helper] = state
                return entry
            state["Next"] = helper
            scope.states[helper] = shaped
            last = shaped
        elif "OutputConstructor" in data and kind in ("Choice", "Fail"):
            self.warn(
                "FDL_UNSUPPORTED_FIELD",
                f"OutputConstructor on a {kind} state has no ASL equivalent; it was ignored",
                optr,
            )
        if kind in ("Choice", "Succeed", "Fail"):
            for key in ("Next", "End"):
                if key in data:
                    self.warn(
                        "FDL_UNKNOWN_FIELD",
                        f"a {kind} state takes no {key}; it was ignored",
                        join_pointer(ptr, key),
                    )
        elif data.get("End") is True:
            last["End"] = True
        elif "Next" in data:
            self.target(last, "Next", data["Next"], join_pointer(ptr, "Next"), scope)
        else:
            self.error("FDL_MISSING_NEXT_OR_END", "the state needs Next or End: true", ptr)
        return entry

    def result_shape(
        self, data: dict[str, Any], ptr: str, state: dict[str, Any], selector: dict[str, Any] | None
    ) -> dict[str, str] | None:
        """Output of Task/Parallel/Map; returns the roots for an OutputConstructor Pass."""
        if "OutputConstructor" not in data:
            if selector is not None:
                state["ResultSelector"] = selector
            return None
        constructor = data["OutputConstructor"]
        if selector is None and not re.search(
            r"\$(Input|Context\.Current\.Input)", json.dumps(constructor)
        ):
            # Only the result is read: a ResultSelector shapes it in place.
            state["ResultSelector"] = self.template(
                constructor, join_pointer(ptr, "OutputConstructor"), {"Output": "$"}
            )
            return None
        if selector is not None:
            state["ResultSelector"] = selector
        state["ResultPath"] = "$.__output"
        return {"Input": "$", "Output": "$.__output"}

    def errors_and_retries(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> None:
        if "Retry" in data:
            retry = self.retriers(data["Retry"], join_pointer(ptr, "Retry"), self.RETRY_NAMES)
            if retry:
                state["Retry"] = retry
        if "Catch" not in data:
            return
        cptr = join_pointer(ptr, "Catch")
        if not isinstance(data["Catch"], list):
            self.error("FDL_INVALID_CATCH", "Catch must be a list", cptr)
            return
        out = []
        for index, catcher in enumerate(data["Catch"]):
            iptr = join_pointer(cptr, index)
            if not isinstance(catcher, dict):
                self.error("FDL_INVALID_CATCH", "a catcher must be an object", iptr)
                continue
            self.unknown_fields(
                catcher, {"Errors", "Next", "Description", "OutputConstructor"}, iptr, "a catcher"
            )
            errors = self.error_names(
                catcher.get("Errors"), join_pointer(iptr, "Errors") if "Errors" in catcher else iptr
            )
            if errors is None:
                continue
            converted: dict[str, Any] = {"ErrorEquals": errors}
            if isinstance(catcher.get("Description"), str):
                converted["Comment"] = catcher["Description"]
            holder: dict[str, Any] = converted
            if "OutputConstructor" in catcher:
                helper = scope.names.take(f"{name}.Catch[{index}]")
                converted["ResultPath"] = "$.__error"
                converted["Next"] = helper
                holder = {
                    "Type": "Pass",
                    "Comment": "CloudFlow Catch OutputConstructor",
                    "Parameters": self.template(
                        catcher["OutputConstructor"],
                        join_pointer(iptr, "OutputConstructor"),
                        {"Input": "$", "Error": "$.__error"},
                    ),
                }
                scope.states[helper] = holder
            self.target(holder, "Next", catcher.get("Next"), join_pointer(iptr, "Next"), scope)
            out.append(converted)
        if out:
            state["Catch"] = out

    def state_task(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        mode = data.get("TaskMode")
        if mode not in TASK_MODE_SUFFIX:
            self.error(
                "FDL_INVALID_TASK_MODE",
                "TaskMode must be RequestComplete, WaitForSystemCallback or WaitForCustomCallback",
                join_pointer(ptr, "TaskMode"),
            )
            mode = None
        suffix = TASK_MODE_SUFFIX[mode]
        params = data.get("Parameters")
        pptr = join_pointer(ptr, "Parameters")
        if params is not None and not isinstance(params, dict):
            self.error("FDL_INVALID_PARAMETERS", "Parameters must be an object", pptr)
            params = None
        action = data.get("Action")
        roots = {"Input": "$"}
        if action == "FC:InvokeFunction":
            params = params or {}
            arn = params.get("resourceArn")
            if not isinstance(arn, str) or not arn:
                self.error(
                    "FDL_MISSING_RESOURCE", "FC:InvokeFunction needs Parameters.resourceArn", pptr
                )
                state["Resource"] = "FC:InvokeFunction"
            else:
                state["Resource"] = self.resource(arn, suffix, join_pointer(pptr, "resourceArn"))
            if params.get("invocationType") == "Async":
                self.warn(
                    "FDL_ASYNC_INVOCATION",
                    "an Async invocation does not wait for the function; the Legato task does",
                    join_pointer(pptr, "invocationType"),
                )
            # The body is the event the function receives, i.e. the task input.
            if "body.$" in params:
                body = self.expression(params["body.$"], join_pointer(pptr, "body.$"), roots)
                if body is not None and body.startswith("$"):
                    state["InputPath"] = body
                elif body is not None:
                    state["Parameters"] = {"body.$": body}
            elif isinstance(params.get("body"), dict):
                state["Parameters"] = self.template(
                    params["body"], join_pointer(pptr, "body"), roots
                )
            elif "body" in params:
                self.error(
                    "FDL_UNSUPPORTED_BODY",
                    "only an object body (or body.$) can become the task input",
                    join_pointer(pptr, "body"),
                    UNSUPPORTED,
                )
            self.unknown_fields(
                params,
                {"resourceArn", "invocationType", "body", "body.$", "qualifier"},
                pptr,
                "FC:InvokeFunction parameters",
            )
        elif isinstance(action, str) and action:
            state["Resource"] = self.resource(action, suffix, join_pointer(ptr, "Action"))
            if params is not None:
                state["Parameters"] = self.template(params, pptr, roots)
        elif isinstance(data.get("Resource") or data.get("ResourceArn"), str):
            key = "Resource" if isinstance(data.get("Resource"), str) else "ResourceArn"
            state["Resource"] = self.resource(data[key], suffix, join_pointer(ptr, key))
            if params is not None:
                state["Parameters"] = self.template(params, pptr, roots)
        else:
            self.error("FDL_MISSING_RESOURCE", "a Task needs an Action (or a Resource)", ptr)
            state["Resource"] = "acs:unknown"
        if "Timeout" in data:
            timeout = data["Timeout"]
            seconds = int(timeout) if isinstance(timeout, str) and timeout.isdigit() else timeout
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
                self.error(
                    "FDL_INVALID_TIMEOUT",
                    "Timeout must be a positive number of seconds",
                    join_pointer(ptr, "Timeout"),
                )
            else:
                state["TimeoutSeconds"] = seconds
        self.errors_and_retries(data, ptr, name, state, scope)
        return self.result_shape(data, ptr, state, None)

    def state_pass(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        roots = {"Input": "$", "Output": "$"}
        if "InputConstructor" in data:
            state["Parameters"] = self.template(
                data["InputConstructor"], join_pointer(ptr, "InputConstructor"), roots
            )
            return roots
        if "OutputConstructor" in data:
            # A Pass outputs its input, so one template does both.
            state["Parameters"] = self.template(
                data["OutputConstructor"], join_pointer(ptr, "OutputConstructor"), roots
            )
        return None

    def state_wait(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        given = [k for k in CF_FIELDS["Wait"] if k in data]
        if len(given) != 1:
            self.error(
                "FDL_INVALID_WAIT", "a Wait needs exactly one of Seconds or UntilDateTime", ptr
            )
            state["Seconds"] = 0
            return {"Input": "$", "Output": "$"}
        key = given[0]
        value, vptr = data[key], join_pointer(ptr, key)
        asl = "Seconds" if key.startswith("Seconds") else "Timestamp"
        if key.endswith(".$"):
            path = self.expression(value, vptr, {"Input": "$"})
            if path is not None and path.startswith("$"):
                state[asl + "Path"] = path
            elif path is not None:
                self.error("FDL_UNSUPPORTED_EXPRESSION", "a Wait needs a plain path here", vptr)
        elif asl == "Seconds" and isinstance(value, int) and not isinstance(value, bool):
            state["Seconds"] = value
        elif asl == "Timestamp" and isinstance(value, str):
            state["Timestamp"] = value
        else:
            self.error("FDL_INVALID_WAIT", f"{key} has the wrong type", vptr)
        return {"Input": "$", "Output": "$"}

    def state_succeed(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        return {"Input": "$", "Output": "$"}

    def state_fail(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        for asl, names in (("Error", ("Error", "Code")), ("Cause", ("Cause", "Detail"))):
            for key in names:
                if isinstance(data.get(key), str):
                    state[asl] = data[key]
                elif key + ".$" in data:
                    path = self.expression(
                        data[key + ".$"], join_pointer(ptr, key + ".$"), {"Input": "$"}
                    )
                    if path is not None:
                        state[asl + "Path"] = path
        return None

    def state_choice(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        state["Choices"] = []
        bptr = join_pointer(ptr, "Branches") if "Branches" in data else ptr
        branches = data.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.error("FDL_MISSING_CHOICES", "a Choice needs a non-empty Branches list", bptr)
            branches = []
        for index, branch in enumerate(branches):
            iptr = join_pointer(bptr, index)
            if not isinstance(branch, dict):
                self.error("FDL_INVALID_CHOICE", "a choice branch must be an object", iptr)
                continue
            self.unknown_fields(
                branch, {"Condition", "Next", "Description"}, iptr, "a choice branch"
            )
            text = branch.get("Condition")
            if not isinstance(text, str):
                self.error("FDL_MISSING_CONDITION", "a choice branch needs a Condition", iptr)
                continue
            try:
                rule = convert_condition(text, lambda p: self.path(p, {"Input": "$"}))
            except ExpressionError as exc:
                self.error(
                    "FDL_UNSUPPORTED_CONDITION",
                    f"cannot convert the condition {text!r}: {exc}",
                    join_pointer(iptr, "Condition"),
                    UNSUPPORTED,
                )
                continue
            state["Choices"].append(rule)
            self.target(rule, "Next", branch.get("Next"), join_pointer(iptr, "Next"), scope)
        if "Default" in data:
            self.target(state, "Default", data["Default"], join_pointer(ptr, "Default"), scope)
        else:
            self.warn(
                "FDL_MISSING_DEFAULT",
                "CloudFlow requires Default; without it no match fails with States.NoChoiceMatched",
                ptr,
                SCHEMA,
            )
        return None

    def branch_machine(self, branch: Any, ptr: str, what: str) -> dict[str, Any]:
        if not isinstance(branch, dict):
            self.error(
                "FDL_INVALID_BRANCH", f"{what} must be an object with StartAt and States", ptr
            )
            return {"StartAt": "", "States": {}}
        self.unknown_fields(branch, {"StartAt", "States", "Description"}, ptr, what)
        return self.machine(branch, ptr)

    def state_parallel(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        branches = data.get("Branches")
        bptr = join_pointer(ptr, "Branches") if "Branches" in data else ptr
        if not isinstance(branches, list) or not branches:
            self.error("FDL_MISSING_BRANCHES", "a Parallel needs a non-empty Branches list", bptr)
            branches = []
        state["Branches"] = [
            self.branch_machine(b, join_pointer(bptr, i), "a branch")
            for i, b in enumerate(branches)
        ]
        self.errors_and_retries(data, ptr, name, state, scope)
        # CloudFlow outputs {"Branch0": ..., "Branch1": ...}; ASL outputs an array.
        selector = {f"Branch{i}.$": f"$[{i}]" for i in range(len(branches))}
        return self.result_shape(data, ptr, state, selector)

    def state_map(
        self, data: dict[str, Any], ptr: str, name: str, state: dict[str, Any], scope: _CfScope
    ) -> dict[str, str] | None:
        for key in DISTRIBUTED_FIELDS:
            if key in data:
                self.error(
                    "FDL_DISTRIBUTED_MAP",
                    f"{key}: distributed Map (OSS readers/writers, batching, failure tolerance) "
                    "has no Legato equivalent",
                    join_pointer(ptr, key),
                    UNSUPPORTED,
                )
        config = data.get("ProcessorConfig")
        if config is not None and (
            not isinstance(config, dict) or str(config.get("Mode", "Inline")).lower() != "inline"
        ):
            self.error(
                "FDL_DISTRIBUTED_MAP",
                "only the inline Map mode can be converted",
                join_pointer(ptr, "ProcessorConfig"),
                UNSUPPORTED,
            )
        items = data.get("ItemsPath")
        if isinstance(items, str):
            path = self.path(items, {"Input": "$"})
            if path is None:
                self.error(
                    "FDL_UNSUPPORTED_EXPRESSION",
                    f"ItemsPath {items!r} is not a plain $Input path",
                    join_pointer(ptr, "ItemsPath"),
                    UNSUPPORTED,
                )
            else:
                state["ItemsPath"] = path
        else:
            self.error("FDL_MISSING_ITEMS_PATH", "a Map needs ItemsPath", ptr)
        key = "Processor" if "Processor" in data else "ItemProcessor"
        state["ItemProcessor"] = self.branch_machine(
            data.get(key), join_pointer(ptr, key) if key in data else ptr, "a Map processor"
        )
        if "ItemConstructor" in data:
            state["ItemSelector"] = self.template(
                data["ItemConstructor"],
                join_pointer(ptr, "ItemConstructor"),
                {"Input": "$", "Item": "$$.Map.Item.Value", "Index": "$$.Map.Item.Index"},
            )
        for key in ("MaxConcurrency", "MaxConcuccency"):
            if key in data:
                state["MaxConcurrency"] = data[key]
        self.errors_and_retries(data, ptr, name, state, scope)
        # CloudFlow outputs {"Items": [...]}; ASL outputs the array itself.
        return self.result_shape(data, ptr, state, {"Items.$": "$"})


def _quote(value: Any, keep_braces: bool = False) -> str:
    """A string literal for an intrinsic call (``{}`` stays a placeholder in a format)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    if not keep_braces:
        text = text.replace("{", "\\{").replace("}", "\\}")
    return f"'{text}'"


@dataclass
class _CfScope:
    states: dict[str, Any]
    names: _Names
    known: set[str]
    fixups: list[tuple[dict[str, Any], str]]
