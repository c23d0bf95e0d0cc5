"""Hypothesis throws arbitrary definitions and inputs at the validator and the interpreter:
the only acceptable outcomes are diagnostics, ASL errors, or results — never a crash."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import engine
from workflows.engine import payloads

from .harness import Run

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
NAMES = st.sampled_from(["A", "B", "C"])
PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "$.a.b",
        "$[0]",
        "$.x[*]",
        "$$.Execution.Id",
        "$.missing",
        "$var",
        "bad",
        "$..a",
        "$.a[",
        None,
    ]
)
INTRINSICS = st.sampled_from(
    [
        "States.Format('{}', $.a)",
        "States.Array(1, $.a)",
        "States.StringToJson($.a)",
        "States.MathAdd($.a, 1)",
        "States.ArrayRange(1, $.a, 1)",
        "States.UUID()",
        "States.Hash($.a, 'SHA-1')",
        "States.Nope()",
        "States.Format('unterminated",
    ]
)
STATE = st.fixed_dictionaries(
    {
        "Type": st.sampled_from(
            ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel", "Bogus"]
        )
    },
    optional={
        "Next": NAMES,
        "End": st.booleans(),
        "InputPath": PATHS,
        "OutputPath": PATHS,
        "ResultPath": PATHS,
        "Result": JSON,
        "Resource": st.just("r"),
        "Parameters": st.dictionaries(
            st.sampled_from(["x", "y.$", "z.$"]), PATHS | INTRINSICS, max_size=3
        ),
        "Seconds": st.integers(-1, 3),
        "Default": NAMES,
        "Choices": st.lists(
            st.fixed_dictionaries(
                {"Variable": PATHS, "Next": NAMES, "NumericEquals": st.integers(0, 3)}
            ),
            max_size=2,
        ),
        "Error": st.text(max_size=10),
        "Retry": st.lists(
            st.fixed_dictionaries(
                {
                    "ErrorEquals": st.lists(
                        st.sampled_from(["States.ALL", "E", "States.TaskFailed"]),
                        min_size=1,
                        max_size=2,
                    ),
                    "MaxAttempts": st.integers(0, 2),
                }
            ),
            max_size=2,
        ),
    },
)
DEFINITIONS = st.fixed_dictionaries(
    {"StartAt": NAMES, "States": st.dictionaries(NAMES, STATE, min_size=1, max_size=3)}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEFINITIONS)
def test_the_validator_never_crashes_on_any_definition(definition):
    result = engine.validate(definition)
    assert isinstance(result.diagnostics, list)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_the_validator_never_crashes_on_any_text(text):
    assert isinstance(engine.validate(text).diagnostics, list)


def failing_sometimes(resource, payload, attempt):
    return {"error": "E", "cause": "x"} if attempt == 1 else {"output": payload}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEFINITIONS, JSON)
def test_every_valid_definition_runs_to_an_end_on_any_input(definition, execution_input):
    if not engine.validate(definition).valid:
        return
    run = Run(definition, failing_sometimes)
    try:
        run.finish(execution_input, max_steps=300)
    except AssertionError as exc:  # a legitimate endless loop through tasks or timers
        assert "too many steps" in str(exc)
        return
    assert run.status in ("SUCCEEDED", "FAILED", "TIMED_OUT")
    json.dumps(run.snapshot)  # whatever happened, the snapshot is still plain JSON


# --- values no JSON store can hold, generated on purpose (docs/security.md) -------------

LONE_SURROGATES = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=10),
    st.tuples(st.text(max_size=5), LONE_SURROGATES, st.text(max_size=5)).map("".join),
    st.just("a\x00b"),
    st.just("\\u0000"),  # six ordinary characters, not a NUL
)
HOSTILE_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT


def nest(value, depth):
    for _ in range(depth):
        value = [value]
    return value


def hostile_json(max_nesting):
    """JSON-like values with lone surrogates (in strings and keys), NUL characters, NaN
    and the infinities, and lists nested across the depth limit."""
    deep = st.integers(payloads.DEFAULT_MAX_DEPTH - 3, max_nesting)
    return st.recursive(
        HOSTILE_LEAVES,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(HOSTILE_TEXT, children, max_size=3)
            | st.tuples(children, deep).map(lambda pair: nest(*pair))
        ),
        max_leaves=8,
    )


def as_json_text(value):
    return json.dumps(value)  # NaN as NaN, a lone surrogate as \ud800: as clients send them


HOSTILE_JSON = hostile_json(3000)  # in memory: checked without recursion
HOSTILE_JSON_TEXT = hostile_json(300).map(as_json_text)  # json.dumps recurses
DEEP_BRACKETS = st.integers(90, 3000).map(lambda depth: "[" * depth + "]" * depth)


def stored_by_a_database(value, max_depth):
    """What PostgreSQL's jsonb takes: JSON (no NaN) in UTF-8, no NUL, not too deep."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in [*item, *item.values()])
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, str) and "\x00" in item:
            return False
    if deepest > max_depth:
        return False
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_JSON)
def test_the_storable_check_passes_exactly_what_a_database_would_take(value):
    found = payloads.problem(value)
    assert (found is None) == stored_by_a_database(value, payloads.DEFAULT_MAX_DEPTH)
    try:
        payloads.dumps(value)
    except payloads.Unstorable as exc:
        assert found is not None and (exc.kind, exc.pointer) == (found.kind, found.pointer)
    else:
        assert found is None


