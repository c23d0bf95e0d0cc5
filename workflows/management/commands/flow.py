"""``manage.py flow``: validate and run definitions from the command line.

Contracts scripts rely on (keep them stable):
- ``flow run FILE [--input JSON | --input-file F]`` prints one JSON object
  ``{"status", "output", "error", "cause"}``; exit 0 when SUCCEEDED, else 1.
- ``flow validate FILE`` prints ``{"valid", "diagnostics"}``; exit 0 when valid, else 1.
- ``flow convert FILE [--map-resource ARN=RESOURCE ...]`` prints
  ``{"dialect", "definition", "diagnostics"}``; exit 0 without ERROR diagnostics, else 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import engine, runner
from ...engine import fdl, payloads


class Command(BaseCommand):
    help = "Validate or run workflow definitions (JSON or YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="check a definition; print diagnostics")
        validate.add_argument("file")
        run = sub.add_parser("run", help="run a definition to the end in this process")
        run.add_argument("file")
        group = run.add_mutually_exclusive_group()
        group.add_argument("--input", help="the execution input as JSON text")
        group.add_argument("--input-file", help="a file holding the execution input (JSON)")
        run.add_argument("--name", default="local", help="the execution name")
        convert = sub.add_parser(
            "convert", help="convert Alibaba Cloud FDL or CloudFlow to the States Language"
        )
        convert.add_argument("file")
        convert.add_argument(
            "--map-resource",
            action="append",
            default=[],
            metavar="ARN=RESOURCE",
            help="use RESOURCE for tasks calling ARN (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = _read(options["file"])
        max_depth = settings.LEGATO["MAX_JSON_DEPTH"]
        if options["action"] == "convert":
            converted = fdl.convert(text, _resource_map(options["map_resource"]), max_depth)
            _emit(converted.as_dict())
            sys.exit(0 if converted.ok else 1)
        result = engine.validate(text, max_depth)
        if options["action"] == "validate":
            _emit({"valid": result.valid, "diagnostics": [d.as_dict() for d in result.diagnostics]})
            sys.exit(0 if result.valid else 1)
        if not result.valid:
            first = next(d for d in result.diagnostics if d.severity == "ERROR")
            where = f" at line {first.line}, column {first.column}" if first.line else ""
            _emit(
                {
                    "status": "FAILED",
                    "output": None,
                    "error": "Legato.InvalidDefinition",
                    "cause": f"{first.message} ({first.path or '/'}{where})",
                    "diagnostics": [d.as_dict() for d in result.diagnostics],
                }
            )
            sys.exit(1)
        execution_input = _input(options, max_depth)
        outcome = runner.run(
            result.definition, execution_input, name=options["name"], max_depth=max_depth
        )
        _emit(outcome.as_dict())
        sys.exit(0 if outcome.status == engine.SUCCEEDED else 1)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc


def _resource_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        # ARNs contain ':' but never '=', so the first '=' splits ARN from resource.
        arn, sep, resource = pair.partition("=")
        if not sep or not arn or not resource:
            raise CommandError(f"--map-resource needs ARN=RESOURCE, not {pair!r}")
        mapping[arn] = resource
    return mapping


def _input(options: dict[str, Any], max_depth: int) -> Any:
    text = options.get("input")
    if options.get("input_file"):
        text = _read(options["input_file"])
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"the input is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise CommandError("the input is nested too deeply") from exc
    # What the API refuses as a 400 would fail later here, as a traceback.
    found = payloads.problem(value, max_depth)
    if found is not None:
        raise CommandError(f"the input cannot be used: {found}")
    return value


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()
