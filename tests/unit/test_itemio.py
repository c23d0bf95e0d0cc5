"""Map's ItemReader and ResultWriter in the pure interpreter."""

import pytest

from workflows.engine.errors import StatesError
from workflows.engine.itemio import parse_items

from .harness import Run, machine

PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def reader_map(reader, **extra):
    return machine(
        {
            "M": {
                "Type": "Map",
                "ItemReader": reader,
                "ItemProcessor": PROCESSOR,
                "End": True,
                **extra,
            }
        }
    )


def test_a_payload_reader_parses_csv_with_a_header_row():
    run = Run(
        reader_map(
            {
                "Resource": "legato:payload",
                "ReaderConfig": {"InputType": "CSV"},
                "Parameters": {"Payload.$": "$.csv"},
            }
        )
    )
    assert run.finish({"csv": "id,name\n1,ada\n2,bob\n"}).output == [
        {"id": "1", "name": "ada"},
        {"id": "2", "name": "bob"},
    ]


def test_csv_headers_can_be_given_instead_of_read():
    items = parse_items(
        {"Payload": "1;ada\n"},
        {
            "InputType": "CSV",
            "CSVDelimiter": "SEMICOLON",
            "CSVHeaderLocation": "GIVEN",
            "CSVHeaders": ["id", "name"],
        },
        0,
    )
    assert items == [{"id": "1", "name": "ada"}]


def test_jsonl_gives_one_item_per_line():
    assert parse_items({"Payload": '{"a":1}\n\n{"a":2}\n'}, {"InputType": "JSONL"}, 0) == [
        {"a": 1},
        {"a": 2},
    ]


def test_max_items_limits_what_is_read():
    assert parse_items({"Payload": "[1,2,3]"}, {"InputType": "JSON"}, 2) == [1, 2]


def test_a_json_payload_that_is_not_an_array_is_an_item_reader_failure():
    with pytest.raises(StatesError) as info:
        parse_items({"Payload": '{"a": 1}'}, {"InputType": "JSON"}, 0)
    assert info.value.error == "States.ItemReaderFailed"


def test_a_file_reader_runs_as_a_task_and_its_text_becomes_the_items():
    run = Run(
        reader_map(
            {
                "Resource": "legato:file",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Path": "items.json"},
            }
        ),
        tasks=lambda r, p, a: {"output": {"Payload": "[10, 20]"}},
    )
    assert run.finish({}).output == [10, 20]


def test_a_failed_file_read_fails_the_map_with_item_reader_failed():
    run = Run(
        reader_map({"Resource": "legato:file", "Parameters": {"Path": "x"}}),
        tasks=lambda r, p, a: {"error": "Legato.FileNotReadable", "cause": "no such file"},
    )
    assert run.finish({}).error == "States.ItemReaderFailed"


def test_a_result_writer_replaces_the_results_with_where_they_were_written():
    calls = []

    def tasks(resource, payload, attempt):
        calls.append((resource, payload))
        return {"output": {"Path": "out/run", "Count": len(payload["Results"])}}

    run = Run(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": PROCESSOR,
                    "End": True,
                    "ResultWriter": {"Resource": "legato:file", "Parameters": {"Path": "out"}},
                }
            }
        ),
        tasks,
    )
    assert run.finish([1, 2]).output == {"ResultWriterDetails": {"Path": "out/run", "Count": 2}}
    assert calls == [("legato:file.write", {"Path": "out", "Results": [1, 2]})]
