"""The only writer of execution state.

Every change to an execution follows one shape: open a transaction, lock the execution
row, let the pure interpreter compute the next step, save the snapshot, append the
history events with consecutive sequence numbers, create the attempts and timers it
asked for, and only after commit publish the attempts to the broker and the events to
the channel layer. ``UNIQUE(execution, seq)`` plus the row lock make each transition
happen exactly once, however many workers, sweepers or web processes race for it.

The package is split by concern: ``core`` (the transition), ``flows``, ``executions``,
``attempts`` (claims, leases, results), ``callbacks`` (task tokens, activities, child
executions) and ``recovery`` (timers, the sweeper). Import from here.
"""

from __future__ import annotations

from .attempts import (
    Claim,
    append_logs,
    claim_attempt,
    claim_orphan,
    complete_and_continue,
    complete_attempt,
    heartbeat_attempt,
    renew_lease,
    worker_name,
)
from .callbacks import (
    TaskTimedOut,
    TaskTokenInvalid,
    complete_token,
    heartbeat_token,
    notify_parent,
)
from .core import audit, execution_summary
from .errors import (
    DefinitionInvalid,
    ExecutionAlreadyExists,
    FlowAlreadyExists,
    PayloadTooLarge,
    ServiceError,
)
from .executions import (
    NotRedrivable,
    redrive_execution,
    rerun_execution,
    start_execution,
    stop_execution,
)
from .flows import check_definition, create_flow, import_definition, save_flow_version
from .recovery import SweepReport, fire_timer, next_timer_at, sweep

__all__ = [
    "worker_name",
    "audit",
    "NotRedrivable",
    "redrive_execution",
    "rerun_execution",
    "TaskTimedOut",
    "TaskTokenInvalid",
    "complete_token",
    "heartbeat_token",
    "notify_parent",
    "Claim",
    "DefinitionInvalid",
    "ExecutionAlreadyExists",
    "FlowAlreadyExists",
    "PayloadTooLarge",
    "ServiceError",
    "SweepReport",
    "append_logs",
    "check_definition",
    "claim_attempt",
    "claim_orphan",
    "complete_and_continue",
    "complete_attempt",
    "create_flow",
    "execution_summary",
    "fire_timer",
    "heartbeat_attempt",
    "import_definition",
    "next_timer_at",
    "renew_lease",
    "save_flow_version",
    "start_execution",
    "stop_execution",
    "sweep",
]
