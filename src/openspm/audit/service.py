"""Read the audit log: filter by entity, actor, action, time and key; each entry's change as a field diff.

`entries(engine, ...)` answers one page, newest first, and how many entries match; `changes(entry)` lists the
fields an entry changed with their values before and after (an insert has only after, a delete only before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.store import models as m


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EntryView:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None

    @property
    def changes(self) -> list[Change]:
        """The fields whose value differs between before and after, by name."""
        before, after = self.before or {}, self.after or {}
        names = sorted(set(before) | set(after))
        return [
            Change(n, before.get(n), after.get(n))
            for n in names
            if before.get(n) != after.get(n) or (n in before) != (n in after)
        ]


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    actor: str | None = None
    action: str | None = None
    key: str | None = None  # the entity's id or key, exactly, or containing it
    since: date | None = None  # inclusive, UTC day
    until: date | None = None  # inclusive, UTC day


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=utc_now().tzinfo)


def entries(engine: Engine, where: AuditFilter, *, limit: int = 50, offset: int = 0) -> tuple[list[EntryView], int]:
    """Matching entries newest first, one page, and how many match."""
    a = m.AuditEntry
    query = select(a)
    if where.entity:
        query = query.where(a.entity == where.entity)
    if where.actor:
        query = query.where(func.lower(a.actor) == where.actor.strip().lower())
    if where.action:
        query = query.where(a.action == where.action)
    if where.key:
        query = query.where(a.entity_key.contains(where.key.strip(), autoescape=True))
    if where.since:
        query = query.where(a.at >= _start(where.since))
    if where.until:
        query = query.where(a.at < _start(where.until + timedelta(days=1)))
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(a.at.desc(), a.id.desc()).limit(limit).offset(offset))
        return [
            EntryView(r.id, r.at, r.actor, r.action, r.entity, r.entity_key, r.before, r.after, r.note) for r in rows
        ], total


def facets(engine: Engine) -> dict[str, list[str]]:
    """The entities and actions that occur in the log (for the filter's choices)."""
    with Session(engine) as session:
        return {
            "entities": sorted(session.scalars(select(m.AuditEntry.entity).distinct())),
            "actions": sorted(session.scalars(select(m.AuditEntry.action).distinct())),
        }
