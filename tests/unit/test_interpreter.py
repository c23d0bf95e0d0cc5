from datetime import timedelta

from workflows import engine

from .harness import T0, Run, machine


def failing_then_ok(failures: int, error: str = "Boom"):
    def tasks(resource, payload, attempt):
        if attempt <= failures:
            return {"error": error, "cause": f"attempt {attempt}"}
        return {"output": {"attempt": attempt}}

    return tasks


def test_a_scheduled_task_carries_the_task_started_event_its_claim_records():
    definition = machine({"T": {"Type": "Task", "Resource": "builtin:echo", "End": True}})
    first = engine.start(definition, {"in": 1}, now=T0)
    [command] = [c for c in first.commands if c["type"] == "run_task"]
    started = engine.advance(
        definition, first.snapshot, {"type": "task_started", "key": command["key"]}, T0
    )
    [event] = started.events
    assert command["started"] == {k: v for k, v in event.items() if k != "timestamp"}
    assert command["started"]["type"] == "TaskStarted"


def test_a_pass_chain_applies_parameters_result_path_and_output_path():
    run = Run(
        machine(
            {
                "A": {
                    "Type": "Pass",
                    "Parameters": {"v.$": "$.x"},
                    "ResultPath": "$.a",
                    "Next": "B",
                },
                "B": {
                    "Type": "Pass",
                    "Result": {"k": 1},
                    "ResultPath": "$.b",
                    "OutputPath": "$.b",
                    "End": True,
                },
            }
        )
    ).finish({"x": 3})
    assert (run.status, run.output) == ("SUCCEEDED", {"k": 1})


def test_a_pass_chain_records_entered_and_exited_events_in_order():
    run = Run(machine({"A": {"Type": "Pass", "End": True}})).finish()
    assert run.types() == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_a_task_is_scheduled_as_a_command_and_waits_for_its_result():
    run = Run(machine({"T": {"Type": "Task", "Resource": "builtin:echo", "End": True}}))
    run.start({"in": 1})
    assert run.status == "RUNNING"
    [command] = [c for c in run.commands if c["type"] == "run_task"]
    assert (command["resource"], command["input"], command["attempt"]) == (
        "builtin:echo",
        {"in": 1},
        1,
    )


def test_a_task_result_goes_through_result_selector_and_result_path():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "ResultSelector": {"v.$": "$.value"},
                    "ResultPath": "$.res",
                    "End": True,
                }
            }
        ),
        tasks=lambda r, p, a: {"output": {"value": 9, "noise": 1}},
    ).finish({"in": 1})
    assert run.output == {"in": 1, "res": {"v": 9}}


def test_a_retried_task_succeeds_on_a_later_attempt_after_backoff():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [
                        {
                            "ErrorEquals": ["Boom"],
                            "IntervalSeconds": 2,
                            "BackoffRate": 3,
                            "MaxAttempts": 3,
                        }
                    ],
                }
            }
        ),
        tasks=failing_then_ok(2),
    ).finish()
    assert run.output == {"attempt": 3}
    assert run.elapsed() == timedelta(seconds=2 + 6)


def test_retry_max_delay_caps_the_backoff():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "IntervalSeconds": 10,
                            "BackoffRate": 10,
                            "MaxAttempts": 3,
                            "MaxDelaySeconds": 15,
                        }
                    ],
                }
            }
        ),
        tasks=failing_then_ok(3),
    ).finish()
    assert run.elapsed() == timedelta(seconds=10 + 15 + 15)


def test_max_attempts_zero_never_retries():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                }
            }
        ),
        tasks=failing_then_ok(1),
    ).finish()
    assert (run.status, run.error) == ("FAILED", "Boom")


def test_an_exhausted_retrier_falls_through_to_catch():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handled"}],
                },
                "Handled": {"Type": "Pass", "End": True},
            }
        ),
        tasks=failing_then_ok(5),
    ).finish({"order": 1})
    assert run.output == {"order": 1, "err": {"Error": "Boom", "Cause": "attempt 2"}}


def test_a_caught_failure_marks_the_state_caught():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                },
                "H": {"Type": "Succeed"},
            }
        ),
        tasks=failing_then_ok(1),
    ).finish()
    exited = [e for e in run.events if e["type"] == "TaskStateExited"][0]
    assert exited["status"] == "caught"


def test_states_task_failed_does_not_catch_a_timeout():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "TimeoutSeconds": 5,
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}],
                },
                "H": {"Type": "Succeed"},
            }
        )
    )
    run.start()
    [timer] = [c for c in run.commands if c["type"] == "start_timer"]
    run.send({"type": "timer_fired", "key": timer["key"]})
    assert (run.status, run.error) == ("FAILED", "States.Timeout")


def test_a_task_timeout_cancels_the_running_attempt():
    run = Run(machine({"T": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "End": True}}))
    run.start()
    task = next(c for c in run.commands if c["type"] == "run_task")
    timer = next(c for c in run.commands if c["type"] == "start_timer")
    commands = run.send({"type": "timer_fired", "key": timer["key"]})
    assert {"type": "cancel_task", "key": task["key"]} in commands


