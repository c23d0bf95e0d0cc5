"""Request validation and response shapes for the REST API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Event, Execution, Flow, FlowVersion

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers (DRF's CharField quietly turns 5 into "5")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


DEFINITION_SCHEMA = {
    "oneOf": [{"type": "object", "additionalProperties": {}}, {"type": "string"}],
    "description": "A JSON object, or a string holding JSON or YAML.",
}


@extend_schema_field(DEFINITION_SCHEMA)
class DefinitionField(serializers.Field):
    """A definition as a JSON object, or as JSON/YAML text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict | str):
            return data
        raise serializers.ValidationError("must be a JSON object or a JSON/YAML string")

    def to_representation(self, value: Any) -> Any:
        return value


class FlowCreateSerializer(serializers.Serializer):
    name = StrictRegexField(
        NAME_PATTERN,
        max_length=80,
        error_messages={"invalid": "use 1-80 letters, digits, '-' or '_'"},
    )
    definition = DefinitionField()
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)
    example_input = serializers.JSONField(required=False, allow_null=True, default=None)


class FlowUpdateSerializer(serializers.Serializer):
    definition = DefinitionField()
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)


class ValidateSerializer(serializers.Serializer):
    definition = DefinitionField()


class StartExecutionSerializer(serializers.Serializer):
    input = serializers.JSONField(
        required=False, allow_null=True, help_text="The execution's input; absent or null: {}."
    )
    name = StrictRegexField(
        NAME_PATTERN,
        max_length=80,
        required=False,
        error_messages={"invalid": "use 1-80 letters, digits, '-' or '_'"},
    )


class RedriveSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class RerunSerializer(RedriveSerializer):
    state = StrictCharField(max_length=80)


class StopExecutionSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")
    error = StrictCharField(required=False, allow_blank=True, max_length=256, default="")
    cause = StrictCharField(required=False, allow_blank=True, max_length=32768, default="")


class FlowVersionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number")
    flow = serializers.CharField(source="flow.name")

    class Meta:
        model = FlowVersion
        fields = ["flow", "version", "definition", "source", "source_format", "created_at"]


class FlowSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="latest_version")
    definition = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = [
            "name",
            "description",
            "version",
            "definition",
            "example_input",
            "created_at",
            "updated_at",
            "url",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {},
            "nullable": True,
            "description": "The latest version's States Language definition.",
        }
    )
    def get_definition(self, flow: Flow) -> Any:
        version = flow.current
        return version.definition if version else None

    def get_url(self, flow: Flow) -> str:
        return f"/api/v1/flows/{flow.name}/"


class FlowListSerializer(FlowSerializer):
    class Meta(FlowSerializer.Meta):
        fields = ["name", "description", "version", "created_at", "updated_at", "url"]


class ExecutionSerializer(serializers.ModelSerializer):
    flow = serializers.CharField(source="flow.name")
    version = serializers.IntegerField(source="version.number")
    error = serializers.SerializerMethodField()
    cause = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "id",
            "name",
            "flow",
            "version",
            "status",
            "input",
            "output",
            "error",
            "cause",
            "started_at",
            "stopped_at",
            "redrive_count",
            "parent",
            "rerun_of",
            "url",
        ]

    def get_error(self, execution: Execution) -> str | None:
        return execution.error or None

    def get_cause(self, execution: Execution) -> str | None:
        return execution.cause or None

    def get_url(self, execution: Execution) -> str:
        return f"/api/v1/executions/{execution.pk}/"


class ExecutionListSerializer(ExecutionSerializer):
    class Meta(ExecutionSerializer.Meta):
        fields = [
            "id",
            "name",
            "flow",
            "version",
            "status",
            "error",
            "started_at",
            "stopped_at",
            "url",
        ]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["seq", "type", "timestamp", "state", "status", "details"]


@extend_schema_field(
    {
        "oneOf": [{"type": "object", "additionalProperties": {}}, {"type": "string"}],
        "description": 'One state (`{"Type": "Pass", …}`), or a whole definition with '
        "`stateName`; a JSON object, or a string holding JSON or YAML.",
    }
)
class StateDefinitionField(DefinitionField):
    """A single state, or a whole definition (then ``stateName`` picks the state)."""


class StateTestSerializer(serializers.Serializer):
    definition = StateDefinitionField()
    stateName = StrictCharField(  # noqa: N815 - the wire name, as in Step Functions' TestState
        required=False,
        max_length=80,
        help_text="The state to test when `definition` is a whole definition (top level or "
        "nested in a Parallel or Map).",
    )
    input = serializers.JSONField(
        required=False, allow_null=True, default=dict, help_text="The state's input; absent: {}."
    )
    result = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="For a Task: the result its resource would have returned (it is not run).",
    )
    error = StrictCharField(
        required=False,
        max_length=256,
        help_text="For a Task: the error its resource would have raised (Retry/Catch apply).",
    )
    cause = StrictCharField(required=False, allow_blank=True, max_length=32768, default="")
    variables = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="Variables in scope when the state starts (`$name` / JSONata `$name`).",
    )


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string (DRF's UUIDField also takes integers, and false as 0)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class BulkActionSerializer(serializers.Serializer):
    MAX_IDS = 100

    ids = serializers.ListField(
        child=StrictUUIDField(),
        min_length=1,
        max_length=MAX_IDS,
        help_text=f"The executions, 1 to {MAX_IDS} ids; one result each, in this order.",
    )
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")
