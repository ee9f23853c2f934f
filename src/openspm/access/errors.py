"""The error of an action a principal's role (or token scope) does not allow."""

from __future__ import annotations

from openspm.core.errors import OpenSpmError


class Forbidden(OpenSpmError):
    """The principal is known but may not do this (a finance user writing, a read-only token posting)."""

    http_status = 403
    exit_code = 8
