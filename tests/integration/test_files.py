import json

import pytest

from workflows.resources import TaskContext, invoke

CONTEXT = TaskContext("exec-1", "M", 1, "key")


@pytest.fixture
def files_root(tmp_path, settings):
    settings.LEGATO = {**settings.LEGATO, "FILES_ROOT": str(tmp_path)}
    return tmp_path


def test_a_file_is_read_from_under_the_files_root(files_root):
    (files_root / "in.csv").write_text("a\n1\n")
    assert invoke("legato:file", {"Path": "in.csv"}, CONTEXT) == {"output": {"Payload": "a\n1\n"}}


def test_an_s3_get_object_reads_bucket_and_key_as_folders(files_root):
    (files_root / "bucket" / "dir").mkdir(parents=True)
    (files_root / "bucket" / "dir" / "x.json").write_text("[1]")
    result = invoke(
        "arn:aws:states:::s3:getObject", {"Bucket": "bucket", "Key": "dir/x.json"}, CONTEXT
    )
    assert result == {"output": {"Payload": "[1]"}}


def test_a_path_that_leaves_the_root_is_refused(files_root):
    result = invoke("legato:file", {"Path": "../../etc/passwd"}, CONTEXT)
    assert result["error"] == "Legato.PathNotAllowed"


def test_list_objects_lists_files_under_a_prefix(files_root):
    (files_root / "b" / "logs").mkdir(parents=True)
    (files_root / "b" / "logs" / "1.txt").write_text("x")
    (files_root / "b" / "other.txt").write_text("y")
    items = invoke(
        "arn:aws:states:::s3:listObjectsV2", {"Bucket": "b", "Prefix": "logs/"}, CONTEXT
    )["output"]["Items"]
    assert [i["Key"] for i in items] == ["logs/1.txt"]


def test_a_result_writer_writes_results_and_a_manifest(files_root):
    out = invoke("legato:file.write", {"Path": "out", "Results": [1, 2]}, CONTEXT)["output"]
    folder = files_root / out["Path"]
    assert json.loads((folder / "results.json").read_text()) == [1, 2]
    assert json.loads((folder / "manifest.json").read_text())["Count"] == 2
