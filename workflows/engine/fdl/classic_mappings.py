"""Classic FDL mappings: ``[{target, source}]`` lists as ASL payload templates."""

from __future__ import annotations

import re
from typing import Any

from .. import paths
from ..definition import join_pointer
from .common import UNSUPPORTED, _Converter

# Unverified in the reference: only these classic $context fields are mapped.
CLASSIC_CONTEXT = {
    "execution.name": "$$.Execution.Name",
    "execution.input": "$$.Execution.Input",
    "step.name": "$$.State.Name",
}


class _ClassicMappings(_Converter):
    """Reads ``inputMappings``, ``outputMappings`` and ``errorMappings``."""

    def template(
        self, mappings: Any, ptr: str, roots: dict[str, str | None], error_output: bool = False
    ) -> dict[str, Any]:
        """A payload template from ``[{target, source}]``; ``roots`` say where $input/$local are."""
        out: dict[str, Any] = {}
        if not isinstance(mappings, list):
            self.error("FDL_INVALID_MAPPINGS", "mappings must be a list of {target, source}", ptr)
            return out
        for index, mapping in enumerate(mappings):
            mptr = join_pointer(ptr, index)
            if not isinstance(mapping, dict) or not isinstance(mapping.get("target"), str):
                self.error("FDL_INVALID_MAPPING", "a mapping needs a string target", mptr)
                continue
            if "source" not in mapping:
                self.error("FDL_INVALID_MAPPING", "a mapping needs a source", mptr)
                continue
            value = self.source_value(
                mapping["source"], join_pointer(mptr, "source"), roots, error_output
            )
            if value is None:
                continue
            kind, resolved = value
            if kind == "path":
                out[mapping["target"] + ".$"] = resolved
            else:
                out[mapping["target"]] = resolved
        return out

    def source_value(
        self, source: Any, ptr: str, roots: dict[str, str | None], error_output: bool
    ) -> tuple[str, Any] | None:
        if not isinstance(source, str) or not source.startswith("$"):
            return ("const", source)
        match = re.match(r"^\$(input|local|context)(?=$|[.\[])(.*)$", source)
        if not match:
            self.error(
                "FDL_INVALID_MAPPING_SOURCE",
                f"source {source!r} must be a constant or start with $input, $local or $context",
                ptr,
            )
            return None
        root, rest = match.group(1), match.group(2)
        if root == "context":
            mapped = CLASSIC_CONTEXT.get(rest.lstrip("."))
            if mapped is None:
                self.error(
                    "FDL_UNSUPPORTED_CONTEXT",
                    f"{source!r} has no ASL context equivalent",
                    ptr,
                    UNSUPPORTED,
                )
                return None
            return ("path", mapped)
        base = roots.get("$" + root)
        if base is None:
            self.error(
                "FDL_MAPPING_SOURCE_UNAVAILABLE",
                f"${root} is not available in this mapping",
                ptr,
            )
            return None
        if error_output:
            # errorMappings may only read $local.error and $local.cause.
            field_match = re.match(r"^\.(error|cause)(.*)$", rest)
            if root != "local" or not field_match:
                self.error(
                    "FDL_INVALID_ERROR_MAPPING",
                    "errorMappings sources must be $local.error or $local.cause",
                    ptr,
                )
                return None
            rest = ".Error" if field_match.group(1) == "error" else ".Cause"
            rest += field_match.group(2)
        path = base + rest
        try:
            paths.compile_path(path)
        except paths.PathSyntaxError as exc:
            self.error("FDL_INVALID_MAPPING_SOURCE", f"invalid path {source!r}: {exc}", ptr)
            return None
        return ("path", path)

    @staticmethod
    def reads_input(mappings: Any) -> bool:
        return isinstance(mappings, list) and any(
            isinstance(m, dict)
            and isinstance(m.get("source"), str)
            and re.match(r"^\$input(?=$|[.\[])", m["source"])
            for m in mappings
        )

    @staticmethod
    def local_only(mappings: Any) -> bool:
        return isinstance(mappings, list) and not any(
            isinstance(m, dict)
            and isinstance(m.get("source"), str)
            and re.match(r"^\$(input|context)", m["source"])
            for m in mappings
        )
