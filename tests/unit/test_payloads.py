"""The storable-JSON check every value from outside goes through (engine/payloads.py)."""

from __future__ import annotations

import json

import pytest

from workflows.engine import payloads
from workflows.engine.payloads import Unstorable


def nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_a_value_nested_to_the_limit_is_storable():
    assert payloads.problem(nested(100), max_depth=100) is None
    assert payloads.dumps(nested(100), max_depth=100) == "[" * 100 + "1" + "]" * 100


def test_a_value_nested_one_level_too_deep_is_refused_where_it_gets_too_deep():
    found = payloads.problem({"a": nested(3)}, max_depth=3)
    assert found.pointer == "/a/0/0"
    assert "nested more than 3 levels deep" in found.message


def test_a_value_nested_far_beyond_the_recursion_limit_is_checked_without_recursing():
    deep = nested(50_000)
    assert payloads.problem(deep, max_depth=100).pointer == "/0" * 100
    with pytest.raises(Unstorable):
        payloads.dumps(deep, max_depth=100)


def test_a_lone_surrogate_is_refused_with_its_pointer():
    found = payloads.problem({"x": ["ok", "a\ud800b"]})
    assert (found.pointer, "lone UTF-16 surrogate" in found.message) == ("/x/1", True)


def test_a_lone_surrogate_in_a_key_is_refused():
    assert payloads.problem({"k\udfff": 1}).pointer == "/k\\udfff"  # printable


def test_a_surrogate_pair_decoded_from_json_is_ordinary_text():
    value = json.loads('{"emoji": "\\ud83d\\ude00"}')
    assert payloads.problem(value) is None
    assert payloads.dumps(value) == '{"emoji":"\U0001f600"}'


def test_dumps_names_the_lone_surrogate_it_cannot_encode():
    with pytest.raises(Unstorable) as caught:
        payloads.dumps({"x": "\ud800"})
    assert caught.value.pointer == "/x"


def test_a_nul_character_is_refused_but_an_escaped_backslash_u0000_is_text():
    with pytest.raises(Unstorable) as caught:
        payloads.dumps({"a": "x\x00"})
    assert caught.value.pointer == "/a"
    assert payloads.dumps({"a": "\\u0000", "b": "\\\\u0000"}) == (
        '{"a":"\\\\u0000","b":"\\\\\\\\u0000"}'
    )


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_the_infinities_are_not_json_numbers(number):
    with pytest.raises(Unstorable) as caught:
        payloads.dumps({"n": [number]})
    assert caught.value.pointer == "/n/0"


def test_brackets_inside_strings_do_not_count_as_depth():
    value = {"text": "[[[[[[[[[[{{{{{{{{{{" * 10, "escaped": '\\"[[[['}
    assert payloads.dumps(value, max_depth=1)


def test_problems_are_reported_in_document_order():
    value = {"a": "\x00", "b": ["\ud800", float("nan")]}
    assert [p.pointer for p in payloads.problems(value)] == ["/a", "/b/0", "/b/1"]


def test_pointers_escape_slash_and_tilde():
    assert payloads.problem({"a/b": {"c~d": "\x00"}}).pointer == "/a~1b/c~0d"


def test_an_envelope_does_not_count_towards_the_depth():
    assert payloads.problem({"input": nested(3)}, max_depth=3, envelope=True) is None
    found = payloads.problem({"input": nested(4)}, max_depth=3, envelope=True)
    assert found.pointer == "/input/0/0/0"
