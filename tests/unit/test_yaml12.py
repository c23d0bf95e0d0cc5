"""Definitions in YAML are read as YAML 1.2 (core schema), not PyYAML's YAML 1.1."""

from __future__ import annotations

import math

import pytest

from workflows.engine import fdl, parse, validate

YES_NO = """\
StartAt: Ask
States:
  Ask:
    Type: Choice
    Choices:
      - Variable: $.ok
        BooleanEquals: true
        Next: Yes
    Default: No
  Yes:
    Type: Succeed
  No:
    Type: Fail
    Error: Declined
"""


def value_of(text: str):
    return parse(f"v: {text}\n").data["v"]


def rules(result):
    return [d.rule for d in result.diagnostics]


def test_a_choice_between_states_named_yes_and_no_is_valid():
    result = validate(YES_NO)
    assert result.valid, result.diagnostics
    assert list(result.definition["States"]) == ["Ask", "Yes", "No"]
    assert result.definition["States"]["Ask"]["Default"] == "No"


WORDS = ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]
WORDS += ["y", "Y", "n", "N"]


@pytest.mark.parametrize("word", WORDS)
def test_yaml_1_1_boolean_words_are_strings_as_values(word):
    assert value_of(word) == word


@pytest.mark.parametrize("word", WORDS)
def test_yaml_1_1_boolean_words_are_strings_as_keys(word):
    assert parse(f"{word}: 1\n").data == {word: 1}


@pytest.mark.parametrize("word", WORDS)
def test_yaml_1_1_boolean_words_name_states(word):
    text = f"StartAt: {word}\nStates:\n  {word}:\n    Type: Pass\n    End: true\n"
    result = validate(text)
    assert result.valid, result.diagnostics
    assert list(result.definition["States"]) == [word]


def test_keys_that_differ_only_in_case_are_different_keys():
    assert parse("yes: 1\nYes: 2\nYES: 3\n").data == {"yes": 1, "Yes": 2, "YES": 3}


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_only_the_core_schema_words_are_booleans(text, value):
    assert value_of(text) is value


@pytest.mark.parametrize("text", ["tRUE", "falsE", "yes please"])
def test_other_spellings_of_true_and_false_are_strings(text):
    assert value_of(text) == text


@pytest.mark.parametrize("text", ["~", "null", "Null", "NULL", ""])
def test_the_core_schema_nulls(text):
    assert value_of(text) is None


@pytest.mark.parametrize("text", ["nULL", "None", "nil"])
def test_other_words_for_nothing_are_strings(text):
    assert value_of(text) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("17", 17),
        ("017", 17),  # YAML 1.1: octal 15
        ("+17", 17),
        ("-17", -17),
        ("0o17", 15),  # YAML 1.1: the string "0o17"
        ("0x1F", 31),
        ("0", 0),
        ("-0", 0),
    ],
)
def test_core_schema_integers(text, value):
    result = value_of(text)
    assert (result, type(result)) == (value, int)


@pytest.mark.parametrize(
    "text",
    ["1:30", "0b101", "1_000", "0o18", "0xG", "+0x1F", "-0o7", "0O17", "0X1F", "1,000"],
)
def test_what_yaml_1_1_read_as_integers_and_1_2_does_not_is_a_string(text):
    assert value_of(text) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0), ("-2.5E-3", -0.0025)],
)
def test_core_schema_floats(text, value):
    result = value_of(text)
    assert (result, type(result)) == (value, float)


@pytest.mark.parametrize(("text", "sign"), [(".inf", 1), ("-.Inf", -1), ("+.INF", 1)])
def test_infinities_read_as_floats(text, sign):
    assert value_of(text) == sign * math.inf


def test_nan_reads_as_a_float():
    assert math.isnan(value_of(".NaN"))


@pytest.mark.parametrize("text", [".5.5", "1e", "e3", "1.2.3", "1:30.5", ".Nan", "inf"])
def test_what_is_not_a_core_schema_float_is_a_string(text):
    assert value_of(text) == text


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan"])
def test_a_definition_holding_a_non_json_number_is_invalid(text):
    result = validate(f"StartAt: P\nStates:\n  P: {{Type: Pass, Result: {text}, End: true}}\n")
    assert rules(result) == ["NOT_A_JSON_NUMBER"]
    assert (result.diagnostics[0].path, result.diagnostics[0].line) == ("/States/P/Result", 3)


