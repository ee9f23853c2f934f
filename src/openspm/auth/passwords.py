"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile).

`hash_password("s3cret")` → `$argon2id$v=19$m=65536,t=3,p=4$...`; `verify_password(hash, "s3cret")` → True.
A hash made with older parameters still verifies; `needs_rehash` says when to store a new one.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from openspm.core.errors import InvalidInput

_HASHER = PasswordHasher()
# Each hash or check takes 64 MiB for ~50 ms: at most 4 at once, so a burst of sign-ins queues instead of
# taking gigabytes of memory.
_SLOTS = threading.BoundedSemaphore(4)
MIN_LENGTH = 8
# Verified against when the email is unknown, so an unknown email takes as long as a wrong password.
_DUMMY = _HASHER.hash("openspm-no-such-user")


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (InvalidInput when it is shorter than 8 characters)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    with _SLOTS:
        return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`; a missing hash verifies a dummy and answers False."""
    try:
        with _SLOTS:
            return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with parameters other than today's."""
    return _HASHER.check_needs_rehash(password_hash)
