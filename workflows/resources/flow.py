"""``flow:<name>`` (start a child execution and go on) and ``flow:<name>.sync`` (wait for it).

The child's failure is the parent step's error (its error name and cause), so Retry and
Catch on the parent Task handle it like any other task failure.
"""

from __future__ import annotations

from typing import Any

from ..engine.distributed import MAP_RESOURCE
from . import TaskContext, TaskError


def run_child(flow_name: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    from ..services import ServiceError
    from ..services.callbacks import start_child_execution
    from ..services.errors import (
        ChildDepthExceeded,
        DescendantLimitExceeded,
        ExecutionLimitExceeded,
    )

    try:
        child = start_child_execution(
            context.execution_id, flow_name, payload, context.idempotency_key, context.task_token
        )
    except (ChildDepthExceeded, DescendantLimitExceeded, ExecutionLimitExceeded) as exc:
        # Named apart: a Retry may wait for a running cap to clear; a depth or a root's
        # count of descendants never clears.
        raise TaskError(f"Legato.{exc.code}", exc.message) from exc
    except ServiceError as exc:
        raise TaskError("Legato.ChildExecutionNotStarted", exc.message) from exc
    return {
        "ExecutionId": str(child.pk),
        "ExecutionName": child.name,
        "Flow": flow_name,
        "StartDate": child.started_at.isoformat().replace("+00:00", "Z"),
    }


def run_map_iteration(pointer: str, payload: Any, context: TaskContext) -> dict[str, Any]:
    from ..services.callbacks import start_map_run

    child = start_map_run(
        context.execution_id, pointer, payload, context.idempotency_key, context.task_token or ""
    )
    return {"ExecutionId": str(child.pk)}


def resolve(resource: str) -> Any:
    if resource.startswith(MAP_RESOURCE):
        pointer = resource.removeprefix(MAP_RESOURCE)
        return lambda payload, context: run_map_iteration(pointer, payload, context)
    name = resource.removeprefix("flow:").removesuffix(".sync")
    if not name:
        return None
    return lambda payload, context: run_child(name, payload, context)