YAML_WORDS = st.sampled_from(
    ["yes", "No", "on", "~", "0o17", "017", "1:30", ".nan", "!!binary x", "2024-01-01"]
    + ["&a", "*a", "<<", "!!int x", "- ", ": ", "{", "[", "\t", "? ", "!", "|"]
)
HOSTILE_DEFINITION_TEXT = st.one_of(
    st.text(max_size=200),
    hostile_json(300).map(
        lambda v: as_json_text({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": v}}})
    ),
    DEEP_BRACKETS.map(lambda brackets: '{"StartAt": "P", "Result": ' + brackets + "}"),
    DEEP_BRACKETS.map(lambda brackets: "StartAt: P\nResult: " + brackets + "\n"),
    st.lists(YAML_WORDS, max_size=12).map(lambda w: "StartAt: P\nStates:\n  " + " ".join(w)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_DEFINITION_TEXT)
def test_the_validator_never_crashes_on_hostile_text(text):
    result = engine.validate(text)
    assert isinstance(result.diagnostics, list)
    if result.valid:
        assert payloads.problem(result.definition) is None


PARSING_FLOW = {
    "StartAt": "Parse",
    "States": {
        "Parse": {
            "Type": "Pass",
            "Parameters": {"v.$": "States.StringToJson($.s)", "s.$": "$.s"},
            "Next": "Items",
        },
        "Items": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "legato:payload",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Payload.$": "$.s"},
            },
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "End": True,
        },
    },
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(HOSTILE_JSON_TEXT, DEEP_BRACKETS, st.text(max_size=30)))
def test_text_parsed_at_run_time_never_breaks_an_execution(text):
    run = Run(PARSING_FLOW).finish({"s": text})  # the harness stores each step strictly
    assert run.status in ("SUCCEEDED", "FAILED")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(HOSTILE_JSON_TEXT, DEEP_BRACKETS, st.text(max_size=30)))
def test_a_test_state_answer_is_always_json_a_client_can_read(text):
    from datetime import UTC, datetime

    from workflows.engine.inspect import inspect_state

    state = {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
    answer = inspect_state(state, {"s": text}, now=datetime(2026, 1, 1, tzinfo=UTC))
    json.dumps(answer, allow_nan=False, ensure_ascii=False).encode("utf-8")


def _moment(naive, minutes):
    from datetime import timedelta, timezone

    return naive.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


WAIT_VALUES = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(_moment, st.datetimes(), st.integers(-14 * 60, 14 * 60)),  # years 1-9999
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["SecondsPath", "TimestampPath"]), WAIT_VALUES)
def test_a_wait_for_any_number_or_moment_from_the_input_ends_the_execution(field, value):
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", field: "$.v", "End": True}}}
    run = Run(wait).finish({"v": value})
    assert run.status in ("SUCCEEDED", "FAILED")
