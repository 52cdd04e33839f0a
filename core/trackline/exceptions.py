"""Errors raised by trackline, with MLflow's error codes and HTTP statuses.

Clients (ours and MLflow's) branch on ``error_code``; the message is for people and always
names the field and the rule that was broken.
"""

from __future__ import annotations

import json
from typing import Any

# error_code -> HTTP status, as the reference server answers.
_HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "CUSTOMER_UNAUTHORIZED": 401,
    "ALREADY_EXISTS": 409,
    "RESOURCE_CONFLICT": 409,
    "ABORTED": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
BAD_REQUEST = "BAD_REQUEST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
INTERNAL_ERROR = "INTERNAL_ERROR"
INVALID_STATE = "INVALID_STATE"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"


class TracklineException(Exception):
    """The one exception type of the tracking API; ``MlflowException`` is an alias."""

    def __init__(self, message: Any, error_code: str = INTERNAL_ERROR, **details: Any) -> None:
        self.message = str(message)
        self.error_code = error_code if error_code in _HTTP_STATUS else INTERNAL_ERROR
        self.details = details
        super().__init__(self.message)

    @classmethod
    def invalid_parameter_value(cls, message: str, **details: Any) -> TracklineException:
        return cls(message, INVALID_PARAMETER_VALUE, **details)

    def get_http_status_code(self) -> int:
        return _HTTP_STATUS.get(self.error_code, 500)

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.message, **self.details})


class MissingPluginError(TracklineException):
    """No installed plugin handles a URI scheme or name; the message says what to install."""

    def __init__(self, message: str) -> None:
        super().__init__(message, INVALID_PARAMETER_VALUE)


MlflowException = TracklineException
