"""The key that signs session cookies: `OPENSPM_SECRET_KEY`, or a random key kept in the data directory.

On first start without `OPENSPM_SECRET_KEY`, 32 random bytes are written to `<data dir>/secret.key`
(mode 0600; the data directory is git-ignored) and read back on every later start, so sessions survive
a restart. Set `OPENSPM_SECRET_KEY` when several servers share one store.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from openspm.store.db import data_dir

ENV = "OPENSPM_SECRET_KEY"
FILE = "secret.key"


def secret_key(directory: Path | None = None) -> str:
    """The session signing key (see the module docstring)."""
    configured = os.environ.get(ENV)
    if configured:
        return configured
    path = (directory or data_dir()) / FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it a moment ago
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
