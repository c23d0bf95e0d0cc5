"""Parallel and Map in the pure interpreter."""

from .harness import Run, machine


def branch(states, start=None):
    return {"StartAt": start or next(iter(states)), "States": states}


def echo_doubled(resource, payload, attempt):
    return {"output": payload * 2 if isinstance(payload, int) else payload}


PARALLEL = machine(
    {
        "Fan": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                branch(
                    {
                        "Slow": {"Type": "Wait", "Seconds": 5, "Next": "One"},
                        "One": {"Type": "Pass", "Result": 1, "End": True},
                    }
                ),
                branch({"Two": {"Type": "Task", "Resource": "r", "End": True}}),
                branch({"Three": {"Type": "Pass", "Result": 3, "End": True}}),
            ],
        },
    }
)


def test_parallel_results_keep_branch_order_whatever_finishes_first():
    run = Run(PARALLEL).finish({"x": 2})
    assert run.output == [1, {"x": 2}, 3]


def test_parallel_emits_started_and_exited_around_its_branches():
    types = Run(PARALLEL).finish({}).types()
    assert types[1:3] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert types[-2:] == ["ParallelStateExited", "ExecutionSucceeded"]


def test_a_failing_branch_fails_the_parallel_with_the_branch_error():
    run = Run(
        machine(
            {
                "Fan": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        branch({"Wait": {"Type": "Wait", "Seconds": 100, "End": True}}),
                        branch({"Boom": {"Type": "Fail", "Error": "Custom.Boom", "Cause": "c"}}),
                    ],
                }
            }
        )
    ).finish()
    assert (run.status, run.error) == ("FAILED", "Custom.Boom")
    assert "WaitStateAborted" in run.types()


def test_a_failing_branch_aborts_its_running_siblings_tasks():
    run = Run(
        machine(
            {
                "Fan": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        branch({"Long": {"Type": "Task", "Resource": "r", "End": True}}),
                        branch(
                            {
                                "Late": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
                                "Boom": {"Type": "Fail", "Error": "E"},
                            }
                        ),
                    ],
                }
            }
        )
    )
    run.start()
    task = next(c for c in run.commands if c["type"] == "run_task")
    timer = next(c for c in run.commands if c["type"] == "start_timer")
    commands = run.send({"type": "timer_fired", "key": timer["key"]})
    assert {"type": "cancel_task", "key": task["key"]} in commands
    assert "TaskStateAborted" in run.types()


def test_a_parallel_failure_can_be_caught():
    run = Run(
        machine(
            {
                "Fan": {
                    "Type": "Parallel",
                    "Next": "Done",
                    "Branches": [branch({"Boom": {"Type": "Fail", "Error": "E1", "Cause": "why"}})],
                    "Catch": [{"ErrorEquals": ["E1"], "ResultPath": "$.error", "Next": "Done"}],
                },
                "Done": {"Type": "Succeed"},
            }
        )
    ).finish({"k": 1})
    assert run.output == {"k": 1, "error": {"Error": "E1", "Cause": "why"}}


def test_a_parallel_can_be_retried_as_a_whole():
    attempts = []

    def flaky(resource, payload, attempt):
        attempts.append(attempt)
        return {"error": "Flaky"} if len(attempts) == 1 else {"output": "ok"}

    run = Run(
        machine(
            {
                "Fan": {
                    "Type": "Parallel",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1}],
                    "Branches": [branch({"T": {"Type": "Task", "Resource": "r", "End": True}})],
                }
            }
        ),
        flaky,
    ).finish()
    assert (run.status, run.output) == ("SUCCEEDED", ["ok"])


def test_map_runs_every_item_and_keeps_result_order():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
                    },
                }
            }
        ),
        echo_doubled,
    ).finish({"xs": [1, 2, 3]})
    assert run.output == [2, 4, 6]


def test_map_item_selector_sees_the_item_index_and_value():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "End": True,
                    "ItemSelector": {
                        "i.$": "$$.Map.Item.Index",
                        "v.$": "$$.Map.Item.Value",
                        "k.$": "$.k",
                    },
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            }
        )
    )
    assert run.finish({"xs": ["a", "b"], "k": 7}).output == [
        {"i": 0, "v": "a", "k": 7},
        {"i": 1, "v": "b", "k": 7},
    ]


def test_the_deprecated_iterator_and_parameters_spellings_still_work():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "Parameters": {"v.$": "$$.Map.Item.Value"},
                    "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                }
            }
        )
    )
    assert run.finish([5]).output == [{"v": 5}]


def test_max_concurrency_limits_how_many_iterations_run_at_once():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "MaxConcurrency": 2,
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
                    },
                }
            }
        )
    )
    run.start([1, 2, 3, 4])
    assert len([c for c in run.commands if c["type"] == "run_task"]) == 2


def test_an_empty_map_succeeds_with_an_empty_list():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            }
        )
    ).finish([])
    assert (run.status, run.output) == ("SUCCEEDED", [])


def test_items_that_are_not_an_array_fail_the_map():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.x",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            }
        )
    ).finish({"x": 5})
    assert (run.status, run.error) == ("FAILED", "States.Runtime")


def test_a_failing_iteration_fails_the_map_with_its_error():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "Iter.Bad"}},
                    },
                }
            }
        )
    ).finish([1])
    assert (run.error, run.types()[-3:]) == (
        "Iter.Bad",
        ["MapIterationFailed", "MapStateFailed", "ExecutionFailed"],
    )


def test_tolerated_failures_let_the_map_succeed():
    def odd_fails(resource, payload, attempt):
        return {"error": "Odd"} if payload % 2 else {"output": payload}

    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ToleratedFailureCount": 2,
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
                    },
                }
            }
        ),
        odd_fails,
    ).finish([1, 2, 3, 4])
    assert run.status == "SUCCEEDED"
    assert run.output[1::2] == [2, 4]


def test_more_failures_than_tolerated_fail_with_exceed_tolerated_failure_threshold():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ToleratedFailurePercentage": 25,
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "X"}},
                    },
                }
            }
        )
    ).finish([1, 2, 3])
    assert run.error == "States.ExceedToleratedFailureThreshold"


def test_an_item_batcher_groups_items_into_batches():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"job": "j1"}},
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                }
            }
        )
    )
    assert run.finish([1, 2, 3]).output == [
        {"Items": [1, 2], "BatchInput": {"job": "j1"}},
        {"Items": [3], "BatchInput": {"job": "j1"}},
    ]


def test_nested_map_in_parallel_gathers_results_at_every_level():
    inner = {
        "Type": "Map",
        "End": True,
        "ItemProcessor": {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
        },
    }
    run = Run(
        machine(
            {
                "Fan": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        branch({"Inner": inner}),
                        branch({"Other": {"Type": "Pass", "Result": "o", "End": True}}),
                    ],
                }
            }
        ),
        echo_doubled,
    ).finish([1, 2])
    assert run.output == [[2, 4], "o"]


def test_stopping_aborts_tasks_inside_iterations():
    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
                    },
                }
            }
        )
    )
    run.start([1, 2])
    commands = run.send({"type": "stop"})
    assert len([c for c in commands if c["type"] == "cancel_task"]) == 2
    assert run.status == "ABORTED"
