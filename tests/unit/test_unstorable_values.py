"""Values a definition computes that no JSON column could store end the execution with
States.Runtime, saying why; they never reach the runtime (where saving them was a 500)."""

from __future__ import annotations

import json

from workflows import engine

from .harness import T0, Run, machine

STRING_TO_JSON = {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
LONE_SURROGATE_TEXT = json.dumps("\ud800")  # '"\\ud800"': ordinary text that parses to one


def failed_with(run: Run) -> tuple[str, str, str]:
    return run.status, run.snapshot["error"], run.snapshot["cause"]


def test_a_state_output_holding_a_lone_surrogate_fails_with_states_runtime():
    run = Run(machine({"P": STRING_TO_JSON})).finish({"s": LONE_SURROGATE_TEXT})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "lone UTF-16 surrogate" in cause and "/x" in cause


def test_a_state_output_holding_nan_fails_with_states_runtime():
    run = Run(machine({"P": STRING_TO_JSON})).finish({"s": "[1, NaN]"})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "not a JSON number" in cause and "/x/1" in cause


def test_an_escaped_backslash_u0000_in_an_output_is_ordinary_text():
    run = Run(machine({"P": {"Type": "Pass", "End": True}})).finish({"s": "\\u0000"})
    assert (run.status, run.output) == ("SUCCEEDED", {"s": "\\u0000"})


def test_a_nul_character_in_a_state_output_still_fails_the_execution():
    run = Run(machine({"P": STRING_TO_JSON})).finish({"s": json.dumps("a\x00")})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


NESTING_LOOP = {
    "Wrap": {"Type": "Pass", "Parameters": {"inner.$": "$"}, "Next": "Again"},
    "Again": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
        "Default": "Wrap",
    },
    "Done": {"Type": "Succeed"},
}


def test_a_loop_that_nests_its_output_deeper_each_time_fails_at_the_depth_limit():
    run = Run(machine(NESTING_LOOP)).finish({})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "nested more than 100 levels deep" in cause


def test_the_depth_limit_is_given_when_the_execution_starts():
    step = engine.start(machine(NESTING_LOOP), {}, now=T0, max_depth=5)
    assert step.snapshot["status"] == "FAILED"
    assert "nested more than 5 levels deep" in step.snapshot["cause"]


def test_an_assigned_variable_holding_a_lone_surrogate_fails_with_states_runtime():
    state = {"Type": "Pass", "Assign": {"v.$": "States.StringToJson($.s)"}, "End": True}
    run = Run(machine({"P": state})).finish({"s": LONE_SURROGATE_TEXT})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "v" in cause


def test_a_fail_state_cause_holding_a_lone_surrogate_fails_with_states_runtime():
    state = {"Type": "Fail", "Error": "E", "CausePath": "States.StringToJson($.s)"}
    run = Run(machine({"F": state})).finish({"s": LONE_SURROGATE_TEXT})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "surrogate" in cause


def test_a_fail_state_error_holding_a_nul_fails_with_states_runtime():
    state = {"Type": "Fail", "ErrorPath": "States.StringToJson($.s)", "Cause": "c"}
    run = Run(machine({"F": state})).finish({"s": json.dumps("E\x00")})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


def test_map_items_read_from_a_payload_holding_nan_fail_the_map():
    state = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "legato:payload",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Payload.$": "$.items"},
        },
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    run = Run(machine({"M": state})).finish({"items": "[1, NaN]"})
    status, error, cause = failed_with(run)
    assert status == "FAILED"
    assert error in ("States.Runtime", "States.ItemReaderFailed")
    assert "/1" in cause


def test_map_items_computed_by_an_intrinsic_holding_a_lone_surrogate_fail_the_map():
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    parse = {"Type": "Pass", "Parameters": {"items.$": "States.StringToJson($.s)"}, "Next": "M"}
    run = Run(machine({"Parse": parse, "M": state}))
    run.finish({"s": "[" + LONE_SURROGATE_TEXT + "]"})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


