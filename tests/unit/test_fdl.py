"""Converting Alibaba Cloud Serverless Workflow (classic FDL and CloudFlow) to ASL."""

from __future__ import annotations

from typing import Any

from workflows.engine import fdl, validate
from workflows.runner import run

FC = "acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo"
ECHO = {FC: "builtin:echo"}

# Shaped after the choice-step example in Alibaba's FDL documentation.
CHOICE_FLOW = """\
version: v1
type: flow
steps:
  - type: choice
    name: mychoice
    choices:
      - condition: $.status == "ready"
        steps:
          - type: task
            name: pass1
            resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo
            inputMappings:
              - target: path
                source: ready
      - condition: $.status == "failed"
        goto: final
    default:
      steps:
        - type: task
          name: pass2
          resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo
          inputMappings:
            - target: path
              source: default
      goto: final
  - type: pass
    name: pass3
    outputMappings:
      - target: visitedPass3
        source: true
  - type: pass
    name: final
"""

# Shaped after the foreach example: upper-case every name in $.names.
FOREACH_FLOW = """\
version: v1
type: flow
steps:
  - type: foreach
    name: myforeach
    iterationMapping:
      collection: $.names
      item: name
      index: position
    steps:
      - type: task
        name: toUpperCase
        resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/toUpperCase
    outputMappings:
      - target: names
        source: $local[*].name
"""

PARALLEL_FLOW = """\
version: v1
type: flow
steps:
  - type: parallel
    name: myparallel
    branches:
      - steps:
          - type: pass
            name: pass1
      - steps:
          - type: task
            name: hello
            resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo
    outputMappings:
      - target: results
        source: $local
"""

TASK_FLOW = """\
version: v1
type: flow
inputMappings:
  - target: user
    source: $input.user
steps:
  - type: task
    name: greet
    resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo
    timeoutSeconds: 30
    inputMappings:
      - target: who
        source: $input.user
      - target: greeting
        source: hello
    outputMappings:
      - target: greeted
        source: $local.who
    retry:
      - errors: [FC.ResourceThrottled, FnF.Timeout]
        intervalSeconds: 2
        maxAttempts: 3
        multiplier: 2
        maxIntervalSeconds: 60
    catch:
      - errors: [FnF.ALL]
        goto: failed
    errorMappings:
      - target: reason
        source: $local.cause
  - type: wait
    name: pause
    duration: 0
  - type: succeed
    name: done
  - type: fail
    name: failed
    error: Greeting.Failed
    cause: the greeting function failed
outputMappings:
  - target: greeted
    source: $local.greeted
"""

CLOUDFLOW = """\
Type: StateMachine
Name: greeter
SpecVersion: v1
StartAt: Greet
States:
  - Type: Task
    Name: Greet
    Action: FC:InvokeFunction
    TaskMode: RequestComplete
    Parameters:
      resourceArn: acs:fc:cn-hangzhou:123456789:services/fnf_test/functions/echo
      invocationType: Sync
      body:
        greeting.$: format('hello {}', $Input.name)
    OutputConstructor:
      text.$: $Output.greeting
    Retry:
      - Errors: [FC.ResourceThrottled]
        IntervalSeconds: 1
        MaxAttempts: 2
        BackoffRate: 2
        MaxBackoffSeconds: 10
    Catch:
      - Errors: [FnF.ALL]
        Next: Failed
    Next: Check
  - Type: Choice
    Name: Check
    Branches:
      - Condition: $Input.text == "hello Ada"
        Next: Done
    Default: Failed
  - Type: Succeed
    Name: Done
  - Type: Fail
    Name: Failed
    Code: Greeting.Failed
    Detail: not Ada
"""


def convert(text: str, **kwargs: Any) -> fdl.ConversionResult:
    return fdl.convert(text, **kwargs)


def rules(result: fdl.ConversionResult) -> list[str]:
    return [d.rule for d in result.diagnostics]


