"""Map's ItemReader and ResultWriter: items from a payload or a file, results to a file.

Self-hosted forms: ``legato:payload`` parses text taken from the state input (no I/O, so
the engine does it at once); ``legato:file`` and Step Functions' own S3 resources
(``arn:aws:states:::s3:getObject`` / ``listObjectsV2`` / ``putObject``, with ``Bucket`` as
a folder under ``LEGATO_FILES_ROOT``) are reads and writes that a worker performs, so they
run as internal tasks whose results the engine then parses or reports.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from . import payloads
from .errors import StatesError

READER_FAILED = "States.ItemReaderFailed"
WRITER_FAILED = "States.ResultWriterFailed"
PAYLOAD = "legato:payload"
DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}

Next = tuple[str | None, Any]


def parse_items(output: Any, config: dict[str, Any], max_items: int) -> list[Any]:
    """Items from a reader's output (``{"Items": [...]}`` or ``{"Payload": "<text>"}``)."""
    if isinstance(output, dict) and isinstance(output.get("Items"), list):
        items = output["Items"]
    else:
        text = output.get("Payload") if isinstance(output, dict) else None
        if not isinstance(text, str):
            raise StatesError(READER_FAILED, "the item reader produced no Payload text")
        items = _parse_text(text, config)
    return items[:max_items] if max_items > 0 else items


def _parse_text(text: str, config: dict[str, Any]) -> list[Any]:
    kind = config.get("InputType", "JSON")
    try:
        if kind == "JSON":
            items = payloads.loads(text)
            if not isinstance(items, list):
                raise StatesError(READER_FAILED, "the JSON document is not an array")
            return items
        if kind == "JSONL":
            return [payloads.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise StatesError(READER_FAILED, f"invalid {kind}: {exc.msg} at line {exc.lineno}") from exc
    except payloads.Unstorable as exc:
        raise StatesError(READER_FAILED, f"invalid {kind}: {exc}") from exc
    if kind == "CSV":
        return _parse_csv(text, config)
    raise StatesError(READER_FAILED, f"unsupported InputType {kind!r}")


def _parse_csv(text: str, config: dict[str, Any]) -> list[dict[str, str]]:
    delimiter = DELIMITERS.get(config.get("CSVDelimiter", "COMMA"), ",")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
        headers = config.get("CSVHeaders") or []
    else:
        if not rows:
            return []
        headers, rows = rows[0], rows[1:]
    items = []
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) > len(headers):
            raise StatesError(READER_FAILED, f"CSV row {number} has more fields than headers")
        items.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
    return items


class ItemIOMixin:
    """Mixed into the Map implementation (``scopes``)."""

    def read_items(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], data: Any
    ) -> list[Any] | None:
        """Items now (payload), or None after scheduling a reader task (file, S3)."""
        reader = state["ItemReader"]
        params = self._io_params(frame_id, frame, state, reader, data)  # type: ignore[attr-defined]
        config = reader.get("ReaderConfig") or {}
        max_items = self._int_field(frame_id, frame, config, "MaxItems", 0)  # type: ignore[attr-defined]
        if reader["Resource"] == PAYLOAD:
            return parse_items(params, config, max_items)
        self._io_task(frame_id, frame, "reader", reader["Resource"], params)
        frame["reader"] = {"config": config, "max_items": max_items, "data": data}
        return None

    def write_results(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], results: list[Any]
    ) -> None:
        writer = state["ResultWriter"]
        params = self._io_params(frame_id, frame, state, writer, frame["input"])  # type: ignore[attr-defined]
        # The same name reads in an ItemReader and writes in a ResultWriter.
        resource = writer["Resource"]
        if resource == "legato:file":
            resource = "legato:file.write"
        payload = {**(params if isinstance(params, dict) else {}), "Results": results}
        self._io_task(frame_id, frame, "writer", resource, payload)

    def _io_task(
        self, frame_id: str, frame: dict[str, Any], kind: str, resource: str, payload: Any
    ) -> None:
        key = self.next_key("t")  # type: ignore[attr-defined]
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": kind}  # type: ignore[attr-defined]
        entry = f"{frame_id}/{frame['state']}@{frame['entered']}#{kind}"
        self.command(  # type: ignore[attr-defined]
            "run_task",
            key=key,
            frame=frame_id,
            state=frame["state"],
            resource=resource,
            input=payload,
            attempt=frame.get("attempt", 1),
            timeout_seconds=None,
            heartbeat_seconds=None,
            queue=None,
            entry=entry,
            token=None,
            started=None,  # an ItemReader/ResultWriter step is not a Task state
        )

    def io_event(self, kind: str, event: dict[str, Any], pending: dict[str, Any]) -> None:
        """A reader or writer task finished: go on with the Map, or fail it."""
        if kind not in ("task_succeeded", "task_failed"):
            self.step.stale = True  # type: ignore[attr-defined]
            return
        del self.snapshot["pending"][event["key"]]  # type: ignore[attr-defined]
        frame_id = pending["frame"]
        frame = self.frame(frame_id)  # type: ignore[attr-defined]
        state = self.states(frame_id)[frame["state"]]  # type: ignore[attr-defined]
        handler = self._after_reader if pending["kind"] == "reader" else self._after_writer
        target, data = self.guarded(frame_id, frame, state, handler, kind, event)  # type: ignore[attr-defined]
        self.enter(frame_id, target, data)  # type: ignore[attr-defined]

    def _after_reader(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        kind: str,
        event: dict[str, Any],
    ) -> Next:
        reader = frame.pop("reader")
        if kind == "task_failed":
            raise StatesError(READER_FAILED, event.get("cause") or event.get("error") or "")
        items = parse_items(event.get("output"), reader["config"], reader["max_items"])
        return self.run_map(frame_id, frame, state, items, reader["data"])  # type: ignore[attr-defined]

    def _after_writer(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        kind: str,
        event: dict[str, Any],
    ) -> Next:
        if kind == "task_failed":
            raise StatesError(WRITER_FAILED, event.get("cause") or event.get("error") or "")
        return self.map_output(
            frame_id,
            frame,
            state,  # type: ignore[attr-defined]
            {"ResultWriterDetails": event.get("output")},
        )
