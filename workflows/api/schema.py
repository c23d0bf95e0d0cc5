"""OpenAPI documentation helpers: response shapes, shared parameters and error responses.

The serializers here only *describe* responses for drf-spectacular (``/api/schema/``);
the views build their bodies themselves. Keep both in step: the schemathesis test
(tests/integration/test_schemathesis.py) checks every response against this schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..models import TaskAttempt
from . import serializers as s

# --- errors ----------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable, machine-readable code, e.g. `NotFound`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="More about it: the invalid fields (`InvalidRequest`), the diagnostics "
        "(`InvalidDefinition`), or null.",
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every API error."""

    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


_ERRORS = {
    400: "Invalid parameters or fields (`InvalidRequest`, details per field) or malformed "
    "JSON (`MalformedRequest`).",
    401: "No or bad credentials (`NotAuthenticated`, `AuthenticationFailed`).",
    403: "The caller's role does not allow this (`PermissionDenied`).",
    404: "No such flow, version or execution (`NotFound`).",
    409: "The request conflicts with the current state.",
    413: "The body is above `DATA_UPLOAD_MAX_MEMORY_SIZE`, or the input/output above "
    "`LEGATO_MAX_PAYLOAD_BYTES` (`PayloadTooLarge`).",
    415: "The body is not JSON (`UnsupportedMediaType`).",
}


def error(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or _ERRORS[status])


def errors(*statuses: int, **described: str) -> dict[int, OpenApiResponse]:
    """The error responses of an operation; 401 and 403 are always included.

    ``described`` overrides a description: ``errors(404, e409="...")``.
    """
    wanted = {401, 403, *statuses, *(int(key[1:]) for key in described)}
    return {code: error(code, described.get(f"e{code}")) for code in sorted(wanted)}


DEFINITION_ERRORS = (
    "Malformed JSON (`MalformedRequest`), invalid fields (`InvalidRequest`, details per field) "
    "or an invalid definition (`InvalidDefinition`, details = diagnostics)."
)

# Writes with a JSON body can also fail to parse (400), be too large (413) or be of another
# media type (415).
BODY_ERRORS = (400, 413, 415)


# --- parameters ------------------------------------------------------------------------

FLOW_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The flow's name."
)
EXECUTION_ID = OpenApiParameter(
    "execution_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The execution's id."
)
VERSION_NUMBER = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version number (1, 2, …)."
)
TASK_TOKEN = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The task token handed to the callback task (`$$.Task.Token`).",
)


