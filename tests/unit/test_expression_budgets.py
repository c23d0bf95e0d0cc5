"""Every evaluation of a user expression has a budget: time, nesting, bytes built.

Each attack here hung the process, or took gigabytes, before the budgets existed.
"""

from __future__ import annotations

import random
import re
import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.engine import budget, validate
from workflows.engine.choice import string_matches
from workflows.engine.errors import StatesError
from workflows.engine.intrinsics import Evaluator as Intrinsics
from workflows.engine.jsonata import Evaluator

from .harness import Run, machine


@pytest.fixture
def limits():
    """Change the process's expression limits for one test."""
    before = budget.limits()
    yield budget.configure
    budget.configure(**vars(before))


def evaluate(expression: str, data=None):
    evaluator = Evaluator(datetime(2026, 1, 1, tzinfo=UTC), random.Random(1))
    return evaluator.evaluate("{% " + expression + " %}", {"input": data or {}}, {})


def failure(expression: str, data=None) -> str:
    with pytest.raises(StatesError) as caught:
        evaluate(expression, data)
    assert caught.value.error == "States.QueryEvaluationError"
    return caught.value.cause


def test_a_function_that_calls_itself_forever_is_stopped_by_the_time_budget(limits):
    limits(timeout_ms=200)
    assert "time budget of 200 ms" in failure("($f := function($x){ $f($x) }; $f(1))")


def test_recursion_without_end_is_stopped_by_the_depth_budget():
    cause = failure("($f := function($x){ 1 + $f($x) }; $f(1))")
    assert "recursion depth budget" in cause


def test_the_depth_budget_comes_from_the_configuration(limits):
    limits(max_depth=5)
    expression = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(10))"
    assert "more than 5 function calls" in failure(expression)


def test_recursion_within_the_depth_budget_still_works():
    assert evaluate("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50))") == 50


def test_range_of_a_billion_numbers_is_refused_before_it_is_built():
    assert "more than 1000 items" in failure("$range(0, 1e9, 1)")


def test_pad_to_a_billion_characters_is_refused_before_it_is_built():
    assert "allocation budget" in failure('$pad("x", 1e9)')


def test_a_range_operator_over_ten_million_numbers_is_refused():
    assert "allocation budget" in failure("$count([0..9999999])")


def test_joining_many_large_strings_is_refused_by_the_allocation_budget():
    assert "allocation budget" in failure('$join([1..10000].$pad("", 10000), ",")')


def test_replacing_with_a_large_text_everywhere_is_refused_before_it_runs():
    expression = '$replace($pad("", 100000, "a"), "a", $pad("", 100000, "b"))'
    assert "allocation budget" in failure(expression)


def test_a_date_picture_asking_for_a_huge_width_is_refused():
    assert "picture width of 100000000" in failure('$fromMillis(0, "[Y,100000000]")')


def test_the_allocation_budget_comes_from_the_configuration(limits):
    limits(max_bytes=1000)
    assert "more than 1000 bytes" in failure('$pad("x", 2000)')


def test_a_loop_inside_a_builtin_is_interrupted_by_the_watchdog(limits):
    limits(timeout_ms=200)
    assert "time budget" in failure("$count($spread([1..100000]))")


def test_an_interrupted_evaluation_leaves_the_thread_usable(limits):
    limits(timeout_ms=100)
    for _ in range(3):
        failure("$count($spread([1..100000]))")
    assert evaluate("1 + 1") == 2


def test_catastrophic_backtracking_pattern_in_match_is_answered_at_once():
    data = {"s": "a" * 5000 + "!"}
    assert evaluate("$count($match($states.input.s, /(a+)+$/))", data) == 0


def test_a_regex_feature_re2_lacks_is_a_validation_error_that_says_so():
    definition = machine(
        {"A": {"Type": "Pass", "Output": '{% $match("ab", /(?<=a)b/) %}', "End": True}},
        QueryLanguage="JSONata",
    )
    result = validate(definition)
    assert not result.valid
    assert any("RE2" in d.message for d in result.diagnostics)


def test_regex_replacement_groups_work_on_re2():
    assert evaluate('$replace("abcb", /(b)/, "[$1]")') == "a[b]c[b]"


def test_a_case_insensitive_regex_works_on_re2():
    assert evaluate('$contains("HELLO", /hel/i)') is True


