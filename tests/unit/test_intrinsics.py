import random

import pytest

from workflows.engine import intrinsics
from workflows.engine.errors import StatesError


def call(text, data=None, context=None, seed=1):
    return intrinsics.Evaluator(random.Random(seed))(text, data or {}, context or {})


def test_format_fills_placeholders_with_strings_and_json():
    assert call("States.Format('{} has {} items', $.n, $.c)", {"n": "cart", "c": 3}) == (
        "cart has 3 items"
    )


def test_format_keeps_escaped_braces_and_quotes():
    assert call("States.Format('\\{literal\\} it\\'s {}', 'x')") == "{literal} it's x"


def test_format_with_the_wrong_number_of_values_fails():
    with pytest.raises(StatesError) as info:
        call("States.Format('{} {}', 'one')")
    assert info.value.error == "States.IntrinsicFailure"


def test_nested_calls_are_evaluated_inside_out():
    assert call("States.ArrayLength(States.Array(1, 2, States.MathAdd(1, 2)))") == 3


def test_string_to_json_and_back_round_trips():
    assert call("States.StringToJson($.s)", {"s": '{"a":[1,2]}'}) == {"a": [1, 2]}
    assert call("States.JsonToString($.v)", {"v": {"a": [1, 2]}}) == '{"a":[1,2]}'


def test_array_partition_splits_into_chunks():
    assert call("States.ArrayPartition($.a, 2)", {"a": [1, 2, 3, 4, 5]}) == [[1, 2], [3, 4], [5]]


def test_array_range_includes_both_ends():
    assert call("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]


def test_array_range_refuses_more_than_a_thousand_items():
    with pytest.raises(StatesError):
        call("States.ArrayRange(1, 2000, 1)")


def test_array_contains_and_unique_compare_by_value():
    assert call("States.ArrayContains($.a, 2)", {"a": [1, 2]}) is True
    assert call("States.ArrayUnique($.a)", {"a": [1, 1, "1", 2]}) == [1, "1", 2]


def test_array_get_item_out_of_range_fails():
    with pytest.raises(StatesError):
        call("States.ArrayGetItem($.a, 5)", {"a": [1]})


def test_base64_round_trips():
    assert call("States.Base64Decode(States.Base64Encode('héllo'))") == "héllo"


def test_hash_supports_sha256():
    assert call("States.Hash('abc', 'SHA-256')").startswith("ba7816bf")


def test_json_merge_is_shallow_and_right_biased():
    data = {"a": {"x": 1, "k": {"deep": 1}}, "b": {"k": {"other": 2}}}
    assert call("States.JsonMerge($.a, $.b, false)", data) == {"x": 1, "k": {"other": 2}}


def test_string_split_uses_every_delimiter_character():
    assert call("States.StringSplit('a,b;c', ',;')") == ["a", "b", "c"]


def test_math_random_with_a_seed_is_reproducible():
    assert call("States.MathRandom(1, 100, 42)") == call("States.MathRandom(1, 100, 42)", seed=9)


def test_uuid_comes_from_the_supplied_generator():
    assert call("States.UUID()", seed=3) == call("States.UUID()", seed=3)
    assert call("States.UUID()", seed=3) != call("States.UUID()", seed=4)


def test_an_unknown_function_is_a_syntax_error():
    with pytest.raises(intrinsics.IntrinsicSyntaxError):
        intrinsics.parse("States.Nope(1)")


def test_a_wrong_arity_is_a_syntax_error():
    with pytest.raises(intrinsics.IntrinsicSyntaxError, match="takes 1 argument"):
        intrinsics.parse("States.ArrayLength(1, 2)")


def test_an_unterminated_string_is_a_syntax_error():
    with pytest.raises(intrinsics.IntrinsicSyntaxError, match="unterminated"):
        intrinsics.parse("States.Format('abc)")
