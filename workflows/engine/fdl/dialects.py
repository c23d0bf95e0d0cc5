"""The entry points: detect which dialect a definition is in and convert it to ASL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..definition import SourceError, parse
from ..payloads import DEFAULT_MAX_DEPTH
from ..validate import Diagnostic, unstorable
from .classic import _Classic
from .cloudflow import _CloudFlow
from .common import ERROR, _Converter


@dataclass
class ConversionResult:
    """The converted ASL definition (None when nothing could be converted) and diagnostics."""

    definition: dict[str, Any] | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    dialect: str = "asl"

    @property
    def ok(self) -> bool:
        return self.definition is not None and not any(
            d.severity == ERROR for d in self.diagnostics
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "definition": self.definition,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


def detect(data: Any) -> str:
    """Which language ``data`` is written in: ``"asl"``, ``"fdl"`` or ``"cloudflow"``."""
    if not isinstance(data, dict):
        return "asl"
    if data.get("Type") == "StateMachine":
        return "cloudflow"
    # Lenient on purpose: a flow with a wrong version should get a diagnostic, not go to ASL.
    if "steps" in data and (data.get("type") == "flow" or "version" in data):
        return "fdl"
    return "asl"


def convert(
    text_or_data: str | bytes | dict | list,
    resource_map: dict[str, str] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ConversionResult:
    """Convert classic FDL or CloudFlow to ASL; ASL is returned unchanged."""
    try:
        source = parse(text_or_data, max_depth)
    except SourceError as exc:
        diag = Diagnostic(exc.code, exc.code, exc.message, "", ERROR, exc.line, exc.column)
        return ConversionResult(None, [diag], "unknown")
    dialect = detect(source.data)
    if dialect == "asl":
        return _storable(ConversionResult(source.data, [], "asl"))
    converter: _Converter
    if dialect == "fdl":
        converter = _Classic(source, resource_map or {})
    else:
        converter = _CloudFlow(source, resource_map or {})
    definition = converter.run()
    return _storable(ConversionResult(definition, converter.diagnostics, dialect))


def _storable(result: ConversionResult) -> ConversionResult:
    """No definition at all rather than one no JSON text can hold (a lone surrogate, NaN):
    printing or saving it would fail."""
    problems = unstorable(result.definition) if result.definition is not None else []
    if problems:
        return ConversionResult(None, result.diagnostics + problems, result.dialect)
    return result