def test_a_huge_timeout_seconds_path_fails_the_execution_instead_of_crashing():
    # 1e20 seconds used to overflow the timer's datetime inside the interpreter.
    state = {"Type": "Task", "Resource": "r", "TimeoutSecondsPath": "$.t", "End": True}
    run = Run(machine({"T": state})).finish({"t": 10**20})
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert run.snapshot["cause"].endswith(
        "TimeoutSeconds must be a positive number of at most 99999999, got 100000000000000000000"
    )


def test_a_huge_heartbeat_seconds_path_fails_the_execution_instead_of_crashing():
    state = {"Type": "Task", "Resource": "r", "HeartbeatSecondsPath": "$.h", "End": True}
    run = Run(machine({"T": state})).finish({"h": 1e300})
    assert (run.status, run.error) == ("FAILED", "States.Runtime")


def test_a_result_for_a_task_no_longer_awaited_is_ignored():
    run = Run(machine({"T": {"Type": "Task", "Resource": "r", "End": True}}))
    run.start()
    before = list(run.events)
    commands = run.send({"type": "task_succeeded", "key": "t999", "output": {}})
    assert (commands, run.events, run.status) == ([], before, "RUNNING")


def test_a_duplicate_result_changes_nothing_the_second_time():
    run = Run(
        machine(
            {
                "T": {"Type": "Task", "Resource": "r", "Next": "W"},
                "W": {"Type": "Wait", "Seconds": 5, "End": True},
            }
        )
    )
    run.start()
    key = next(c for c in run.commands if c["type"] == "run_task")["key"]
    run.send({"type": "task_succeeded", "key": key, "output": {}})
    count = len(run.events)
    run.send({"type": "task_succeeded", "key": key, "output": {}})
    assert len(run.events) == count


def test_choice_takes_the_first_matching_rule():
    definition = machine(
        {
            "C": {
                "Type": "Choice",
                "Default": "Low",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "High"},
                    {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Mid"},
                ],
            },
            "High": {"Type": "Pass", "Result": "high", "End": True},
            "Mid": {"Type": "Pass", "Result": "mid", "End": True},
            "Low": {"Type": "Pass", "Result": "low", "End": True},
        }
    )
    assert Run(definition).finish({"n": 20}).output == "high"
    assert Run(definition).finish({"n": 7}).output == "mid"
    assert Run(definition).finish({"n": 1}).output == "low"


def test_choice_without_a_match_or_default_fails_with_no_choice_matched():
    run = Run(
        machine(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}],
                },
                "X": {"Type": "Succeed"},
            }
        )
    ).finish({"n": 2})
    assert (run.status, run.error) == ("FAILED", "States.NoChoiceMatched")


def test_a_wait_of_seconds_starts_a_durable_timer():
    run = Run(machine({"W": {"Type": "Wait", "Seconds": 30, "End": True}}))
    run.start()
    [timer] = [c for c in run.commands if c["type"] == "start_timer"]
    assert engine.parse_iso(timer["fire_at"]) == T0 + timedelta(seconds=30)


def test_a_wait_until_a_past_timestamp_continues_inline():
    run = Run(
        machine({"W": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "End": True}})
    ).start({"x": 1})
    assert (run.status, run.output) == ("SUCCEEDED", {"x": 1})


def test_a_wait_seconds_path_reads_the_duration_from_the_input():
    run = Run(machine({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}})).finish({"s": 12})
    assert run.elapsed() == timedelta(seconds=12)


def test_fail_state_reports_its_error_and_cause():
    run = Run(machine({"F": {"Type": "Fail", "Error": "Custom.Bad", "Cause": "why"}})).finish()
    assert (run.status, run.error, run.snapshot["cause"]) == ("FAILED", "Custom.Bad", "why")


def test_fail_state_error_path_reads_from_the_input():
    run = Run(machine({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}})).finish(
        {"e": "E1", "c": "C1"}
    )
    assert (run.error, run.snapshot["cause"]) == ("E1", "C1")


def test_a_missing_parameters_path_in_a_pass_state_is_a_runtime_error():
    # As Step Functions records it: only a Task's Parameters raise the catchable
    # States.ParameterPathFailure (tests/conformance/cases/paths/missing-paths.json).
    run = Run(
        machine({"P": {"Type": "Pass", "Parameters": {"v.$": "$.missing"}, "End": True}})
    ).finish({})
    assert (run.status, run.error) == ("FAILED", "States.Runtime")


def test_a_result_path_failure_in_a_task_can_be_caught():
    run = Run(
        machine(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "ResultPath": "$.a.b",
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "H"}],
                },
                "H": {"Type": "Pass", "End": True},
            }
        )
    ).finish({"a": "not an object"})
    assert run.output["Error"] == "States.ResultPathMatchFailure"


