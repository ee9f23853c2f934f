"""The key that signs session cookies: `OPENSPM_SECRET_KEY`, or a random key kept in the data directory.

On first start without `OPENSPM_SECRET_KEY`, 32 random bytes are written to `<data dir>/secret.key`
(mode 0600; the data directory is git-ignored) and read back on every later start, so sessions survive
a restart, and every worker of `openspm serve --workers N` reads the same key. Set `OPENSPM_SECRET_KEY` when
several machines share one store.
"""

from __future__ import annotations

import os
import secrets
import tempfile
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
    # Written whole to a private temporary file, then linked into place: a worker starting at the same moment
    # either finds no file (and links its own, losing the race cleanly) or a complete one, never a half-written key.
    descriptor, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        os.link(temporary, path)
    except FileExistsError:  # another worker linked its key a moment ago
        return path.read_text(encoding="utf-8").strip()
    finally:
        Path(temporary).unlink()
    return key
