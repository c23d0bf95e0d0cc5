"""ASL error names and the exception the interpreter uses to carry them."""

from __future__ import annotations

from .payloads import printable

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
BRANCH_FAILED = "States.BranchFailed"
PERMISSIONS = "States.Permissions"

# Errors that no Catch or Retry may intercept: they mean the definition or the
# platform is broken, not the step.
UNCATCHABLE = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(Exception):
    """An ASL error: a name (``States.*`` or user-defined) and a human-readable cause."""

    def __init__(self, error: str, cause: str = "", aliases: tuple[str, ...] = ()) -> None:
        # An error or cause may quote a value parsed at run time; the history, the
        # execution row and the API must still be able to store and print it.
        error = printable(error) if isinstance(error, str) else error
        cause = printable(cause) if isinstance(cause, str) else cause
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        # Other names Retry/Catch may match it by: a heartbeat timeout *is* States.Timeout
        # (that is what the history and the execution report) but States.HeartbeatTimeout
        # catches it too.
        self.aliases = aliases


def _http_class(error: str) -> str | None:
    """``Http.404`` is also an ``Http.4xx``, so one retrier can cover a class of statuses."""
    if error.startswith("Http.") and len(error) == 8 and error[5:].isdigit():
        return f"Http.{error[5]}xx"
    return None


def matches(error_equals: list[str], error: str, aliases: tuple[str, ...] = ()) -> bool:
    """Whether a Retry/Catch ``ErrorEquals`` list applies to ``error``.

    ``States.ALL`` matches everything except the uncatchable runtime errors, and
    ``States.TaskFailed`` matches every error except ``States.Timeout``.
    """
    if error in UNCATCHABLE:
        return False
    status_class = _http_class(error)
    for name in error_equals:
        if name in (error, ALL) or name in aliases or name == status_class:
            return True
        if name == TASK_FAILED and error != TIMEOUT and not error.startswith("States.Runtime"):
            return True
    return False
