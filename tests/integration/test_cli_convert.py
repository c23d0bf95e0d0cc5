import json

from .test_cli import flow, write

FC = "acs:fc:cn-hangzhou:123456789:services/demo/functions/hello"
CLASSIC = f"""\
version: v1
type: flow
steps:
  - type: task
    name: hello
    resourceArn: {FC}
"""


def test_flow_convert_prints_dialect_definition_and_warnings_and_exits_0(tmp_path):
    path = write(tmp_path, "flow.yaml", CLASSIC)
    result = flow("convert", path, tmp_path=tmp_path)
    body = json.loads(result.stdout)
    assert result.returncode == 0
    assert sorted(body) == ["definition", "diagnostics", "dialect"]
    assert body["dialect"] == "fdl"
    assert body["definition"]["States"]["hello"]["Resource"] == FC
    assert [(d["rule"], d["severity"], d["line"]) for d in body["diagnostics"]] == [
        ("FDL_UNMAPPED_RESOURCE", "WARNING", 6)
    ]


def test_flow_convert_applies_map_resource_and_the_result_runs(tmp_path):
    path = write(tmp_path, "flow.yaml", CLASSIC)
    result = flow("convert", path, "--map-resource", f"{FC}=builtin:echo", tmp_path=tmp_path)
    body = json.loads(result.stdout)
    assert (result.returncode, body["diagnostics"]) == (0, [])
    converted = write(tmp_path, "flow.asl.json", json.dumps(body["definition"]))
    ran = flow("run", converted, "--input", '{"v": 1}', tmp_path=tmp_path)
    assert json.loads(ran.stdout)["output"] == {"v": 1}


def test_flow_convert_exits_1_when_there_is_an_error(tmp_path):
    path = write(
        tmp_path, "flow.yaml", "version: v1\ntype: flow\nsteps:\n  - {type: loop, name: x}\n"
    )
    result = flow("convert", path, tmp_path=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["diagnostics"][0]["rule"] == "FDL_UNKNOWN_STEP_TYPE"
