from workflows.engine import validate

GOOD = """{
  "StartAt": "A",
  "States": {
    "A": {"Type": "Pass", "End": true}
  }
}"""


def rules(result):
    return [d.rule for d in result.diagnostics]


def test_a_minimal_definition_is_valid():
    assert validate(GOOD).valid


def test_malformed_json_reports_its_line_and_column():
    result = validate('{\n  "StartAt": "A",\n  "States": {,}\n}')
    [diag] = result.diagnostics
    assert (diag.code, diag.line, diag.column) == ("INVALID_JSON_DESCRIPTION", 3, 14)


def test_malformed_yaml_reports_its_line():
    [diag] = validate("StartAt: A\nStates:\n  A: [unclosed\n").diagnostics
    assert diag.code == "INVALID_YAML_DESCRIPTION"
    assert diag.line == 4


def test_a_duplicate_json_key_is_reported_with_its_position():
    [diag] = validate('{"StartAt": "A",\n "StartAt": "B", "States": {}}').diagnostics
    assert (diag.code, diag.line) == ("DUPLICATE_KEY", 2)


def test_a_duplicate_yaml_key_is_reported():
    [diag] = validate("StartAt: A\nStartAt: B\nStates: {}\n").diagnostics
    assert (diag.code, diag.line) == ("DUPLICATE_KEY", 2)


def test_a_yaml_null_key_is_reported_with_its_position_instead_of_crashing():
    [diag] = validate("StartAt: A\nStates:\n  ~: {Type: Pass, End: true}\n").diagnostics
    assert (diag.code, diag.line, diag.column) == ("INVALID_YAML_DESCRIPTION", 3, 3)


def test_a_yaml_number_key_is_reported_as_not_a_string():
    [diag] = validate("1: 2\n").diagnostics
    assert "must be strings" in diag.message


def test_an_unknown_field_points_at_its_key_in_the_source():
    text = (
        '{\n  "StartAt": "A",\n  "States": {\n'
        '    "A": {"Type": "Pass", "Nxt": "B", "End": true}\n  }\n}'
    )
    [diag] = validate(text).diagnostics
    assert (diag.rule, diag.path, diag.line, diag.column) == (
        "UNKNOWN_FIELD",
        "/States/A/Nxt",
        4,
        27,
    )


def test_yaml_positions_are_reported_too():
    text = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Missing\n"
    [diag] = validate(text).diagnostics
    assert (diag.code, diag.path, diag.line, diag.column) == (
        "MISSING_TRANSITION_TARGET",
        "/States/A/Next",
        5,
        5,
    )


def test_every_problem_is_reported_at_once():
    result = validate(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nope"},
                "B": {"Type": "Task", "End": True},
                "C": {"Type": "Bogus"},
            },
        }
    )
    assert {"UNKNOWN_TARGET", "MISSING_RESOURCE", "INVALID_STATE_TYPE"} <= set(rules(result))


def test_next_and_end_together_are_an_error():
    result = validate({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": True}}})
    assert "NEXT_AND_END" in rules(result)


def test_a_state_without_next_or_end_is_an_error():
    assert "MISSING_NEXT_OR_END" in rules(
        validate({"StartAt": "A", "States": {"A": {"Type": "Pass"}}})
    )


def test_an_unreachable_cycle_is_unreachable():
    result = validate(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Succeed"},
                "X": {"Type": "Pass", "Next": "Y"},
                "Y": {"Type": "Pass", "Next": "X"},
            },
        }
    )
    assert [d.path for d in result.diagnostics if d.rule == "UNREACHABLE_STATE"] == [
        "/States/X",
        "/States/Y",
    ]


def test_states_all_must_be_the_last_catcher():
    result = validate(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Catch": [
                        {"ErrorEquals": ["States.ALL"], "Next": "H"},
                        {"ErrorEquals": ["X"], "Next": "H"},
                    ],
                },
                "H": {"Type": "Succeed"},
            },
        }
    )
    assert "STATES_ALL_NOT_LAST" in rules(result)


def test_an_invalid_path_is_reported():
    result = validate(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "a.b", "End": True}}}
    )
    assert "INVALID_JSONPATH" in rules(result)


def test_a_result_path_with_a_wildcard_is_not_a_reference_path():
    result = validate(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": True}}}
    )
    assert "INVALID_REFERENCE_PATH" in rules(result)


def test_an_unknown_intrinsic_is_reported():
    result = validate(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}, "End": True}},
        }
    )
    assert "INVALID_INTRINSIC" in rules(result)


def test_a_path_looking_literal_is_only_a_warning():
    result = validate(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Parameters": {"x": "$.input"}, "End": True}},
        }
    )
    assert result.valid
    assert [(d.rule, d.severity) for d in result.diagnostics] == [
        ("PATH_WITHOUT_DOLLAR_SUFFIX", "WARNING")
    ]


def test_heartbeat_must_be_below_timeout():
    result = validate(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "TimeoutSeconds": 5,
                    "HeartbeatSeconds": 5,
                    "End": True,
                }
            },
        }
    )
    assert "HEARTBEAT_NOT_BELOW_TIMEOUT" in rules(result)


