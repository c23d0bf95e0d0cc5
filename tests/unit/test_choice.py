import pytest

from workflows.engine.choice import evaluate, string_matches
from workflows.engine.errors import StatesError


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.n", "NumericEquals": 5}, True),
        ({"Variable": "$.n", "NumericLessThan": 5}, False),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 5}, True),
        ({"Variable": "$.s", "StringEquals": "abc"}, True),
        ({"Variable": "$.s", "StringLessThan": "abd"}, True),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.t", "TimestampLessThan": "2026-01-02T00:00:00Z"}, True),
        ({"Variable": "$.n", "NumericEqualsPath": "$.m"}, True),
    ],
)
def test_comparison_operators_compare_values_of_their_own_type(rule, expected):
    data = {"n": 5, "m": 5, "s": "abc", "b": True, "t": "2026-01-01T00:00:00Z"}
    assert evaluate(rule, data) is expected


def test_a_type_mismatch_evaluates_to_false_not_an_error():
    assert evaluate({"Variable": "$.s", "NumericEquals": 5}, {"s": "5"}) is False


def test_a_boolean_is_not_a_number_for_numeric_comparisons():
    assert evaluate({"Variable": "$.b", "NumericEquals": 1}, {"b": True}) is False


def test_a_missing_variable_is_a_runtime_error_not_a_mismatch():
    with pytest.raises(StatesError) as info:
        evaluate({"Variable": "$.missing", "StringEquals": "x"}, {})
    assert info.value.error == "States.Runtime"


def test_is_present_false_matches_a_missing_variable():
    assert evaluate({"Variable": "$.missing", "IsPresent": False}, {}) is True


def test_is_null_is_true_for_an_explicit_null():
    assert evaluate({"Variable": "$.v", "IsNull": True}, {"v": None}) is True


def test_is_timestamp_requires_rfc3339_with_a_zone():
    assert evaluate({"Variable": "$.v", "IsTimestamp": True}, {"v": "2026-01-01T00:00:00Z"})
    assert not evaluate({"Variable": "$.v", "IsTimestamp": True}, {"v": "2026-01-01 00:00"})


def test_and_or_not_combine_rules():
    rule = {
        "And": [
            {"Variable": "$.n", "NumericGreaterThan": 1},
            {"Not": {"Variable": "$.s", "StringEquals": "no"}},
            {
                "Or": [
                    {"Variable": "$.x", "IsPresent": True},
                    {"Variable": "$.n", "NumericEquals": 2},
                ]
            },
        ]
    }
    assert evaluate(rule, {"n": 2, "s": "yes"}) is True


def test_string_matches_treats_star_as_a_wildcard():
    assert string_matches("log-2026.txt", "log-*.txt")


def test_string_matches_honours_an_escaped_star():
    assert string_matches("a*b", "a\\*b")
    assert not string_matches("axb", "a\\*b")
