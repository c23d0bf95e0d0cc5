"""Convert Alibaba Cloud Serverless Workflow definitions (classic FDL and CloudFlow) to ASL."""

# Pure Python, like the rest of the engine. The modules, from the bottom up:
#   common        diagnostic codes, unique state names, the converter base
#   conditions    the condition-expression tokenizer and parser (both dialects)
#   classic_mappings -> classic_scopes -> classic    classic FDL (version: v1)
#   cloudflow_expressions -> cloudflow_machines -> cloudflow    CloudFlow
#   dialects      detect() and convert(): the entry points re-exported here
# See docs/fdl.md.

from __future__ import annotations

from .conditions import ExpressionError, convert_condition
from .dialects import ConversionResult, convert, detect

__all__ = [
    "ConversionResult",
    "ExpressionError",
    "convert",
    "convert_condition",
    "detect",
]