def errors(result: fdl.ConversionResult) -> list[str]:
    return [d.rule for d in result.diagnostics if d.severity == "ERROR"]


# --- detection --------------------------------------------------------------------------


def test_a_version_type_steps_document_is_detected_as_classic_fdl():
    assert fdl.detect({"version": "v1", "type": "flow", "steps": []}) == "fdl"


def test_a_state_machine_type_document_is_detected_as_cloudflow():
    assert fdl.detect({"Type": "StateMachine", "StartAt": "A", "States": []}) == "cloudflow"


def test_anything_else_is_detected_as_asl():
    assert fdl.detect({"StartAt": "A", "States": {}}) == "asl"
    assert fdl.detect([1, 2]) == "asl"


def test_an_asl_definition_is_returned_unchanged():
    asl = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    result = convert(asl)
    assert (result.dialect, result.definition, result.diagnostics) == ("asl", asl, [])


# --- classic FDL ------------------------------------------------------------------------


def test_the_documented_choice_example_converts_to_a_valid_definition():
    result = convert(CHOICE_FLOW, resource_map=ECHO)
    assert result.diagnostics == []
    assert validate(result.definition).diagnostics == []


def test_the_choice_example_runs_the_ready_branch_then_the_following_steps():
    definition = convert(CHOICE_FLOW, resource_map=ECHO).definition
    outcome = run(definition, {"status": "ready"})
    assert (outcome.status, outcome.output) == (
        "SUCCEEDED",
        {"path": "ready", "visitedPass3": True},
    )


def test_a_choice_goto_skips_to_the_named_sibling_step():
    definition = convert(CHOICE_FLOW, resource_map=ECHO).definition
    assert run(definition, {"status": "failed"}).output == {}


def test_the_default_branch_runs_its_steps_then_its_goto():
    definition = convert(CHOICE_FLOW, resource_map=ECHO).definition
    assert run(definition, {"status": "other"}).output == {"path": "default"}


def test_a_missing_condition_field_falls_to_the_default_instead_of_failing():
    definition = convert(CHOICE_FLOW, resource_map=ECHO).definition
    assert run(definition, {}).output == {"path": "default"}


def test_a_choice_without_default_simply_ends_when_nothing_matches():
    text = """\
version: v1
type: flow
steps:
  - type: choice
    name: c
    choices:
      - condition: $.n > 1
        goto: big
  - type: pass
    name: small
    outputMappings: [{target: size, source: small}]
  - type: pass
    name: big
"""
    definition = convert(text).definition
    assert run(definition, {"n": 0}).output == {"size": "small"}
    assert run(definition, {"n": 5}).output == {}


def test_sequential_steps_become_a_next_chain_ending_in_the_flow_output():
    states = convert(TASK_FLOW, resource_map=ECHO).definition["States"]
    assert states["greet.merge"]["Next"] == "pause"
    assert states["pause"]["Next"] == "done"
    assert states["done"]["Next"] == "Flow.output"
    assert states["Flow.output"]["End"] is True


def test_input_mappings_become_task_parameters_reading_the_envelope():
    task = convert(TASK_FLOW, resource_map=ECHO).definition["States"]["greet"]
    assert task["Parameters"] == {"who.$": "$.input.user", "greeting": "hello"}


def test_output_mappings_over_local_become_a_result_selector():
    task = convert(TASK_FLOW, resource_map=ECHO).definition["States"]["greet"]
    assert (task["ResultSelector"], task["ResultPath"]) == ({"greeted.$": "$.who"}, "$.output")


def test_retry_fields_are_renamed_and_fnf_errors_become_states_errors():
    task = convert(TASK_FLOW, resource_map=ECHO).definition["States"]["greet"]
    assert task["Retry"] == [
        {
            "ErrorEquals": ["FC.ResourceThrottled", "States.Timeout"],
            "IntervalSeconds": 2,
            "MaxAttempts": 3,
            "BackoffRate": 2,
            "MaxDelaySeconds": 60,
        }
    ]


