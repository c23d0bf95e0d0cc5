import pytest

from workflows.engine import paths
from workflows.engine.errors import StatesError

DATA = {"a": {"b": [10, 20, {"c": "x"}]}, "list": [{"n": 1}, {"n": 2}], "odd key": 5}


def test_a_dotted_path_selects_a_nested_value():
    assert paths.select("$.a.b[2].c", DATA) == "x"


def test_bracket_notation_selects_keys_with_spaces():
    assert paths.select("$['odd key']", DATA) == 5


def test_a_wildcard_path_selects_a_list_of_matches():
    assert paths.select("$.list[*].n", DATA) == [1, 2]


def test_a_filter_expression_falls_back_to_the_extended_parser():
    assert paths.select("$.list[?(@.n > 1)]", DATA) == [{"n": 2}]


def test_a_missing_field_raises_the_requested_error():
    with pytest.raises(StatesError) as info:
        paths.select("$.nope", DATA, error="States.ParameterPathFailure")
    assert info.value.error == "States.ParameterPathFailure"


def test_a_null_path_selects_an_empty_object():
    assert paths.select(None, DATA) == {}


def test_a_context_path_reads_the_context_object():
    assert paths.select("$$.Execution.Name", {}, {"Execution": {"Name": "run-1"}}) == "run-1"


def test_result_path_creates_missing_objects_on_the_way():
    assert paths.set_result("$.x.y.z", {"keep": 1}, 5) == {"keep": 1, "x": {"y": {"z": 5}}}


def test_result_path_does_not_modify_the_original_input():
    original = {"x": {"y": 1}}
    paths.set_result("$.x.z", original, 2)
    assert original == {"x": {"y": 1}}


def test_result_path_through_a_non_object_is_a_match_failure():
    with pytest.raises(StatesError) as info:
        paths.set_result("$.a.b", {"a": "text"}, 1)
    assert info.value.error == "States.ResultPathMatchFailure"


def test_a_null_result_path_discards_the_result():
    assert paths.set_result(None, {"in": 1}, {"out": 2}) == {"in": 1}


def test_a_dollar_result_path_replaces_the_input():
    assert paths.set_result("$", {"in": 1}, {"out": 2}) == {"out": 2}


def test_a_template_resolves_dollar_suffixed_keys_and_keeps_literals():
    template = {"id.$": "$.a.b[0]", "fixed": "$.not.a.path", "nested": {"n.$": "$.list[1].n"}}
    assert paths.apply_template(template, DATA, {}) == {
        "id": 10,
        "fixed": "$.not.a.path",
        "nested": {"n": 2},
    }


def test_a_template_path_that_matches_nothing_is_a_parameter_path_failure():
    with pytest.raises(StatesError) as info:
        paths.apply_template({"v.$": "$.missing"}, DATA, {})
    assert info.value.error == "States.ParameterPathFailure"


def test_a_path_without_a_leading_dollar_is_rejected():
    with pytest.raises(paths.PathSyntaxError):
        paths.compile_path("a.b")


def test_a_cause_quotes_a_lone_surrogate_escaped_so_it_can_be_stored():
    # A JSONata string can hold one ("\ud800"); UTF-8 (and the database) cannot.
    assert paths.compact({"a": "\ud800é"}) == '{"a":"\\ud800\\u00e9"}'
    assert paths.shown("\ud800") == '"\\ud800"'
    assert paths.compact({"a": "é"}) == '{"a":"é"}'


def test_a_missing_context_path_does_not_quote_the_task_token():
    context = {"Execution": {"Id": "e"}, "Task": {"Token": "secret-token"}}
    with pytest.raises(StatesError) as info:
        paths.lookup("$$.Execution.Nope", {}, context, field="v.$")
    assert "secret-token" not in info.value.cause
    assert info.value.cause.endswith("""the input '{"Execution":{"Id":"e"}}'""")


def test_a_cause_quotes_at_most_32768_characters_of_a_value():
    # AWS's longest cause; a JSONata expression can make a value far larger than that.
    quoted = paths.compact({"a": "x" * 100_000})
    assert len(quoted) <= paths.QUOTE_LIMIT + 3
    assert quoted.startswith('{"a":"xxx') and quoted.endswith("...")