def test_an_unexpected_library_error_is_a_query_evaluation_error():
    assert "error occurred" in failure("$formatBase(1e300, 2)")


def test_a_budget_exceeded_in_an_execution_fails_it_with_query_evaluation_error(limits):
    limits(timeout_ms=100)
    definition = machine(
        {"A": {"Type": "Pass", "Output": "{% ($f := function(){ $f() }; $f()) %}", "End": True}},
        QueryLanguage="JSONata",
    )
    run = Run(definition).finish({})
    assert (run.status, run.error) == ("FAILED", "States.QueryEvaluationError")


def test_string_matches_with_many_stars_on_a_long_run_is_answered():
    assert not string_matches("a" * 100_000, "*a*a*a*a*a*a*b")


def _reference_glob(value: str, pattern: str) -> bool:
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


@given(st.text("ab*\\", max_size=8), st.text("ab*", max_size=10))
def test_string_matches_agrees_with_a_regular_expression_glob(pattern, value):
    assert string_matches(value, pattern) == _reference_glob(value, pattern)


def test_array_unique_of_fifty_thousand_distinct_numbers_is_linear():
    result = Intrinsics(random.Random(1))("States.ArrayUnique($.a)", {"a": list(range(50_000))}, {})
    assert len(result) == 50_000


def test_array_unique_treats_one_and_one_point_zero_alike_but_not_true():
    data = {"a": [1, 1.0, True, {"x": 1}, {"x": 1.0}, {"x": True}]}
    result = Intrinsics(random.Random(1))("States.ArrayUnique($.a)", data, {})
    assert result == [1, True, {"x": 1}, {"x": True}]


def _peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_template_repeating_a_large_value_is_refused_before_it_is_serialised():
    params = {f"k{i}.$": "$.big" for i in range(2000)}
    definition = machine({"A": {"Type": "Pass", "Parameters": params, "End": True}})
    runs = []
    peak = _peak_bytes(lambda: runs.append(Run(definition).finish({"big": "x" * 100_000})))
    assert runs[0].error == "States.DataLimitExceeded"
    assert peak < 20_000_000  # 2,000 copies of the value as JSON would be 200 MB


def test_a_jsonata_result_repeating_a_large_value_is_refused():
    output = "{% $map([1..1000], function($v){ $states.input.big }) %}"
    definition = machine(
        {"A": {"Type": "Pass", "Output": output, "End": True}}, QueryLanguage="JSONata"
    )
    runs = []
    peak = _peak_bytes(lambda: runs.append(Run(definition).finish({"big": "x" * 100_000})))
    assert runs[0].error == "States.DataLimitExceeded"
    assert peak < 20_000_000  # 1,000 copies of the value as JSON would be 100 MB


def test_printing_a_repeated_large_value_in_an_intrinsic_is_refused(limits):
    limits(max_bytes=1_000_000)
    call = "States.JsonToString(States.Array(" + ", ".join(["$.big"] * 500) + "))"
    with pytest.raises(StatesError) as caught:
        Intrinsics(random.Random(1))(call, {"big": "x" * 100_000}, {})
    assert "allocation budget" in caught.value.cause


def test_a_task_input_over_the_payload_limit_fails_the_execution():
    params = {"a.$": "$.big", "b.$": "$.big", "c.$": "$.big"}
    definition = machine(
        {"T": {"Type": "Task", "Resource": "x", "Parameters": params, "End": True}}
    )
    run = Run(definition, tasks=_never_called).finish({"big": "x" * 100_000})
    assert (run.status, run.error) == ("FAILED", "States.DataLimitExceeded")


def _never_called(resource, payload, attempt):
    raise AssertionError("a task whose input is over the limit must not be run")


# --- found by a review: work done where no hook runs -------------------------------------


def test_a_date_picture_with_a_huge_maximum_width_is_refused_at_once():
    assert "picture width of 99999999" in failure('$fromMillis(0, "[Y,*-99999999]")')


def test_a_date_picture_whose_literal_text_is_regex_syntax_is_refused():
    timestamp = '"2020' + "a" * 28 + '!"'
    assert "literal text" in failure(f'$toMillis({timestamp}, "[Y](a+)+b")')