def test_a_catch_with_error_mappings_builds_the_step_output_before_the_goto():
    states = convert(TASK_FLOW, resource_map=ECHO).definition["States"]
    catcher = states["greet"]["Catch"][0]
    assert catcher == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.result",
        "Next": "greet.catch[0]",
    }
    assert states["greet.catch[0]"]["Parameters"]["output"] == {"reason.$": "$.result.Cause"}
    assert states[states["greet.catch[0]"]["Next"]]["Next"] == "failed"


def test_timeout_seconds_is_kept_on_the_task():
    assert (
        convert(TASK_FLOW, resource_map=ECHO).definition["States"]["greet"]["TimeoutSeconds"] == 30
    )


def test_the_task_flow_runs_with_flow_input_and_output_mappings():
    definition = convert(TASK_FLOW, resource_map=ECHO).definition
    assert validate(definition).diagnostics == []
    outcome = run(definition, {"user": "Ada", "ignored": 1})
    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"greeted": "Ada"})


def test_without_output_mappings_a_task_result_merges_into_local():
    text = f"""\
version: v1
type: flow
steps:
  - {{type: task, name: a, resourceArn: "{FC}"}}
  - type: task
    name: b
    resourceArn: "{FC}"
    inputMappings: [{{target: second, source: 2}}]
"""
    definition = convert(text, resource_map=ECHO).definition
    assert run(definition, {"first": 1}).output == {"first": 1, "second": 2}


def test_a_step_with_end_true_ends_the_flow():
    text = """\
version: v1
type: flow
steps:
  - {type: pass, name: a, end: true}
  - {type: fail, name: never}
"""
    definition = convert(text).definition
    assert definition["States"]["a"]["Next"] == "Flow.output"
    assert run(definition, {}).status == "SUCCEEDED"


def test_a_wait_duration_path_becomes_seconds_path_into_the_step_input():
    text = "version: v1\ntype: flow\nsteps:\n  - {type: wait, name: w, duration: $.delay}\n"
    assert convert(text).definition["States"]["w"]["SecondsPath"] == "$.merged.delay"


def test_a_wait_timestamp_constant_becomes_timestamp():
    text = (
        "version: v1\ntype: flow\nsteps:\n"
        "  - {type: wait, name: w, timestamp: '2030-01-01T00:00:00Z'}\n"
    )
    assert convert(text).definition["States"]["w"]["Timestamp"] == "2030-01-01T00:00:00Z"


def test_a_classic_foreach_step_becomes_a_map_state():
    state = convert(FOREACH_FLOW).definition["States"]["myforeach"]
    assert state["Type"] == "Map"
    assert state["ItemsPath"] == "$.merged.names"
    assert state["ItemSelector"] == {
        "base.$": "$.merged",
        "extra": {"name.$": "$$.Map.Item.Value", "position.$": "$$.Map.Item.Index"},
    }
    processor = state["ItemProcessor"]
    assert processor["States"][processor["StartAt"]]["Next"] == "toUpperCase"
    assert state["ResultSelector"] == {"names.$": "$[*].name"}


def test_foreach_without_output_mappings_outputs_nothing():
    text = FOREACH_FLOW.split("    outputMappings")[0]
    assert convert(text).definition["States"]["myforeach"]["ResultPath"] is None


def test_parallel_branches_become_a_parallel_state_with_one_scope_each():
    state = convert(PARALLEL_FLOW, resource_map=ECHO).definition["States"]["myparallel"]
    assert state["Type"] == "Parallel"
    assert [sorted(b["States"]) for b in state["Branches"]] == [
        ["Branch.input", "Branch.output", "pass1"],
        ["Branch.input-2", "Branch.output-2", "hello", "hello.merge"],
    ]
    assert state["ResultSelector"] == {"results.$": "$"}


