"""Files for Map's ItemReader and ResultWriter, under ``LEGATO_FILES_ROOT``.

``legato:file`` takes ``{"Path": "relative/path"}``; Step Functions' S3 resources take
``{"Bucket", "Key"}`` / ``{"Bucket", "Prefix"}`` and read ``<root>/<Bucket>/<Key>``, so an
AWS definition runs unchanged against files laid out the same way. Paths can never leave
the root.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from . import TaskContext, TaskError, register

GET_OBJECT = "arn:aws:states:::s3:getObject"
LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
MAX_READ_BYTES = 64 * 1024 * 1024


def root() -> Path:
    return Path(settings.LEGATO["FILES_ROOT"]).resolve()


def _inside(*parts: str) -> Path:
    base = root()
    target = base.joinpath(*[p.lstrip("/") for p in parts if p]).resolve()
    if target != base and base not in target.parents:
        raise TaskError("Legato.PathNotAllowed", "the path leaves LEGATO_FILES_ROOT")
    return target


def _location(payload: Any) -> Path:
    if not isinstance(payload, dict):
        raise TaskError("Legato.InvalidInput", "expected {Path} or {Bucket, Key}")
    if "Path" in payload:
        return _inside(str(payload["Path"]))
    return _inside(str(payload.get("Bucket", "")), str(payload.get("Key", "")))


@register("legato:file")
@register(GET_OBJECT)
def read_file(payload: Any, context: TaskContext) -> dict[str, Any]:
    """``{"Payload": "<file text>"}`` for an ItemReader."""
    path = _location(payload)
    try:
        if path.stat().st_size > MAX_READ_BYTES:
            raise TaskError("Legato.FileTooLarge", f"{path.name} is over {MAX_READ_BYTES} bytes")
        return {"Payload": path.read_text(encoding="utf-8")}
    except OSError as exc:
        raise TaskError("Legato.FileNotReadable", f"{payload}: {exc.strerror}") from exc


@register(LIST_OBJECTS)
def list_files(payload: Any, context: TaskContext) -> dict[str, Any]:
    """``{"Items": [{"Key", "Size", "LastModified"}, …]}`` for every file under a prefix."""
    bucket = str(payload.get("Bucket", "")) if isinstance(payload, dict) else ""
    prefix = str(payload.get("Prefix", "")) if isinstance(payload, dict) else ""
    base = _inside(bucket)
    items = []
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        key = path.relative_to(base).as_posix()
        if path.is_file() and key.startswith(prefix):
            stat = path.stat()
            items.append(
                {
                    "Key": key,
                    "Size": stat.st_size,
                    "LastModified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                }
            )
    return {"Items": items}


@register(PUT_OBJECT)
@register("legato:file.write")
def write_results(payload: Any, context: TaskContext) -> dict[str, Any]:
    """A ResultWriter: the results and a manifest, as JSON files under a folder."""
    if not isinstance(payload, dict):
        raise TaskError("Legato.InvalidInput", "expected {Path} or {Bucket, Prefix}")
    if "Path" in payload:
        folder = _inside(str(payload["Path"]))
    else:
        folder = _inside(str(payload.get("Bucket", "")), str(payload.get("Prefix", "")))
    folder = folder / context.execution_id
    results = payload.get("Results") or []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
        manifest = {
            "ExecutionId": context.execution_id,
            "Results": "results.json",
            "Count": len(results),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    except OSError as exc:
        raise TaskError("Legato.FileNotWritable", str(exc)) from exc
    return {
        "Path": folder.relative_to(root()).as_posix(),
        "Manifest": "manifest.json",
        "Count": len(results),
    }
