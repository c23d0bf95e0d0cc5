"""Workflow variables (Assign) and JSONata mode."""

import time

from .harness import Run, machine


def test_assign_stores_a_value_for_later_states():
    run = Run(
        machine(
            {
                "A": {
                    "Type": "Pass",
                    "Result": {"v": 5},
                    "Assign": {"saved.$": "$.v", "n": 1},
                    "Next": "B",
                },
                "B": {"Type": "Pass", "Parameters": {"s.$": "$saved", "n.$": "$n"}, "End": True},
            }
        )
    ).finish({})
    assert run.output == {"s": 5, "n": 1}


def test_assignments_in_one_state_see_the_values_from_before_it():
    run = Run(
        machine(
            {
                "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
                "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Show"},
                "Show": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": True},
            }
        )
    ).finish({})
    assert run.output == {"x": 2, "y": 1}


def test_a_task_assign_reads_the_task_result():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "Assign": {"got.$": "$.answer"},
                    "ResultPath": None,
                    "Next": "Show",
                },
                "Show": {"Type": "Pass", "Parameters": {"got.$": "$got"}, "End": True},
            }
        ),
        tasks=lambda r, p, a: {"output": {"answer": 42}},
    ).finish({})
    assert run.output == {"got": 42}


def test_a_branch_reads_outer_variables():
    run = Run(
        machine(
            {
                "Set": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "Fan"},
                "Fan": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {
                            "StartAt": "Read",
                            "States": {
                                "Read": {
                                    "Type": "Pass",
                                    "Parameters": {"v.$": "$outer"},
                                    "End": True,
                                }
                            },
                        }
                    ],
                },
            }
        )
    ).finish({})
    assert run.output == [{"v": "o"}]


def test_an_undefined_variable_fails_the_execution():
    run = Run(machine({"A": {"Type": "Pass", "Parameters": {"v.$": "$nope"}, "End": True}}))
    assert run.finish({}).status == "FAILED"


def test_assigned_variables_are_recorded_on_the_exit_event():
    run = Run(machine({"A": {"Type": "Pass", "Assign": {"k": {"a": 1}}, "End": True}})).finish()
    exited = next(e for e in run.events if e["type"] == "PassStateExited")
    assert exited["details"]["assignedVariables"] == {"k": '{"a":1}'}


JSONATA = {
    "QueryLanguage": "JSONata",
    "StartAt": "Sum",
    "States": {
        "Sum": {
            "Type": "Pass",
            "Assign": {"total": "{% $sum($states.input.n) %}"},
            "Output": {"first": "{% $states.input.n[0] %}"},
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Default": "Small",
            "Choices": [{"Condition": "{% $total > 5 %}", "Next": "Big"}],
        },
        "Big": {
            "Type": "Task",
            "Resource": "r",
            "Arguments": {"x": "{% $total * 2 %}"},
            "Output": "{% $states.result.x %}",
            "End": True,
        },
        "Small": {"Type": "Succeed"},
    },
}


def test_jsonata_arguments_output_assign_and_condition_work_together():
    assert Run(JSONATA).finish({"n": [1, 2, 3]}).output == 12


def test_a_jsonata_choice_without_a_match_takes_the_default():
    assert Run(JSONATA).finish({"n": [1]}).output == {"first": 1}


def test_a_jsonata_evaluation_error_fails_with_query_evaluation_error():
    run = Run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True}},
        }
    ).finish({})
    assert (run.status, run.error) == ("FAILED", "States.QueryEvaluationError")
    assert "EvaluationFailed" in run.types()


def test_a_jsonata_catch_output_sees_the_error_output():
    run = Run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Next": "H",
                            "Output": {"e": "{% $states.errorOutput.Error %}"},
                        }
                    ],
                },
                "H": {"Type": "Pass", "End": True},
            },
        },
        tasks=lambda r, p, a: {"error": "Bad", "cause": "c"},
    ).finish({})
    assert run.output == {"e": "Bad"}


def test_jsonata_map_items_and_item_selector():
    run = Run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input.xs %}",
                    "End": True,
                    "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            },
        }
    )
    assert run.finish({"xs": [1, 2]}).output == [{"v": 10}, {"v": 20}]


def test_jsonata_now_is_the_interpreter_clock_not_the_machine_clock():
    run = Run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Output": "{% $now() %}", "End": True}},
        }
    ).finish({})
    assert run.output == "2026-01-01T12:00:00.000Z"


def test_a_state_can_opt_into_jsonata_inside_a_jsonpath_machine():
    run = Run(
        machine(
            {
                "A": {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Output": "{% $states.input.a + 1 %}",
                    "End": True,
                }
            }
        )
    ).finish({"a": 1})
    assert run.output == 2


def test_a_huge_range_is_refused_before_it_is_built():
    # $range(0, 10^12, 1) used to build the list first: a MemoryError escaped the engine.
    started = time.perf_counter()
    run = Run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Output": "{% $range(0, 1000000000000, 1) %}", "End": True}
            },
        }
    ).finish({})
    assert (run.status, run.error) == ("FAILED", "States.QueryEvaluationError")
    assert time.perf_counter() - started < 0.5