def test_a_task_result_nested_too_deeply_fails_with_states_runtime():
    deep: object = 1
    for _ in range(150):
        deep = [deep]
    task = {"Type": "Task", "Resource": "r", "End": True}
    run = Run(machine({"T": task}), lambda resource, payload, attempt: {"output": deep})
    status, error, cause = failed_with(run.finish({}))
    assert (status, error) == ("FAILED", "States.Runtime")
    assert "nested more than 100 levels deep" in cause


def test_string_to_json_of_text_nested_thousands_deep_is_an_intrinsic_failure():
    run = Run(machine({"P": STRING_TO_JSON})).finish({"s": "[" * 5000 + "]" * 5000})
    status, error, cause = failed_with(run)
    assert (status, error) == ("FAILED", "States.IntrinsicFailure")
    assert "nested more than 200 levels deep" in cause


def test_an_error_quoting_a_lone_surrogate_is_stored_escaped():
    from workflows.engine.errors import StatesError

    error = StatesError("E\ud800", "cause \x00 \udfff")
    assert (error.error, error.cause) == ("E\\ud800", "cause \\u0000 \\udfff")


# --- times beyond the calendar (year 9999) ------------------------------------------------


def test_a_wait_longer_than_the_calendar_fails_with_states_runtime():
    wait = {"Type": "Wait", "SecondsPath": "$.s", "End": True}
    # In Step Functions' words: a whole number too large, or one that is no long at all.
    for seconds, words in ((10**30, "delay is too long"), (1e300, "parsed as a long")):
        run = Run(machine({"W": wait})).finish({"s": seconds})
        status, error, cause = failed_with(run)
        assert (status, error) == ("FAILED", "States.Runtime")
        assert words in cause


def test_a_wait_until_after_year_9999_in_utc_fails_with_states_runtime():
    wait = {"Type": "Wait", "TimestampPath": "$.t", "End": True}
    run = Run(machine({"W": wait})).finish({"t": "9999-12-31T23:59:59-14:00"})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


def test_a_task_timeout_beyond_the_calendar_fails_with_states_runtime():
    task = {"Type": "Task", "Resource": "r", "TimeoutSecondsPath": "$.t", "End": True}
    run = Run(machine({"T": task})).finish({"t": 10**30})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


def test_a_retry_backing_off_beyond_the_calendar_waits_until_the_calendar_ends():
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 99999999, "BackoffRate": 1e9}
    task = {"Type": "Task", "Resource": "r", "Retry": [{**retry, "MaxAttempts": 3}], "End": True}
    run = Run(machine({"T": task}), lambda resource, payload, attempt: {"error": "E"})
    run.start({})
    first = run.commands[-1]
    run.send({"type": "task_failed", "key": first["key"], "error": "E", "cause": ""})
    run.send({"type": "timer_fired", "key": run.commands[-1]["key"]})
    run.send({"type": "task_failed", "key": run.commands[-1]["key"], "error": "E", "cause": ""})
    timer = run.commands[-1]
    assert (timer["type"], timer["fire_at"]) == ("start_timer", "9999-12-31T23:59:59.000Z")


# --- inputs a state computes for its work: a task's, a branch's, an iteration's ---------

PARSED = {"x.$": "States.StringToJson($.s)"}
INNER = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}


def test_a_task_input_holding_nan_fails_with_states_runtime_before_it_is_scheduled():
    task = {"Type": "Task", "Resource": "r", "Parameters": PARSED, "End": True}
    run = Run(machine({"T": task})).finish({"s": "[NaN]"})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")
    assert not [c for c in run.commands if c["type"] == "run_task"]


def test_a_parallel_branch_input_holding_a_lone_surrogate_fails_with_states_runtime():
    parallel = {"Type": "Parallel", "Parameters": PARSED, "Branches": [INNER], "End": True}
    run = Run(machine({"P": parallel})).finish({"s": LONE_SURROGATE_TEXT})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")


def test_a_map_iteration_input_holding_a_lone_surrogate_fails_the_map():
    selector = {"v.$": "States.StringToJson($$.Map.Item.Value)"}
    state = {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": selector, "End": True}
    run = Run(machine({"M": {**state, "ItemProcessor": INNER}}))
    run.finish({"items": ["1", LONE_SURROGATE_TEXT]})
    assert failed_with(run)[:2] == ("FAILED", "States.Runtime")