def or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema where an empty value (``?x=``) means "not given"."""
    return {"oneOf": [schema, {"type": "string", "maxLength": 0}]}


_OPTIONAL_DATETIME = or_empty({"type": "string", "format": "date-time"})
EXECUTION_FILTERS = [
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        description="Only these statuses, comma-separated (`FAILED,TIMED_OUT`): `RUNNING`, "
        "`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.",
    ),
    OpenApiParameter("name", OpenApiTypes.STR, description="Execution names starting with this."),
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Case-insensitive text in the execution's name, input or output (the JSON "
        "text, keys included).",
    ),
    OpenApiParameter(
        "started_after", _OPTIONAL_DATETIME, description="Started at or after (ISO 8601)."
    ),
    OpenApiParameter(
        "started_before", _OPTIONAL_DATETIME, description="Started before (ISO 8601)."
    ),
]


# --- response shapes -------------------------------------------------------------------


class DiagnosticSerializer(serializers.Serializer):
    code = serializers.CharField()
    rule = serializers.CharField()
    severity = serializers.CharField(help_text="`ERROR` or `WARNING`.")
    message = serializers.CharField()
    path = serializers.CharField(help_text="JSON pointer of the offending value.")
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)


class SavedFlowSerializer(s.FlowSerializer):
    """The flow as saved, plus what the conversion and the validator had to say."""

    warnings = DiagnosticSerializer(many=True)

    class Meta(s.FlowSerializer.Meta):
        fields = [*s.FlowSerializer.Meta.fields, "warnings"]


class ChangedStatesSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField(), help_text="Only in `to`.")
    removed = serializers.ListField(child=serializers.CharField(), help_text="Only in `from`.")
    changed = serializers.ListField(
        child=serializers.CharField(),
        help_text="In both, with different fields (a Parallel or Map counts as changed when "
        "its branches' or processor's StartAt or state names change, not when only a state "
        "inside does: that state is listed itself).",
    )


class VersionDiffSerializer(serializers.Serializer):
    from_ = serializers.IntegerField(help_text="The first version's number.")
    to = serializers.IntegerField(help_text="The second version's number.")
    diff = serializers.CharField(
        allow_blank=True,
        help_text="Unified diff of the two versions' source text (empty when they are equal).",
    )
    changed_states = ChangedStatesSerializer(
        help_text="State names (top level and nested) compared on the parsed definitions."
    )

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword: the field is declared as from_ and renamed here.
        return {("from" if k == "from_" else k): f for k, f in super().get_fields().items()}


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    state = serializers.CharField(allow_null=True, help_text="Null for Start, End and Join.")
    type = serializers.CharField()
    cluster = serializers.CharField(allow_null=True)
    resource = serializers.CharField(allow_null=True)


class GraphEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    kind = serializers.CharField(help_text="`next`, `end`, `choice`, `default`, `catch`, `branch`.")
    label = serializers.CharField(allow_blank=True)


class GraphClusterSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    parent = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    kind = serializers.CharField(help_text="`parallel` or `map`.")


class GraphSerializer(serializers.Serializer):
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)
    clusters = GraphClusterSerializer(many=True)
    dot = serializers.CharField(help_text="Graphviz DOT source of the same graph.")


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    diagnostics = DiagnosticSerializer(many=True)


class HistoryPageSerializer(serializers.Serializer):
    results = s.EventSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="The next page (`after_seq` = the last `seq` here), or null."
    )


class StepLogSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    seq = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    level = serializers.CharField()
    message = serializers.CharField(allow_blank=True)


class TaskAttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    resource = serializers.CharField()
    attempt = serializers.IntegerField()
    status = serializers.ChoiceField(choices=TaskAttempt.Status.choices)
    item_index = serializers.IntegerField(allow_null=True)
    input = serializers.JSONField(allow_null=True)
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    cause = serializers.CharField(allow_null=True)
    waiting_for_token = serializers.BooleanField()
    token = serializers.CharField(
        allow_null=True, help_text="The task token while the attempt waits for a callback."
    )
    scheduled_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    logs = StepLogSerializer(many=True)


class TaskAttemptPageSerializer(serializers.Serializer):
    results = TaskAttemptSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="Always null: one page.")


class StateTestResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"],
        help_text="RETRIABLE: a Retry matches the error; CAUGHT_ERROR: a Catch does.",
    )
    nextState = serializers.CharField(  # noqa: N815 - the wire name, as in Step Functions
        allow_null=True, help_text="Where the execution would go next; null at an end."
    )
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    cause = serializers.CharField(allow_null=True)
    variables = serializers.DictField(
        child=serializers.JSONField(allow_null=True), help_text="The variables it assigned."
    )
    inspectionData = serializers.DictField(  # noqa: N815 - the wire name
        child=serializers.JSONField(allow_null=True),
        help_text="The value after each processing stage (`input`, `afterInputPath`, "
        "`afterParameters`, `result`, `afterResultSelector`, `afterResultPath`, `output`, …).",
    )


class BulkItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="`NotFound`, `ExecutionNotRunning`, `ExecutionNotRedrivable`, …"
    )
    message = serializers.CharField()


class BulkItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ok = serializers.BooleanField()
    status = serializers.CharField(
        required=False, help_text="The execution's status after the action (when it exists)."
    )
    error = BulkItemErrorSerializer(required=False, help_text="Why it was not done.")


class BulkResultSerializer(serializers.Serializer):
    results = BulkItemSerializer(many=True, help_text="One per id, in the request's order.")


class EmptySerializer(serializers.Serializer):
    """An empty JSON object: ``{}``."""


class ActivityTaskSerializer(serializers.Serializer):
    taskToken = serializers.CharField(  # noqa: N815 - the wire name, as in Step Functions
        help_text="Report back with this token (`/task-tokens/{token}/…`)."
    )
    input = serializers.JSONField(allow_null=True)


def json_body(serializer: Any) -> dict[str, Any]:
    """Document a request body as JSON only (what clients send; form posts are not API)."""
    return {"application/json": serializer}