def test_to_millis_with_a_picture_still_reads_a_date():
    assert evaluate('$toMillis("2020-01-02", "[Y0001]-[M01]-[D01]")') == 1577923200000


def test_to_millis_with_a_picture_that_does_not_match_is_undefined():
    assert evaluate('$exists($toMillis("2020-01-02", "[Y0001]/[M01]/[D01]"))') is False


def test_a_number_format_option_of_more_than_one_character_is_refused():
    picture = '"0' + "x" * 26 + '"'
    options = '{"grouping-separator": "]|(x+)+y|["}'
    assert "one character" in failure(f"$formatNumber(1, {picture}, {options})")


DOUBLING = '$reduce([1..30], function($a, $i){ {"a": $a, "b": $a} }, {"x": "ab"})'


def test_printing_a_value_that_shares_its_parts_is_refused_by_the_allocation_budget():
    assert "allocation budget" in failure(f"$length($string({DOUBLING}))")


def test_joining_text_to_a_value_that_shares_its_parts_is_refused():
    assert "allocation budget" in failure(f'$length("x" & {DOUBLING})')


def test_transforming_a_value_that_shares_its_parts_is_refused():
    assert "allocation budget" in failure(f'$count($keys({DOUBLING} ~> |$|{{"y": 1}}|))')


def test_a_result_that_shares_its_parts_is_refused_before_it_is_copied():
    with pytest.raises(StatesError) as caught:
        evaluate(DOUBLING)
    assert caught.value.error == "States.DataLimitExceeded"


def test_a_result_nested_thousands_deep_is_a_query_evaluation_error():
    cause = failure('$reduce([1..20000], function($acc, $i){ {"a": $acc} }, {})')
    assert "nested more than 200 levels" in cause


def test_the_expressions_of_one_step_share_a_time_budget(limits):
    limits(timeout_ms=10_000, step_timeout_ms=200)
    slow = "{% $count([1..20000].($ * 2)) %}"
    definition = machine(
        {"A": {"Type": "Pass", "Output": {f"k{i}": slow for i in range(40)}, "End": True}},
        QueryLanguage="JSONata",
    )
    run = Run(definition).finish({})
    assert (run.status, run.error) == ("FAILED", "States.QueryEvaluationError")
    assert "LEGATO_EXPRESSION_STEP_TIMEOUT_MS" in run.snapshot["cause"]


def test_comparing_many_copies_of_a_large_value_in_an_intrinsic_is_refused(limits):
    limits(max_bytes=1_000_000)
    call = "States.ArrayUnique(States.Array(" + ", ".join(["$.big"] * 200) + "))"
    with pytest.raises(StatesError) as caught:
        Intrinsics(random.Random(1))(call, {"big": "x" * 100_000}, {})
    assert "allocation budget" in caught.value.cause


def test_a_child_forked_while_the_watchdog_is_busy_can_evaluate():
    import os

    with budget._watchdog._lock:  # as if its thread held it at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: its first evaluation must not wait for that lock
            os._exit(0 if evaluate("1 + 1") == 2 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_map_whose_iterations_share_one_large_value_stops_at_the_step_data_limit():
    iteration = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"big.$": "$.big"},
        "ItemProcessor": iteration,
        "End": True,
    }
    runs = []
    data = {"big": "x" * 100_000, "items": [0] * 10_000}
    peak = _peak_bytes(lambda: runs.append(Run(machine({"M": state})).finish(data)))
    assert runs[0].error == "Legato.StepDataLimitExceeded"
    assert peak < 500_000_000  # the 10,000 inputs in the history alone would be 1 GB


def test_a_loop_of_pass_states_carrying_a_large_document_stops_at_the_step_data_limit():
    loop = {
        "Again": {"Type": "Pass", "Next": "Again"},
    }
    run = Run(machine(loop)).finish({"document": "x" * 200_000})
    assert run.error == "Legato.StepDataLimitExceeded"
    assert len(run.events) < 1000  # the history limit (25,000 events) would be 5 GB here


def test_gathered_results_over_the_payload_limit_are_refused():
    iteration = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"big.$": "$.big"},
        "ItemProcessor": iteration,
        "End": True,
    }
    run = Run(machine({"M": state})).finish({"big": "x" * 100_000, "items": [1, 2, 3]})
    assert run.error == "States.DataLimitExceeded"
