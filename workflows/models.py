"""Persistent state: flows and their immutable versions, executions and their history.

Only ``workflows.services`` writes Execution, Event, TaskAttempt and Timer rows.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import models


class Flow(models.Model):
    """A named workflow; its definition lives in numbered, immutable versions."""

    name = models.SlugField(max_length=80, unique=True, allow_unicode=False)
    description = models.TextField(blank=True)
    latest_version = models.PositiveIntegerField(default=0)
    example_input = models.JSONField(
        null=True, blank=True, help_text="Prefills the start dialog; purely a convenience."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        permissions = [("design_flow", "Can create, change and delete flows")]

    def __str__(self) -> str:
        return self.name

    @property
    def current(self) -> FlowVersion | None:
        return self.versions.filter(number=self.latest_version).first()


class FlowVersion(models.Model):
    """One saved definition of a flow. Never modified after it is created."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    source = models.TextField(help_text="The definition exactly as submitted (JSON or YAML).")
    source_format = models.CharField(max_length=8, default="json")
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flowversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} v{self.number}"

    @property
    def parsed(self) -> dict[str, Any]:
        """The definition in source order (PostgreSQL's jsonb does not keep key order)."""
        return definition_of(self.pk)


def definition_for(execution: Execution) -> dict[str, Any]:
    """What an execution runs: its version's definition, or for a Distributed Map
    iteration the processor inside it."""
    return scoped_definition(execution.version_id, execution.scope)


@lru_cache(maxsize=1024)
def scoped_definition(version_id: int, scope: str) -> dict[str, Any]:
    """``definition_for`` by the execution's fields, for code that has not loaded it."""
    from .engine import sub_machine

    definition = definition_of(version_id)
    return sub_machine(definition, scope) if scope else definition


@lru_cache(maxsize=1024)
def definition_of(version_id: int) -> dict[str, Any]:
    """The parsed definition of a version, cached: versions never change."""
    from .engine import SourceError, parse
    from .engine.payloads import MAX_DEPTH_CEILING

    source, source_format, saved = FlowVersion.objects.values_list(
        "source", "source_format", "definition"
    ).get(pk=version_id)
    # Validated when saved; the ceiling, not today's setting, so that lowering the setting
    # never makes a saved version unreadable.
    try:
        parsed = parse(source, MAX_DEPTH_CEILING).data
    except SourceError:  # saved before nesting was limited
        return saved
    if source_format == "yaml" and parsed != saved:
        # Saved when YAML was read as YAML 1.1 (`yes` was true, `017` fifteen): the version
        # keeps the meaning it was validated with, in the column's key order.
        return saved
    return parsed


class Execution(models.Model):
    """One run of a flow version. The row is the lock every transition takes."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        ABORTED = "ABORTED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="executions")
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="executions")
    name = models.CharField(max_length=80)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=256, blank=True, default="")
    cause = models.TextField(blank=True, default="")
    snapshot = models.JSONField(default=dict)
    next_seq = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The execution whose Task (flow:…) started this one.",
    )
    redrive_count = models.PositiveIntegerField(default=0)
    rerun_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
        help_text="The execution this one re-runs from a chosen state.",
    )
    scope = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="For a Distributed Map iteration: the pointer of the processor it runs.",
    )
    parent_token = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_index=True,
        help_text="The parent's task token to complete when this one ends (flow:….sync).",
    )
    depth = models.PositiveSmallIntegerField(
        default=0,
        help_text="How many flow:… tasks started this one: 0 for an execution started by a "
        "user, its parent's depth + 1 for a child (a Distributed Map run keeps its parent's).",
    )
    root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="descendant_executions",
        help_text="The execution a user started that this one descends from (through flow:… "
        "tasks and Distributed Map runs); empty for that execution itself.",
    )
    descendants = models.PositiveIntegerField(
        default=0,
        help_text="For an execution a user started: how many child executions its "
        "descendants have started (Distributed Map runs not counted), never lowered; "
        "bounded by LEGATO_MAX_DESCENDANTS.",
    )

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            (
                "operate_execution",
                "Can start, stop, redrive and re-run executions, and complete task tokens",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["flow", "name"], name="execution_unique_name")
        ]
        indexes = [
            models.Index(fields=["status", "-started_at"]),
            models.Index(fields=["flow", "-started_at"]),
            # Counting a flow's running executions (its cap) reads only these.
            models.Index(
                fields=["flow"],
                condition=models.Q(status="RUNNING", scope=""),
                name="execution_running_by_flow",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow.name}/{self.name}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.RUNNING

    @property
    def duration(self) -> float | None:
        if self.stopped_at is None:
            return None
        return (self.stopped_at - self.started_at).total_seconds()

    @property
    def duration_display(self) -> str | None:
        """``850 ms``, ``12.3 s``, ``4m 05s``, ``2h 03m``, ``3d 04h``."""
        seconds = self.duration
        if seconds is None:
            return None
        if seconds < 1:
            return f"{seconds * 1000:.0f} ms"
        if seconds < 60:
            return f"{seconds:.1f} s"
        minutes, secs = divmod(int(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        if days:
            return f"{days}d {hours:02d}h"
        if hours:
            return f"{hours}h {minutes:02d}m"
        return f"{minutes}m {secs:02d}s"


class Event(models.Model):
    """One history event. Append-only; ``(execution, seq)`` makes each transition unique."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=48)
    timestamp = models.DateTimeField()
    state = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001 - null: no state
    status = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 - null: unchanged
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["execution", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "seq"], name="event_unique_seq")
        ]

    def __str__(self) -> str:
        return f"{self.execution_id}#{self.seq} {self.type}"

    def as_dict(self) -> dict:
        return {
            "seq": self.seq,
            "type": self.type,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "state": self.state,
            "status": self.status,
            "details": self.details,
        }