def test_a_state_name_longer_than_80_characters_is_rejected():
    name = "x" * 81
    result = validate({"StartAt": name, "States": {name: {"Type": "Succeed"}}})
    assert "STATE_NAME_TOO_LONG" in rules(result)


def test_a_choice_rule_needs_exactly_one_operator():
    result = validate(
        {
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "D"}]},
                "D": {"Type": "Succeed"},
            },
        }
    )
    assert "INVALID_CHOICE_RULE" in rules(result)


def test_a_wait_needs_exactly_one_duration():
    result = validate(
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 1, "Timestamp": "x", "End": True}},
        }
    )
    assert "WAIT_DURATION" in rules(result)


def branch(states):
    return {"StartAt": next(iter(states)), "States": states}


def test_parallel_branches_are_validated_as_their_own_scopes():
    result = validate(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [branch({"A": {"Type": "Pass", "Next": "Nowhere"}})],
                }
            },
        }
    )
    [diag] = [d for d in result.diagnostics if d.severity == "ERROR"]
    assert (diag.rule, diag.path) == ("UNKNOWN_TARGET", "/States/P/Branches/0/States/A/Next")


def test_a_transition_out_of_a_branch_is_reported_as_leaving_the_scope():
    result = validate(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Next": "Done",
                    "Branches": [branch({"A": {"Type": "Pass", "Next": "Done"}})],
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    assert "TRANSITION_LEAVES_SCOPE" in rules(result)


def test_state_names_must_be_unique_across_scopes():
    result = validate(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [branch({"A": {"Type": "Succeed"}})],
                }
            },
        }
    )
    assert "DUPLICATE_STATE_NAME" in rules(result)


def test_a_map_with_both_iterator_and_item_processor_is_rejected():
    processor = branch({"P": {"Type": "Succeed"}})
    result = validate(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "Iterator": processor,
                    "ItemProcessor": {"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}},
                }
            },
        }
    )
    assert "PROCESSOR_AND_ITERATOR" in rules(result)


def test_a_closed_loop_with_no_way_out_is_reported():
    result = validate(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
        }
    )
    assert rules(result).count("NO_PATH_TO_END") == 2


def test_jsonpath_fields_in_a_jsonata_state_are_rejected():
    result = validate(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": True}},
        }
    )
    assert "JSONPATH_FIELD_IN_JSONATA_STATE" in rules(result)


def test_an_invalid_jsonata_expression_is_reported():
    result = validate(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Output": "{% $states.input.( %}", "End": True}},
        }
    )
    assert "INVALID_JSONATA" in rules(result)


def test_text_outside_jsonata_delimiters_is_reported():
    result = validate(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Output": " {% 1 %}", "End": True}},
        }
    )
    assert "INVALID_JSONATA_DELIMITERS" in rules(result)


def test_a_user_error_name_in_the_states_namespace_is_rejected():
    result = validate({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "States.Mine"}}})
    assert "RESERVED_ERROR_NAME" in rules(result)


def test_an_unknown_predefined_error_in_error_equals_is_rejected():
    result = validate(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.Nope"]}],
                }
            },
        }
    )
    assert "UNKNOWN_PREDEFINED_ERROR" in rules(result)


def test_an_invalid_variable_name_in_assign_is_rejected():
    result = validate(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"a.b": 1}, "End": True}}}
    )
    assert "INVALID_VARIABLE_NAME" in rules(result)


def test_a_comparison_operand_of_the_wrong_type_is_rejected():
    result = validate(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericEquals": "5", "Next": "D"}],
                },
                "D": {"Type": "Succeed"},
            },
        }
    )
    assert "INVALID_OPERAND" in rules(result)


def test_an_item_reader_with_an_unknown_resource_is_reported():
    result = validate(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemReader": {"Resource": "arn:aws:states:::dynamodb:scan"},
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}},
                }
            },
        }
    )
    assert "ITEMREADER_RESOURCE" in rules(result)


def test_a_nul_character_anywhere_is_reported():
    result = validate(
        '{"StartAt": "A", "Comment": "\\u0000", "States": {"A": {"Type": "Succeed"}}}'
    )
    assert [d.rule for d in result.diagnostics] == ["NUL_CHARACTER"]


def test_a_task_naming_an_internal_resource_is_refused():
    task = '{"Type": "Task", "Resource": "legato:map:/x", "End": true}'
    source = '{"StartAt": "T", "States": {"T": ' + task + "}}"
    [diag] = validate(source).diagnostics
    assert (diag.rule, diag.path) == ("RESERVED_RESOURCE", "/States/T/Resource")


def test_intrinsic_calls_nested_thousands_deep_are_a_diagnostic_not_a_crash():
    call = "States.Array(" * 2000 + "1" + ")" * 2000
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"x.$": call}, "End": True}},
    }
    result = validate(definition)
    assert not result.valid
    assert any("calls nested more than 32 deep" in d.message for d in result.diagnostics)


def test_intrinsic_calls_may_nest_32_deep():
    call = "States.Array(" * 32 + "1" + ")" * 32
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"x.$": call}, "End": True}},
    }
    assert validate(definition).valid