@pytest.mark.parametrize(
    "text", ["2024-01-01", "2024-01-01T00:00:00Z", "2001-12-14 21:59:43.10 -5"]
)
def test_dates_and_timestamps_are_strings(text):
    assert value_of(text) == text


def test_an_unquoted_wait_timestamp_is_valid():
    text = "StartAt: W\nStates:\n  W:\n    Type: Wait\n    Timestamp: 2030-01-01T00:00:00Z\n"
    text += "    End: true\n"
    result = validate(text)
    assert result.valid, result.diagnostics
    assert result.definition["States"]["W"]["Timestamp"] == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ['"yes"', "'true'", '"17"', "'~'", '""'])
def test_quoted_scalars_are_strings(text):
    assert value_of(text) == text[1:-1]


@pytest.mark.parametrize(
    ("text", "value"),
    [("!!str 17", "17"), ("!!str yes", "yes"), ('!!int "17"', 17), ("!!float 1", 1.0)],
)
def test_explicit_core_tags_are_honoured(text, value):
    result = value_of(text)
    assert (result, type(result)) == (value, type(value))


@pytest.mark.parametrize(
    "text",
    ["!!binary aGVsbG8=", "!!timestamp 2024-01-01", "!!set {a, b}", "!custom x", '!!int "x"'],
)
def test_tags_outside_the_core_schema_are_refused_with_their_position(text):
    [diagnostic] = validate(f"StartAt: P\nStates:\n  P: {text}\n").diagnostics
    assert diagnostic.code == "INVALID_YAML_DESCRIPTION"
    assert "tag" in diagnostic.message
    assert diagnostic.line == 3


def test_the_merge_key_is_an_ordinary_key():
    assert parse("<<: {a: 1}\n").data == {"<<": {"a": 1}}


@pytest.mark.parametrize("key", ["~", "null", "true", "False", "17", "0x1F", "1.5", "[a]"])
def test_keys_that_are_not_strings_are_refused_with_their_position(key):
    [diagnostic] = validate(f"StartAt: A\nStates:\n  {key}: 1\n").diagnostics
    assert diagnostic.code == "INVALID_YAML_DESCRIPTION"
    assert "must be strings" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (3, 3)


def test_a_duplicate_key_is_still_reported_with_its_position():
    [diagnostic] = validate("StartAt: A\nYes: 1\nYes: 2\n").diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("DUPLICATE_KEY", 3, 1)


def test_positions_point_into_a_definition_with_yes_and_no_states():
    text = YES_NO.replace("    Error: Declined\n", "    Error: Declined\n    Bogus: 1\n")
    [diagnostic] = validate(text).diagnostics
    assert (diagnostic.path, diagnostic.line, diagnostic.column) == ("/States/No/Bogus", 15, 5)


def test_anchors_and_aliases_are_still_refused():
    [diagnostic] = validate("a: &x [1]\nb: *x\n").diagnostics
    assert "anchors and aliases" in diagnostic.message
    assert diagnostic.line == 1


def test_yaml_nested_deeper_than_the_limit_is_refused_where_it_gets_too_deep():
    text = "StartAt: P\nStates:\n  P:\n    Result: " + "[" * 200 + "]" * 200 + "\n"
    [diagnostic] = validate(text).diagnostics
    assert diagnostic.code == "INVALID_YAML_DESCRIPTION"
    assert "nested more than 100 levels deep" in diagnostic.message
    # The 101st container: three mappings, then the Result's 98th bracket.
    assert (diagnostic.line, diagnostic.column) == (4, len("    Result: ") + 97 + 1)


def test_fdl_in_yaml_is_read_the_same_way():
    text = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: Yes\n"
    text += "  - type: pass\n    name: No\n"
    result = fdl.convert(text)
    assert result.ok, result.diagnostics
    assert {"Yes", "No"} <= set(result.definition["States"])
