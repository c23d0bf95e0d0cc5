"""Starting and stopping executions."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import engine
from ..models import (
    Execution,
    Flow,
    FlowVersion,
    definition_for,
)
from .core import (
    UNRECORDABLE,
    _check_payload,
    _persist,
    _transition,
    _user,
    audit,
    describe,
)
from .errors import (
    DescendantLimitExceeded,
    ExecutionAlreadyExists,
    ExecutionInputInvalid,
    ExecutionLimitExceeded,
    ServiceError,
)


def start_execution(
    flow: Flow,
    input: Any = None,
    name: str | None = None,
    user: Any = None,
    version: FlowVersion | None = None,
    parent_id: Any = None,
    parent_token: str = "",
    scope: str = "",
    start_at: str | None = None,
    rerun_of: Any = None,
    reason: str = "",
    depth: int = 0,
    root: Any = None,
) -> tuple[Execution, bool]:
    """Start an execution of a flow's latest version (or ``version``).

    Starting again with the same name and the same input while the first is still open
    returns the first (``created`` is false); any other reuse of a name is refused.
    ``root`` is the execution a user started that this child descends from.
    """
    input = {} if input is None else input
    _check_payload(input, "input")
    if not scope:
        try:
            _check_running_cap(flow)
        except ExecutionLimitExceeded:
            # A repeated start (a client's retry) gets its execution even at the cap.
            # Otherwise the name is left to UNIQUE(flow, name): a lookup first would cost
            # every start a query and still not stop two at the same moment.
            if name and (existing := _started_before(flow, name, input)) is not None:
                return existing, False
            raise
    version = version or flow.versions.get(number=flow.latest_version)
    execution_id = uuid.uuid4()
    execution = Execution(
        id=execution_id,
        flow=flow,
        version=version,
        name=name or str(execution_id),
        input=input,
        started_at=timezone.now(),
        started_by=_user(user),
        snapshot={},
        parent_id=parent_id,
        parent_token=parent_token,
        scope=scope,
        rerun_of_id=rerun_of,
        depth=depth,
        root_id=root,
    )
    step = _first_steps(execution, start_at)
    try:
        _insert(execution, step, user, reason)
    except IntegrityError:
        existing = _started_before(flow, execution.name, input)
        if existing is None:
            raise  # not the name: some other constraint refused a row, a server error
        return existing, False
    return execution, True


def _started_before(flow: Flow, name: str, input: Any) -> Execution | None:
    """The open execution that a start with this name and input repeats; None if the name
    is free. Any other use of a taken name is refused."""
    existing = Execution.objects.filter(flow=flow, name=name).first()
    if existing is None:
        return None
    if existing.is_open and existing.input == input:
        return existing
    raise ExecutionAlreadyExists(
        f"An execution named {name!r} already exists for flow {flow.name!r}."
    ) from None


def _insert(execution: Execution, step: engine.Step, user: Any, reason: str) -> None:
    """Write a new execution and its first steps, in one transaction."""
    try:
        with transaction.atomic():
            execution.save(force_insert=True)
            _persist(execution, step, execution.started_at)
            if execution.root_id is not None and not execution.scope:
                _count_descendant(execution.root_id)
            if user is not None:
                target = f"execution:{execution.pk}"
                audit(user, "start", target, reason, flow=execution.flow.name)
    except UNRECORDABLE as exc:  # what the first steps led to (a Map gathering nothing)
        raise ExecutionInputInvalid(
            f"The execution cannot start with this input: {describe(exc)}"
        ) from exc


def _count_descendant(root_id: Any) -> None:
    """Count one more child execution against its root, or refuse it at the limit.

    One conditional UPDATE of the root's row: exact however many starts race (the
    database serialises them on that row), O(1) however many descendants there are, and
    rolled back with a start that fails. Done last in the start's transaction, so the
    root's row is held only from there to the commit.
    A counter of starts, never lowered: fire-and-forget children that end at once keep
    every running cap low, and still cannot grow a tree without end.
    """
    cap = settings.LEGATO["MAX_DESCENDANTS"]
    if not cap:
        return
    counted = Execution.objects.filter(pk=root_id, descendants__lt=cap).update(
        descendants=F("descendants") + 1
    )
    if not counted:
        raise DescendantLimitExceeded(
            f"The executions descending from {root_id} have started {cap} child executions, "
            "their limit (LEGATO_MAX_DESCENDANTS). Does a flow start itself?"
        )


def _check_running_cap(flow: Flow) -> None:
    """Refuse a start while the flow has its cap of running executions.

    Counted without a lock, so concurrent starts can pass the cap by their number: it is
    a bound on runaway fan-out (a flow that starts itself twice per level), not a quota.
    Distributed Map runs are not counted: MaxConcurrency and the item limit bound them.
    """
    cap = settings.LEGATO["MAX_RUNNING_PER_FLOW"]
    if not cap:
        return
    running = Execution.objects.filter(flow=flow, status=Execution.Status.RUNNING, scope="")
    if running.order_by().values("pk")[:cap].count() >= cap:
        raise ExecutionLimitExceeded(
            f"The flow {flow.name!r} has {cap} running executions, its limit "
            "(LEGATO_MAX_RUNNING_PER_FLOW); start again when some have ended."
        )


def _first_steps(execution: Execution, start_at: str | None) -> engine.Step:
    """The steps a start runs inline, computed before its transaction: their expressions
    may take a while, and on SQLite a transaction holds the whole database's write lock."""
    try:
        return engine.start(
            definition_for(execution),
            execution.input,
            now=execution.started_at,
            execution_id=str(execution.id),
            execution_name=execution.name,
            state_machine_name=execution.flow.name,
            seed=secrets.randbits(32),
            secret=secrets.token_hex(16),
            start_at=start_at,
            max_payload_bytes=settings.LEGATO["MAX_PAYLOAD_BYTES"],
            max_map_items=settings.LEGATO["MAX_MAP_ITEMS"],
            max_history=settings.LEGATO["MAX_HISTORY_EVENTS"],
            max_depth=settings.LEGATO["MAX_JSON_DEPTH"],
            max_step_bytes=settings.LEGATO["MAX_STEP_BYTES"],
        )
    except UNRECORDABLE as exc:
        raise ExecutionInputInvalid(
            f"The execution cannot start with this input: {describe(exc)}"
        ) from exc