class TaskAttempt(models.Model):
    """One attempt at running a Task state's resource.

    Created in the same transaction as the transition that scheduled it, before any
    message is published; the Celery message carries only its id. ``claim`` is a fencing
    token: only the worker holding the current claim may record a result.
    """

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED"
        RUNNING = "RUNNING"
        WAITING = "WAITING", "Waiting for its task token"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="attempts")
    key = models.CharField(max_length=32, help_text="The interpreter's key for this attempt.")
    state = models.CharField(max_length=80)
    resource = models.CharField(max_length=256)
    queue = models.CharField(max_length=64, blank=True, default="")
    attempt = models.PositiveIntegerField(default=1)
    idempotency_key = models.CharField(max_length=200)
    item_index = models.PositiveIntegerField(
        null=True, blank=True, help_text="The Map item a Distributed Map run is for."
    )
    token = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text="The task token of a callback task (.waitForTaskToken, activity:, flow:….sync).",
    )
    input = models.JSONField(null=True, blank=True)
    started = models.JSONField(
        null=True,
        blank=True,
        help_text="The TaskStarted history event a claim records ({} for none), decided by "
        "the interpreter when it scheduled the attempt.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    claim = models.UUIDField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True, default="")
    claims = models.PositiveIntegerField(default=0, help_text="How many times it was claimed.")
    lease_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_count = models.PositiveIntegerField(default=0)
    scheduled_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=256, blank=True, default="")
    cause = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["execution", "scheduled_at"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "key"], name="attempt_unique_key")
        ]
        indexes = [models.Index(fields=["status", "published_at"])]

    def __str__(self) -> str:
        return f"{self.execution_id}:{self.key} {self.state} #{self.attempt}"


class Timer(models.Model):
    """A durable point in time the interpreter waits for (Wait, retry back-off, timeouts)."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="timers")
    key = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    fire_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["fire_at"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "key"], name="timer_unique_key")
        ]
        indexes = [models.Index(fields=["fired_at", "fire_at"])]

    def __str__(self) -> str:
        return f"{self.execution_id}:{self.key} {self.kind} at {self.fire_at}"


class StepLog(models.Model):
    """A line a task handler logged, kept per attempt and streamed to the viewer."""

    attempt = models.ForeignKey(TaskAttempt, on_delete=models.CASCADE, related_name="logs")
    seq = models.PositiveIntegerField()
    timestamp = models.DateTimeField()
    level = models.CharField(max_length=10)
    message = models.TextField()

    class Meta:
        ordering = ["attempt", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "seq"], name="steplog_unique_seq")
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.seq} {self.level}"

    def as_dict(self) -> dict:
        return {
            "attempt": self.attempt_id,
            "seq": self.seq,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "level": self.level,
            "message": self.message,
        }


class AuditEntry(models.Model):
    """Who did what to which execution or flow, when, and why."""

    class Action(models.TextChoices):
        START = "start"
        STOP = "stop"
        REDRIVE = "redrive"
        RERUN = "rerun"
        TASK_SUCCESS = "task_success", "Complete a task token"
        TASK_FAILURE = "task_failure", "Fail a task token"
        FLOW_SAVE = "flow_save", "Save a flow version"
        FLOW_DELETE = "flow_delete", "Delete a flow"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.CharField(
        max_length=200, db_index=True, help_text="execution:<id> or flow:<name>"
    )
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target}"


class ApiToken(models.Model):
    """A user's API key (``Authorization: Token <key>``), kept only as its SHA-256.

    The key is 160 random bits, so one unsalted hash suffices: nothing guessable to look
    up in a table, and a lookup by digest stays one indexed query. Whoever reads the
    database (a copied file, a backup) gets digests, not keys. ``workflows.tokens`` makes
    and checks them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    last_four = models.CharField(
        max_length=4, editable=False, help_text="The key's last characters, to recognise it."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.user} …{self.last_four}"
