"""The errors of signing in: no or bad credentials (401) and too many failed attempts (429)."""

from __future__ import annotations

from openspm.core.errors import OpenSpmError


class Unauthorized(OpenSpmError):
    """No credentials, or credentials that do not hold: wrong password, unknown, revoked or malformed token."""

    http_status = 401
    exit_code = 6


class TooManyAttempts(OpenSpmError):
    """Too many failed sign-ins for one email in the throttle window."""

    http_status = 429
    exit_code = 7

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
