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
