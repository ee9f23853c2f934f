"""One error family for every failed operation.

Each error carries the HTTP status the web layer answers with; the CLI prints
`str(error)` on one line to stderr and exits non-zero. No traceback for a user
mistake.
"""

from __future__ import annotations


class OpenSpmError(Exception):
    """Base of every error a user can cause or see."""

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(OpenSpmError):
    """A value, option or argument a user gave is not acceptable."""

    http_status = 422
    exit_code = 2


class FileFormatError(InvalidInput):
    """A whole input file cannot be read: wrong encoding, not a table, missing column."""


class NotFound(OpenSpmError):
    """A named thing (payee, period, run, ...) does not exist."""

    http_status = 404
    exit_code = 3


class Conflict(OpenSpmError):
    """The operation clashes with the current state (e.g. a store that is not empty)."""

    http_status = 409
    exit_code = 4


class StoreError(OpenSpmError):
    """The store cannot be reached or is not at the expected schema version."""

    http_status = 503
    exit_code = 5
