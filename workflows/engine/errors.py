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
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"

# Errors that no Catch or Retry may intercept: they mean the definition or the
# platform is broken, not the step.
UNCATCHABLE = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})

# Errors whose cause Step Functions prefixes with the state that raised them and the id of
# the history event that entered it (see ``located``).
LOCATED = frozenset({RUNTIME, QUERY_EVALUATION_ERROR})


class StatesError(Exception):
    """An ASL error: a name (``States.*`` or user-defined) and a human-readable cause."""

    def __init__(
        self,
        error: str | None,
        cause: str | None = "",
        aliases: tuple[str, ...] = (),
        propagated: bool = False,
        state_failed: bool = False,
    ) -> None:
        # An error or cause may quote a value parsed at run time; the history, the
        # execution row and the API must still be able to store and print it.
        error = printable(error) if isinstance(error, str) else error
        cause = printable(cause) if isinstance(cause, str) else cause
        super().__init__(f"{error}: {cause}" if cause else str(error))
        # A Fail state without Error fails with no error name at all (error None).
        self.error = error
        self.cause = cause
        # Other names Retry/Catch may match it by: a heartbeat timeout *is* States.Timeout
        # (that is what the history and the execution report) but States.HeartbeatTimeout
        # catches it too.
        self.aliases = aliases
        # Passed up from a Parallel branch or Map iteration: the state that raised it
        # already reported it (EvaluationFailed) and located its cause.
        self.propagated = propagated
        # The state reports <Type>StateFailed after EvaluationFailed (a Map whose items
        # cannot be evaluated, as Step Functions records it).
        self.state_failed = state_failed


def located(state: str, event_id: int, cause: str | None) -> str:
    """A runtime cause as Step Functions words it: which state, entered at which event."""
    return (
        f"An error occurred while executing the state '{state}' "
        f"(entered at the event id #{event_id}). {cause or ''}"
    ).rstrip()


def _http_class(error: str) -> str | None:
    """``Http.404`` is also an ``Http.4xx``, so one retrier can cover a class of statuses."""
    if error.startswith("Http.") and len(error) == 8 and error[5:].isdigit():
        return f"Http.{error[5]}xx"
    return None


def matches(error_equals: list[str], error: str | None, aliases: tuple[str, ...] = ()) -> bool:
    """Whether a Retry/Catch ``ErrorEquals`` list applies to ``error``.

    ``States.ALL`` matches everything except the uncatchable runtime errors, and
    ``States.TaskFailed`` matches every error except ``States.Timeout``.
    """
    if error in UNCATCHABLE:
        return False
    error = error or ""  # nameless (a Fail state without Error): States.ALL still matches
    status_class = _http_class(error)
    for name in error_equals:
        if name in (error, ALL) or name in aliases or name == status_class:
            return True
        if name == TASK_FAILED and error != TIMEOUT and not error.startswith("States.Runtime"):
            return True
    return False
