"""Starting and stopping executions."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import engine
from ..models import (
    Execution,
    Flow,
    FlowVersion,
    definition_for,
)
from .core import _check_payload, _persist, _transition, _user
from .errors import (
    ExecutionAlreadyExists,
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
) -> tuple[Execution, bool]:
    """Start an execution of a flow's latest version (or ``version``).

    Starting again with the same name and the same input while the first is still open
    returns the first (``created`` is false); any other reuse of a name is refused.
    """
    input = {} if input is None else input
    _check_payload(input, "input")
    version = version or flow.versions.get(number=flow.latest_version)
    execution_id = uuid.uuid4()
    name = name or str(execution_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                id=execution_id,
                flow=flow,
                version=version,
                name=name,
                input=input,
                started_at=now,
                started_by=_user(user),
                snapshot={},
                parent_id=parent_id,
                parent_token=parent_token,
                scope=scope,
            )
            step = engine.start(
                definition_for(execution),
                input,
                now=now,
                execution_id=str(execution.id),
                execution_name=name,
                state_machine_name=flow.name,
                seed=secrets.randbits(32),
                secret=secrets.token_hex(16),
                max_payload_bytes=settings.LEGATO["MAX_PAYLOAD_BYTES"],
            )
            _persist(execution, step, now)
    except IntegrityError:
        existing = Execution.objects.filter(flow=flow, name=name).first()
        if existing is not None and existing.is_open and existing.input == input:
            return existing, False
        raise ExecutionAlreadyExists(
            f"An execution named {name!r} already exists for flow {flow.name!r}."
        ) from None
    return execution, True


def stop_execution(execution_id: Any, error: str = "", cause: str = "", user: Any = None) -> bool:
    """Abort a running execution; its running attempts are cancelled and timers dropped."""
    return _transition(
        execution_id, {"type": "stop", "error": error or None, "cause": cause or None}
    )
