"""Admin site: every model browsable; execution state read-only (services write it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages

from . import services, tokens
from .models import (
    ApiToken,
    AuditEntry,
    Event,
    Execution,
    Flow,
    FlowVersion,
    StepLog,
    TaskAttempt,
    Timer,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Execution state is written only by the service layer, never by hand."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class FlowVersionInline(admin.TabularInline):
    model = FlowVersion
    fields = ["number", "source_format", "created_at", "created_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "latest_version", "description", "updated_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["latest_version", "created_at", "updated_at", "created_by"]
    inlines = [FlowVersionInline]


@admin.register(FlowVersion)
class FlowVersionAdmin(ReadOnlyAdmin):
    list_display = ["flow", "number", "source_format", "created_at", "created_by"]
    list_filter = ["source_format"]
    search_fields = ["flow__name"]


class EventInline(admin.TabularInline):
    model = Event
    fields = ["seq", "type", "state", "status", "timestamp"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["seq"]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["name", "flow", "version", "status", "started_at", "stopped_at"]
    list_filter = ["status", "flow"]
    search_fields = ["name", "id", "flow__name"]
    date_hierarchy = "started_at"
    list_select_related = ["flow", "version"]
    inlines = [EventInline]
    actions = ["stop_executions"]

    @admin.action(description="Stop selected running executions")
    def stop_executions(self, request: Any, queryset: Any) -> None:
        stopped = sum(
            services.stop_execution(
                pk, "Legato.AdminStop", f"Stopped by {request.user} in admin", request.user
            )
            for pk in queryset.filter(status=Execution.Status.RUNNING).values_list("pk", flat=True)
        )
        self.message_user(request, f"Stopped {stopped} execution(s).", messages.SUCCESS)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        # Needed for the stop action to appear; the change form itself stays read-only.
        return obj is None and request.user.has_perm("workflows.change_execution")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["execution", "seq", "type", "state", "status", "timestamp"]
    list_filter = ["type", "status"]
    search_fields = ["execution__name", "state"]
    list_select_related = ["execution"]


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "execution",
        "state",
        "resource",
        "attempt",
        "status",
        "claims",
        "scheduled_at",
        "finished_at",
    ]
    list_filter = ["status", "resource", "queue"]
    search_fields = ["execution__name", "state", "idempotency_key"]
    list_select_related = ["execution"]


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ["execution", "key", "kind", "fire_at", "fired_at"]
    list_filter = ["kind"]
    list_select_related = ["execution"]


admin.site.site_header = "Legato administration"
admin.site.site_title = "Legato admin"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "action", "target", "reason"]
    list_filter = ["action"]
    search_fields = ["target", "reason", "user__username"]
    date_hierarchy = "at"


@admin.register(StepLog)
class StepLogAdmin(ReadOnlyAdmin):
    list_display = ["attempt", "seq", "level", "timestamp", "message"]
    list_filter = ["level"]
    search_fields = ["message"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Revoke anyone's token (delete it), or make one for a user: the key is shown once,
    in the message after saving, since only its SHA-256 is kept."""

    list_display = ["user", "last_four", "created"]
    search_fields = ["user__username"]
    fields = ["user"]
    list_select_related = ["user"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # a key cannot be edited, only replaced (delete, then add)

    def save_model(self, request: Any, obj: ApiToken, form: Any, change: bool) -> None:
        key = tokens.set_new_key(obj)
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            f"New API token for {obj.user}: {key} (copy it now: it is not shown again).",
            messages.WARNING,
        )
