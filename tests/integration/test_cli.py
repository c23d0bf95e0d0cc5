import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def flow(*args, tmp_path=None):
    env = {"LEGATO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "manage.py", "flow", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_flow_run_prints_the_result_and_exits_0_on_success(tmp_path):
    path = write(
        tmp_path,
        "f.yaml",
        "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: builtin:echo\n    End: true\n",
    )
    result = flow("run", path, "--input", '{"v": 1}', tmp_path=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "status": "SUCCEEDED",
        "output": {"v": 1},
        "error": None,
        "cause": None,
    }


def test_flow_run_exits_1_and_reports_the_error_on_failure(tmp_path):
    path = write(
        tmp_path,
        "f.json",
        json.dumps(
            {
                "StartAt": "F",
                "States": {"F": {"Type": "Fail", "Error": "My.Error", "Cause": "because"}},
            }
        ),
    )
    result = flow("run", path, tmp_path=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "status": "FAILED",
        "output": None,
        "error": "My.Error",
        "cause": "because",
    }


def test_flow_run_reads_the_input_from_a_file(tmp_path):
    path = write(
        tmp_path,
        "f.json",
        json.dumps(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.x", "End": True}}}
        ),
    )
    input_file = write(tmp_path, "in.json", '{"x": [1, 2]}')
    result = flow("run", path, "--input-file", input_file, tmp_path=tmp_path)
    assert json.loads(result.stdout)["output"] == [1, 2]


def test_flow_validate_exits_0_for_a_valid_definition(tmp_path):
    path = write(tmp_path, "f.yaml", "StartAt: A\nStates:\n  A:\n    Type: Succeed\n")
    result = flow("validate", path, tmp_path=tmp_path)
    assert (result.returncode, json.loads(result.stdout)) == (0, {"valid": True, "diagnostics": []})


def test_flow_validate_exits_1_with_positioned_diagnostics(tmp_path):
    path = write(tmp_path, "f.yaml", "StartAt: A\nStates:\n  A:\n    Type: Sucseed\n")
    result = flow("validate", path, tmp_path=tmp_path)
    body = json.loads(result.stdout)
    assert result.returncode == 1
    assert (body["valid"], body["diagnostics"][0]["line"]) == (False, 4)


def test_flow_run_refuses_an_invalid_definition_with_exit_1(tmp_path):
    path = write(tmp_path, "f.yaml", "StartAt: Missing\nStates:\n  A:\n    Type: Succeed\n")
    result = flow("run", path, tmp_path=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "Legato.InvalidDefinition"


# --- input no JSON store can hold: a clear message, never a traceback -------------------

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def nested_text(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ('{"x": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"x": NaN}', "not a JSON number"),
        # Deeper than Python's recursion limit, which JSONata's library raises to 10,000.
        (nested_text(20000), "nested too deeply"),
        (nested_text(300), "nested more than 100 levels deep"),
    ],
    ids=["lone-surrogate", "nan", "deeper-than-the-parser-reads", "deeper-than-the-limit"],
)
def test_flow_run_refuses_an_input_it_cannot_hold_with_a_message(tmp_path, given, problem):
    path = write(tmp_path, "f.json", PASS)
    result = flow("run", path, "--input", given, tmp_path=tmp_path)
    assert result.returncode != 0
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            '{"StartAt": "P", "Comment": "\\ud800", "States": {"P": {"Type": "Succeed"}}}',
            "LONE_SURROGATE",
        ),
        (
            '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": NaN, "End": true}}}',
            "NOT_A_JSON_NUMBER",
        ),
        ("StartAt: P\nStates:\n  P: {Type: Pass, Result: .inf, End: true}\n", "NOT_A_JSON_NUMBER"),
        (
            '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": DEEP, "End": true}}}',
            "INVALID_JSON_DESCRIPTION",
        ),
    ],
    ids=["lone-surrogate", "json-nan", "yaml-infinity", "deep"],
)
def test_flow_validate_reports_a_value_no_json_store_can_hold(tmp_path, text, rule):
    path = write(tmp_path, "f.json", text.replace("DEEP", nested_text(900)))
    result = flow("validate", path, tmp_path=tmp_path)
    assert result.returncode == 1, result.stderr
    assert rule in [d["rule"] for d in json.loads(result.stdout)["diagnostics"]]


def test_flow_run_reports_a_state_output_it_cannot_hold_as_a_failed_execution(tmp_path):
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
        },
    }
    path = write(tmp_path, "f.json", json.dumps(definition))
    given = json.dumps({"s": '"\\ud800"'})  # the text of a JSON string, which is fine
    result = flow("run", path, "--input", given, tmp_path=tmp_path)
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert (body["status"], body["error"]) == ("FAILED", "States.Runtime")
    assert "surrogate" in body["cause"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('{"StartAt": "P", "\\ud866": 1, "States": {"P": {"Type": "Succeed"}}}', "LONE_SURROGATE"),
        ("StartAt: P\nStates:\n  P: {Type: Pass, Result: .inf, End: true}\n", "NOT_A_JSON_NUMBER"),
        (
            "version: v1\ntype: flow\nsteps:\n  - {type: pass, name: p, outputMappings: "
            "[{target: x, source: .nan}]}\n",
            "NOT_A_JSON_NUMBER",
        ),
    ],
    ids=["asl-lone-surrogate", "asl-infinity", "fdl-nan"],
)
def test_flow_convert_reports_what_no_json_can_hold_instead_of_printing_it(tmp_path, text, rule):
    path = write(tmp_path, "f.yaml", text)
    result = flow("convert", path, tmp_path=tmp_path)
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(name))
    assert body["definition"] is None
    assert rule in [d["rule"] for d in body["diagnostics"]]
