"""Hypothesis throws arbitrary definitions and inputs at the validator and the interpreter:
the only acceptable outcomes are diagnostics, ASL errors, or results — never a crash."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import engine

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
