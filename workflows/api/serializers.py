"""Request validation and response shapes for the REST API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import Event, Execution, Flow, FlowVersion

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"


class DefinitionField(serializers.Field):
    """A definition as a JSON object, or as JSON/YAML text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict | str):
            return data
        raise serializers.ValidationError("must be a JSON object or a JSON/YAML string")

    def to_representation(self, value: Any) -> Any:
        return value


class FlowCreateSerializer(serializers.Serializer):
    name = serializers.RegexField(
        NAME_PATTERN,
        max_length=80,
        error_messages={"invalid": "use 1-80 letters, digits, '-' or '_'"},
    )
    definition = DefinitionField()
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )
    example_input = serializers.JSONField(required=False, allow_null=True, default=None)


class FlowUpdateSerializer(serializers.Serializer):
    definition = DefinitionField()
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ValidateSerializer(serializers.Serializer):
    definition = DefinitionField()


class StartExecutionSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False)
    name = serializers.RegexField(
        NAME_PATTERN,
        max_length=80,
        required=False,
        error_messages={"invalid": "use 1-80 letters, digits, '-' or '_'"},
    )


class RedriveSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RerunSerializer(RedriveSerializer):
    state = serializers.CharField(max_length=80)


class StopExecutionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    error = serializers.CharField(required=False, allow_blank=True, max_length=256, default="")
    cause = serializers.CharField(required=False, allow_blank=True, max_length=32768, default="")


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