def test_stop_aborts_the_execution_and_cancels_its_task():
    run = Run(machine({"T": {"Type": "Task", "Resource": "r", "End": True}}))
    run.start()
    key = next(c for c in run.commands if c["type"] == "run_task")["key"]
    commands = run.send({"type": "stop", "error": "Op.Stop", "cause": "by hand"})
    assert run.status == "ABORTED"
    assert {"type": "cancel_task", "key": key} in commands
    assert run.types()[-2:] == ["TaskStateAborted", "ExecutionAborted"]


def test_execution_timeout_times_the_execution_out():
    run = Run(
        machine({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10)
    ).finish()
    assert (run.status, run.error) == ("TIMED_OUT", "States.Timeout")
    assert run.elapsed() == timedelta(seconds=10)


def test_events_after_the_end_change_nothing():
    run = Run(machine({"A": {"Type": "Pass", "End": True}})).finish()
    assert run.send({"type": "stop"}) == []
    assert run.status == "SUCCEEDED"


def test_the_context_object_exposes_execution_and_state_fields():
    run = Run(
        machine(
            {
                "A": {
                    "Type": "Pass",
                    "Parameters": {
                        "name.$": "$$.Execution.Name",
                        "state.$": "$$.State.Name",
                        "machine.$": "$$.StateMachine.Name",
                        "input.$": "$$.Execution.Input",
                    },
                    "End": True,
                }
            }
        )
    )
    assert run.finish({"x": 1}).output == {
        "name": "test",
        "state": "A",
        "machine": "machine",
        "input": {"x": 1},
    }


def test_start_at_another_state_re_runs_from_there():
    definition = machine(
        {
            "A": {"Type": "Pass", "Result": "a", "Next": "B"},
            "B": {"Type": "Pass", "Result": "b", "End": True},
        }
    )
    step = engine.start(definition, {}, now=T0, start_at="B")
    assert step.snapshot["output"] == "b"


def test_an_event_that_changes_nothing_is_marked_stale():
    run = Run(machine({"T": {"Type": "Task", "Resource": "r", "End": True}}))
    run.start()
    step = engine.advance(
        run.definition, run.snapshot, {"type": "task_succeeded", "key": "t9"}, run.now
    )
    assert step.stale


def test_an_event_that_only_changes_the_snapshot_is_not_stale():
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
    first = next(c for c in run.commands if c["type"] == "run_task")
    step = engine.advance(
        run.definition,
        run.snapshot,
        {"type": "task_succeeded", "key": first["key"], "output": 1},
        run.now,
    )
    assert not step.stale


def test_a_redrive_enters_the_failed_state_again_with_its_input():
    def fails_once(resource, payload, attempt, calls=[]):  # noqa: B006 - counts calls
        calls.append(payload)
        return {"error": "Flaky"} if len(calls) == 1 else {"output": "ok"}

    run = Run(
        machine(
            {
                "A": {"Type": "Pass", "Result": {"x": 1}, "Next": "T"},
                "T": {"Type": "Task", "Resource": "r", "End": True},
            }
        ),
        fails_once,
    )
    run.finish({})
    assert run.status == "FAILED"
    run.send({"type": "redrive"})
    task = [c for c in run.commands if c["type"] == "run_task"][-1]
    run.send({"type": "task_succeeded", "key": task["key"], "output": "ok"})
    assert (run.status, run.output) == ("SUCCEEDED", "ok")
    assert run.types().count("PassStateEntered") == 1
    assert "ExecutionRedriven" in run.types()


def test_a_redriven_map_runs_only_the_iterations_that_did_not_succeed():
    seen = []

    def odd_fails_first_time(resource, payload, attempt):
        seen.append(payload)
        if payload % 2 and seen.count(payload) == 1:
            return {"error": "Odd"}
        return {"output": payload * 10}

    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "MaxConcurrency": 1,
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "r", "End": True}},
                    },
                }
            }
        ),
        odd_fails_first_time,
    )
    run.finish([2, 3, 4])
    assert run.status == "FAILED"
    run.send({"type": "redrive"})
    while run.status == "RUNNING":
        task = [c for c in run.commands if c["type"] == "run_task"][-1]
        result = odd_fails_first_time(None, task["input"], 1)
        run.send({"type": "task_succeeded", "key": task["key"], **result})
    assert run.output == [20, 30, 40]
    assert seen.count(2) == 1


def test_a_succeeded_execution_cannot_be_redriven():
    run = Run(machine({"A": {"Type": "Pass", "End": True}})).finish()
    step = engine.advance(run.definition, run.snapshot, {"type": "redrive"}, run.now)
    assert step.stale


def test_a_loop_of_states_that_never_waits_fails_at_the_history_limit():
    run = Run(
        machine(
            {
                "A": {"Type": "Pass", "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Default": "A",
                    "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "End"}],
                },
                "End": {"Type": "Succeed"},
            }
        )
    ).finish({"stop": False})
    assert (run.status, run.error) == ("FAILED", "Legato.HistoryLimitExceeded")
