"""Errors the service layer raises, each with a stable code and HTTP status."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the service layer refuses, with a stable code for the API."""

    code = "InvalidRequest"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DefinitionInvalid(ServiceError):
    code = "InvalidDefinition"


class ExecutionInputInvalid(ServiceError):
    """The input makes the first steps impossible to run (a wait of 1e300 seconds)."""

    code = "InvalidExecutionInput"


class ExecutionLimitExceeded(ServiceError):
    """The flow has as many running executions as it may (Step Functions' name)."""

    code = "ExecutionLimitExceeded"
    status = 429


class ChildDepthExceeded(ServiceError):
    """A child execution would be nested deeper than allowed (a flow that starts itself)."""

    code = "ChildDepthExceeded"
    status = 409


class DescendantLimitExceeded(ServiceError):
    """The executions descending from one root have started as many children as they may
    (a flow that starts itself without waiting, so no depth or running cap stops it)."""

    code = "DescendantLimitExceeded"
    status = 409


class ExecutionAlreadyExists(ServiceError):
    code = "ExecutionAlreadyExists"
    status = 409


class FlowAlreadyExists(ServiceError):
    code = "FlowAlreadyExists"
    status = 409


class PayloadInvalid(ServiceError):
    code = "InvalidPayload"


class PayloadTooLarge(ServiceError):
    code = "PayloadTooLarge"
    status = 413
