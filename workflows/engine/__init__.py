"""The pure ASL engine: parsing, validation, interpretation and graph model.

Imports only the standard library and pure data libraries (PyYAML, jsonpath-ng, JSONata,
RE2); time, ids and randomness come in as arguments. Nothing here touches Django, Celery,
Channels, a database or the network; the only clock read is an expression's time budget
(``budget.py``), which can stop an evaluation but never changes what one returns.
"""

from __future__ import annotations

from .definition import Source, SourceError, parse, sub_machine
from .distributed import records_submission
from .errors import StatesError
from .graph import build as build_graph
from .interpreter import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    Step,
    advance,
    iso,
    parse_iso,
    start,
)
from .validate import Diagnostic, Result, validate

__all__ = [
    "ABORTED",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "TIMED_OUT",
    "Diagnostic",
    "Result",
    "Source",
    "SourceError",
    "StatesError",
    "Step",
    "advance",
    "build_graph",
    "iso",
    "parse",
    "parse_iso",
    "records_submission",
    "start",
    "sub_machine",
    "validate",
]
