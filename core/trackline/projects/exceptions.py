"""The error a project run raises: bad project, bad parameters, failed fetch, build or command."""

from __future__ import annotations

from typing import Any

from trackline.exceptions import INVALID_PARAMETER_VALUE, TracklineException


class ExecutionException(TracklineException):
    """A project cannot be run, or its run failed (MLflow's ``ExecutionException``).

    The error code is ``INVALID_PARAMETER_VALUE``: every cause (a missing entry point, a
    parameter of the wrong type, an unreachable repository, a failing environment build, a
    command that exits non-zero) is fixed on the user's side.
    """

    def __init__(self, message: Any, error_code: str = INVALID_PARAMETER_VALUE, **details: Any):
        super().__init__(message, error_code, **details)
