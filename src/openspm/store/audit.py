"""Audit entries: who changed what, when, with the values before and after.

`audit(session, actor, action, entity, key, before=..., after=..., note=...)` adds one `audit_log` row in the
caller's transaction, so the entry commits (or rolls back) with the change it records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.store import models as m


def audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_key: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Record one change (insert, update, delete, approve, reopen ...) of `entity` row `entity_key`."""
    session.add(
        m.AuditEntry(
            at=utc_now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_key=entity_key,
            before=before,
            after=after,
            note=note,
        )
    )