def test_state_names_are_unique_across_branches_as_asl_requires():
    text = """\
version: v1
type: flow
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{type: pass, name: same}]
      - steps: [{type: pass, name: same}]
"""
    branches = convert(text).definition["States"]["p"]["Branches"]
    assert [
        b["States"]["Branch.input" if i == 0 else "Branch.input-2"]["Next"]
        for i, b in enumerate(branches)
    ] == ["same", "same-2"]


def test_a_child_flow_with_pattern_sync_becomes_a_flow_resource_with_sync():
    text = """\
version: v1
type: flow
steps:
  - {type: task, name: child, resourceArn: "acs:fnf:::flow/order-child", pattern: sync}
"""
    result = convert(text)
    assert result.definition["States"]["child"]["Resource"] == "flow:order-child.sync"
    assert result.diagnostics == []


def test_wait_for_callback_adds_the_wait_for_task_token_suffix():
    text = f"""\
version: v1
type: flow
steps:
  - {{type: task, name: t, resourceArn: "{FC}", pattern: waitForCallback}}
"""
    resource = convert(text, resource_map=ECHO).definition["States"]["t"]["Resource"]
    assert resource == "builtin:echo.waitForTaskToken"


def test_an_unmapped_function_compute_arn_is_kept_with_a_positioned_warning():
    result = convert(TASK_FLOW)
    assert result.definition["States"]["greet"]["Resource"] == FC
    [diag] = result.diagnostics
    assert (diag.code, diag.rule, diag.severity) == (
        "UNSUPPORTED_FEATURE",
        "FDL_UNMAPPED_RESOURCE",
        "WARNING",
    )
    assert (diag.path, diag.line, diag.column) == ("/steps/0/resourceArn", 9, 5)


def test_an_unknown_step_type_is_an_error_pointing_at_the_type():
    text = "version: v1\ntype: flow\nsteps:\n  - type: loop\n    name: x\n"
    result = convert(text)
    [diag] = result.diagnostics
    assert (diag.rule, diag.path, diag.line, diag.severity) == (
        "FDL_UNKNOWN_STEP_TYPE",
        "/steps/0/type",
        4,
        "ERROR",
    )


def test_a_goto_to_an_unknown_step_is_an_error():
    text = """\
version: v1
type: flow
steps:
  - type: choice
    name: c
    choices: [{condition: $.a == 1, goto: nowhere}]
"""
    assert "FDL_UNKNOWN_GOTO" in errors(convert(text))


def test_an_unreadable_condition_is_an_unsupported_feature_error():
    text = """\
version: v1
type: flow
steps:
  - type: choice
    name: c
    choices: [{condition: "$.a =~ 1", steps: []}]
"""
    result = convert(text)
    [diag] = [d for d in result.diagnostics if d.rule == "FDL_UNSUPPORTED_CONDITION"]
    assert (diag.code, diag.path) == ("UNSUPPORTED_FEATURE", "/steps/0/choices/0/condition")


def test_wrong_types_and_missing_fields_become_diagnostics_not_crashes():
    text = """\
version: v2
type: flow
steps:
  - 42
  - {type: task, name: t}
  - {type: wait, name: w}
  - {type: foreach, name: f, iterationMapping: 3}
  - {type: parallel, name: p, branches: {a: 1}}
  - {type: pass, name: m, inputMappings: [{source: 1}], outputMappings: 7}
  - {type: task, name: r, resourceArn: x, retry: [{intervalSeconds: a}], catch: 5}
"""
    assert set(errors(convert(text))) >= {
        "FDL_INVALID_VERSION",
        "FDL_INVALID_STEP",
        "FDL_MISSING_RESOURCE",
        "FDL_INVALID_WAIT",
        "FDL_MISSING_ITERATION_MAPPING",
        "FDL_MISSING_BRANCHES",
        "FDL_INVALID_MAPPING",
        "FDL_INVALID_MAPPINGS",
        "FDL_INVALID_RETRY",
        "FDL_INVALID_CATCH",
    }


def test_malformed_yaml_is_a_positioned_syntax_diagnostic():
    result = convert("version: v1\nsteps: [\n")
    assert result.definition is None
    assert result.diagnostics[0].code == "INVALID_YAML_DESCRIPTION"


