"""Testing one state on an input, stage by stage (the engine side of test-state)."""

from workflows.engine.inspect import inspect_state

from .harness import T0


def test_every_jsonpath_stage_is_shown():
    answer = inspect_state(
        {
            "Type": "Pass",
            "InputPath": "$.a",
            "Parameters": {"x.$": "$.b"},
            "ResultPath": "$.r",
            "Next": "N",
        },
        {"a": {"b": 1}},
        now=T0,
    )
    assert answer["inspectionData"] == {
        "input": {"a": {"b": 1}},
        "afterInputPath": {"b": 1},
        "afterParameters": {"x": 1},
        "result": {"x": 1},
        "afterResultSelector": {"x": 1},
        "afterResultPath": {"a": {"b": 1}, "r": {"x": 1}},
        "output": {"a": {"b": 1}, "r": {"x": 1}},
    }
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "N")


def test_a_task_uses_the_given_result_instead_of_running_its_resource():
    answer = inspect_state(
        {
            "Type": "Task",
            "Resource": "r",
            "ResultSelector": {"v.$": "$.v"},
            "ResultPath": "$.res",
            "End": True,
        },
        {"k": 1},
        now=T0,
        result={"v": 5, "w": 6},
    )
    assert answer["output"] == {"k": 1, "res": {"v": 5}}


def test_an_error_that_a_retrier_matches_is_retriable():
    answer = inspect_state(
        {"Type": "Task", "Resource": "r", "End": True, "Retry": [{"ErrorEquals": ["E"]}]},
        {},
        now=T0,
        error="E",
    )
    assert (answer["status"], answer["error"]) == ("RETRIABLE", "E")


def test_an_error_that_a_catcher_matches_shows_where_it_goes():
    answer = inspect_state(
        {
            "Type": "Task",
            "Resource": "r",
            "End": True,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.e"}],
        },
        {},
        now=T0,
        error="X",
        cause="c",
    )
    assert (answer["status"], answer["nextState"], answer["output"]) == (
        "CAUGHT_ERROR",
        "H",
        {"e": {"Error": "X", "Cause": "c"}},
    )


def test_a_choice_shows_the_state_it_would_go_to():
    answer = inspect_state(
        {
            "Type": "Choice",
            "Default": "Small",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
        },
        {"n": 5},
        now=T0,
    )
    assert answer["nextState"] == "Big"


def test_a_fail_state_reports_its_error():
    answer = inspect_state({"Type": "Fail", "Error": "Oops", "Cause": "why"}, {}, now=T0)
    assert (answer["status"], answer["error"], answer["cause"]) == ("FAILED", "Oops", "why")


def test_assigned_variables_are_returned():
    answer = inspect_state({"Type": "Pass", "Assign": {"x": 1}, "End": True}, {}, now=T0)
    assert answer["variables"] == {"x": 1}


def test_a_path_failure_is_a_failed_result_not_an_exception():
    answer = inspect_state({"Type": "Pass", "InputPath": "$.missing", "End": True}, {}, now=T0)
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")
