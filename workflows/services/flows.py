"""Flows and their immutable versions (ASL, or FDL/CloudFlow converted on import)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from .. import engine
from ..models import (
    Flow,
    FlowVersion,
)
from .core import _user
from .errors import (
    DefinitionInvalid,
    FlowAlreadyExists,
)


def import_definition(source: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Turn Alibaba FDL or CloudFlow into ASL; ASL passes through unchanged.

    Returns the source to store (the converted ASL as JSON text for imports) and the
    conversion's warnings; conversion errors raise DefinitionInvalid.
    """
    import json

    from ..engine import fdl

    max_depth = settings.LEGATO["MAX_JSON_DEPTH"]
    try:
        data = engine.parse(source, max_depth).data
    except engine.SourceError:
        return source, []  # the validator reports the syntax error with its position
    if fdl.detect(data) == "asl":
        return source, []
    converted = fdl.convert(source, max_depth=max_depth)
    diagnostics = [d.as_dict() for d in converted.diagnostics]
    if not converted.ok:
        raise DefinitionInvalid(
            f"The {converted.dialect} definition cannot be converted to the States Language.",
            diagnostics,
        )
    return json.dumps(converted.definition, indent=2), diagnostics


def check_definition(source: Any) -> engine.Result:
    """Validate a definition; raise DefinitionInvalid with every diagnostic if it has errors."""
    result = engine.validate(source, settings.LEGATO["MAX_JSON_DEPTH"])
    if not result.valid:
        raise DefinitionInvalid(
            "The definition is invalid.", [d.as_dict() for d in result.diagnostics]
        )
    return result


def _source_text(source: Any) -> str:
    if isinstance(source, str):
        return source
    import json

    return json.dumps(source, indent=2)


@transaction.atomic
def create_flow(
    name: str, source: Any, description: str = "", user: Any = None, example_input: Any = None
) -> FlowVersion:
    """Create a flow with its first version (ASL, or FDL/CloudFlow converted to ASL)."""
    source, warnings = import_definition(source)
    result = check_definition(source)
    if Flow.objects.filter(name=name).exists():
        raise FlowAlreadyExists(f"A flow named {name!r} already exists.")
    flow = Flow.objects.create(
        name=name, description=description, created_by=_user(user), example_input=example_input
    )
    return _add_version(flow, source, result, user, warnings)


@transaction.atomic
def save_flow_version(
    flow: Flow, source: Any, description: str | None = None, user: Any = None
) -> FlowVersion:
    """Save a new immutable version of an existing flow."""
    source, warnings = import_definition(source)
    result = check_definition(source)
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    if description is not None:
        flow.description = description
    return _add_version(flow, source, result, user, warnings)


def _add_version(
    flow: Flow, source: Any, result: engine.Result, user: Any, warnings: list[dict[str, Any]]
) -> FlowVersion:
    flow.latest_version += 1
    flow.save(update_fields=["latest_version", "description", "updated_at"])
    version = FlowVersion.objects.create(
        flow=flow,
        number=flow.latest_version,
        source=_source_text(source),
        source_format="yaml" if result.format == "yaml" else "json",
        definition=result.definition,
        created_by=_user(user),
    )
    # Not stored: warnings are feedback for whoever saved this version, right now.
    version.warnings = warnings + [
        d.as_dict() for d in result.diagnostics if d.severity == "WARNING"
    ]
    return version