def stop_execution(
    execution_id: Any, error: str = "", cause: str = "", user: Any = None, reason: str = ""
) -> bool:
    """Abort a running execution; its running attempts are cancelled and timers dropped."""
    with transaction.atomic():
        # An unnamed stop still gets an error name: the history and the API read better.
        stopped = _transition(
            execution_id,
            {"type": "stop", "error": error or "Legato.Stopped", "cause": cause or None},
        )
        if stopped and user is not None:
            audit(user, "stop", f"execution:{execution_id}", reason or cause, error=error)
    return stopped


class NotRedrivable(ServiceError):
    code = "ExecutionNotRedrivable"
    status = 409


def redrive_execution(execution_id: Any, user: Any = None, reason: str = "") -> Execution:
    """Run a failed, timed-out or aborted execution again from where it stopped (same
    execution, succeeded steps kept, redrive count + 1)."""
    with transaction.atomic():
        execution = Execution.objects.filter(pk=execution_id).only("status", "snapshot").first()
        if execution is None:
            raise NotRedrivable("There is no such execution.")
        if execution.status in (Execution.Status.RUNNING, Execution.Status.SUCCEEDED):
            raise NotRedrivable(f"A {execution.status} execution cannot be redriven.")
        if not execution.snapshot.get("redrive"):
            raise NotRedrivable("This execution has no point to redrive from.")
        if not _transition(execution_id, {"type": "redrive"}):
            raise NotRedrivable("The execution changed meanwhile; try again.")
        audit(user, "redrive", f"execution:{execution_id}", reason)
    return Execution.objects.get(pk=execution_id)


def rerun_execution(execution_id: Any, state: str, user: Any = None, reason: str = "") -> Execution:
    """Start a new execution of the same version at a chosen top-level state, with the
    input that state received in this one, linked to it."""
    original = Execution.objects.select_related("flow", "version").get(pk=execution_id)
    entered = [
        event
        for event in original.events.filter(type__endswith="StateEntered", state=state)
        if "frame" not in event.details
    ]
    if not entered:
        raise ServiceError(
            f"State {state!r} never ran at the top level of this execution, so there is no "
            "input to re-run it with.",
        )
    count = original.reruns.count() + 1
    name = f"{original.name[:60]}-rerun-{count}"
    execution, _ = start_execution(
        original.flow,
        entered[-1].details.get("input"),
        name,
        user=user,
        version=original.version,
        start_at=state,
        rerun_of=original.pk,
        reason=reason,
    )
    audit(user, "rerun", f"execution:{original.pk}", reason, state=state, rerun=str(execution.pk))
    return execution