def test_an_unknown_context_field_is_an_error():
    text = """\
version: v1
type: flow
steps:
  - type: pass
    name: p
    outputMappings: [{target: x, source: $context.nothing.here}]
"""
    assert "FDL_UNSUPPORTED_CONTEXT" in errors(convert(text))


def test_generated_state_names_never_collide_with_step_names():
    text = """\
version: v1
type: flow
steps:
  - {type: pass, name: Flow.input}
  - {type: pass, name: Flow.output}
"""
    definition = convert(text).definition
    assert validate(definition).diagnostics == []
    assert run(definition, {}).status == "SUCCEEDED"


# --- CloudFlow --------------------------------------------------------------------------


def test_a_cloudflow_state_list_becomes_a_states_map():
    definition = convert(CLOUDFLOW, resource_map=ECHO).definition
    assert list(definition["States"]) == ["Greet", "Check", "Done", "Failed"]
    assert definition["StartAt"] == "Greet"


def test_an_fc_invoke_function_task_uses_the_body_as_parameters():
    task = convert(CLOUDFLOW, resource_map=ECHO).definition["States"]["Greet"]
    assert task["Resource"] == "builtin:echo"
    assert task["Parameters"] == {"greeting.$": "States.Format('hello {}', $.name)"}


def test_an_output_constructor_reading_only_output_becomes_a_result_selector():
    task = convert(CLOUDFLOW, resource_map=ECHO).definition["States"]["Greet"]
    assert task["ResultSelector"] == {"text.$": "$.greeting"}


def test_cloudflow_retry_and_catch_fields_are_renamed():
    task = convert(CLOUDFLOW, resource_map=ECHO).definition["States"]["Greet"]
    assert task["Retry"] == [
        {
            "ErrorEquals": ["FC.ResourceThrottled"],
            "IntervalSeconds": 1,
            "MaxAttempts": 2,
            "BackoffRate": 2,
            "MaxDelaySeconds": 10,
        }
    ]
    assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]


def test_a_cloudflow_fail_code_and_detail_become_error_and_cause():
    state = convert(CLOUDFLOW, resource_map=ECHO).definition["States"]["Failed"]
    assert state == {"Type": "Fail", "Error": "Greeting.Failed", "Cause": "not Ada"}


def test_the_cloudflow_example_validates_and_runs_both_ways():
    definition = convert(CLOUDFLOW, resource_map=ECHO).definition
    assert validate(definition).diagnostics == []
    assert run(definition, {"name": "Ada"}).output == {"text": "hello Ada"}
    assert run(definition, {"name": "Bob"}).error == "Greeting.Failed"


def test_task_modes_map_to_resource_suffixes():
    text = CLOUDFLOW.replace("TaskMode: RequestComplete", "TaskMode: WaitForCustomCallback")
    task = convert(text, resource_map=ECHO).definition["States"]["Greet"]
    assert task["Resource"] == "builtin:echo.waitForTaskToken"


def test_an_input_constructor_on_a_choice_becomes_a_pass_before_it():
    text = """\
Type: StateMachine
Name: f
StartAt: Check
States:
  - Type: Choice
    Name: Check
    InputConstructor:
      ok.$: $Input.flag
    Branches:
      - Condition: $Input.ok
        Next: Proceed
    Default: Stop
  - {Type: Succeed, Name: Proceed}
  - {Type: Fail, Name: Stop, Code: Nope}
"""
    definition = convert(text).definition
    assert definition["StartAt"] == "Check.Input"
    assert definition["States"]["Check.Input"]["Parameters"] == {"ok.$": "$.flag"}
    assert run(definition, {"flag": True}).status == "SUCCEEDED"
    assert run(definition, {"flag": False}).error == "Nope"


