"""Audit entries: who changed what, when, with the values before and after.

`audit(session, actor, action, entity, key, before=..., after=..., note=...)` adds one `audit_log` row in the
caller's transaction, so the entry commits (or rolls back) with the change it records; `add_audited(session, row,
...)` adds a new row, flushes it and audits it under its id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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


def add_audited(
    session: Session,
    row: Any,
    *,
    actor: str,
    action: str,
    entity: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Add `row` (a new comment, adjustment, survey ...), flush it for its id, and audit that change with the id
    as the entry's key."""
    session.add(row)
    session.flush()
    audit(session, actor, action, entity, str(row.id), before=before, after=after, note=note)


def values_before(session: Session, entity: str, at: Any, keys: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """What audited updates of `entity` made after `at` changed, as it stood at `at`: key → field → the
    `before` of the first update of that field since (undo these over today's rows to see them as at `at`)."""
    query = select(m.AuditEntry.entity_key, m.AuditEntry.before).where(
        m.AuditEntry.entity == entity, m.AuditEntry.action == "update", m.AuditEntry.at > at
    )
    found: dict[str, dict[str, Any]] = {}
    chunks = [keys[i : i + 500] for i in range(0, len(keys), 500)] if keys is not None else [None]
    for chunk in chunks:
        selected = query if chunk is None else query.where(m.AuditEntry.entity_key.in_(chunk))
        for key, before in session.execute(selected.order_by(m.AuditEntry.at, m.AuditEntry.id)):
            fields = found.setdefault(key, {})
            for name, value in (before or {}).items():
                fields.setdefault(name, value)
    return found