def test_a_cloudflow_wait_with_a_dynamic_seconds_becomes_seconds_path():
    text = """\
Type: StateMachine
Name: f
StartAt: W
States:
  - {Type: Wait, Name: W, Seconds.$: $Input.delay, End: true}
"""
    assert convert(text).definition["States"]["W"] == {
        "Type": "Wait",
        "SecondsPath": "$.delay",
        "End": True,
    }


def test_a_cloudflow_parallel_outputs_a_map_keyed_by_branch():
    text = """\
Type: StateMachine
Name: f
StartAt: P
States:
  - Type: Parallel
    Name: P
    Branches:
      - {StartAt: A, States: [{Type: Pass, Name: A, End: true}]}
      - {StartAt: B, States: [{Type: Pass, Name: B, End: true}]}
    End: true
"""
    state = convert(text).definition["States"]["P"]
    assert state["ResultSelector"] == {"Branch0.$": "$[0]", "Branch1.$": "$[1]"}
    assert state["Branches"][1] == {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}


def test_a_cloudflow_inline_map_becomes_a_map_with_an_items_result():
    text = """\
Type: StateMachine
Name: f
StartAt: M
States:
  - Type: Map
    Name: M
    ItemsPath: $Input.items
    MaxConcuccency: 5
    ItemConstructor:
      value.$: $Item
    Processor:
      StartAt: Echo
      States:
        - {Type: Pass, Name: Echo, End: true}
    End: true
"""
    state = convert(text).definition["States"]["M"]
    assert (state["ItemsPath"], state["MaxConcurrency"]) == ("$.items", 5)
    assert state["ItemSelector"] == {"value.$": "$$.Map.Item.Value"}
    assert state["ResultSelector"] == {"Items.$": "$"}


def test_a_distributed_map_is_an_unsupported_feature_error():
    text = """\
Type: StateMachine
Name: f
StartAt: M
States:
  - Type: Map
    Name: M
    ItemsPath: $Input.items
    ItemReader: {SourceType: OSS_CSV}
    Processor: {StartAt: A, States: [{Type: Pass, Name: A, End: true}]}
    End: true
"""
    [diag] = [d for d in convert(text).diagnostics if d.rule == "FDL_DISTRIBUTED_MAP"]
    assert (diag.severity, diag.path, diag.line) == ("ERROR", "/States/0/ItemReader", 8)


def test_an_unknown_builtin_function_is_an_unsupported_expression_error():
    text = CLOUDFLOW.replace("format('hello {}', $Input.name)", "mapKeys($Input)")
    assert "FDL_UNSUPPORTED_EXPRESSION" in errors(convert(text, resource_map=ECHO))


def test_a_next_to_an_unknown_state_is_an_error():
    text = CLOUDFLOW.replace("Next: Check", "Next: Chekc")
    [diag] = [
        d for d in convert(text, resource_map=ECHO).diagnostics if d.rule == "FDL_UNKNOWN_NEXT"
    ]
    assert (diag.code, diag.path) == ("MISSING_TRANSITION_TARGET", "/States/0/Next")


def test_cloudflow_states_that_are_not_a_list_are_an_error():
    result = convert({"Type": "StateMachine", "StartAt": "A", "States": 3})
    assert "FDL_MISSING_STATES" in errors(result)


def test_an_unknown_cloudflow_state_type_is_an_error():
    text = "Type: StateMachine\nName: f\nStartAt: A\nStates:\n  - {Type: Loop, Name: A}\n"
    assert errors(convert(text)) == ["FDL_UNKNOWN_STATE_TYPE"]


def test_a_step_type_of_the_wrong_json_type_is_a_diagnostic_not_a_crash():
    result = convert({"version": "v1", "type": "flow", "steps": [{"type": ["task"], "name": "x"}]})
    assert result.diagnostics and not result.ok


def test_a_cloudflow_state_type_of_the_wrong_json_type_is_a_diagnostic_not_a_crash():
    document = {"Type": "StateMachine", "StartAt": "A", "States": [{"Name": "A", "Type": {}}]}
    result = convert(document)
    assert result.diagnostics and not result.ok
