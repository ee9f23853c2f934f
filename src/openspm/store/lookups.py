"""Rows found by what users call them, and the reporting tree: small reads many services share.

- `payee_named(session, external_id)`: the payee with that id (NotFound "unknown payee 'X'" when none).
- `payee_id_named(session, external_id)`: its row id, the same way.
- `team_below(session, manager_id, start, end)`: the manager and everyone below them through the reporting lines
  in effect at some time in `[start, end)` (a line is in effect from `effective_from`, until `effective_to`
  when it has one), followed down level by level; a cycle in the lines ends the walk.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openspm.core.errors import NotFound
from openspm.store import models as m


def payee_named(session: Session, external_id: str) -> m.Payee:
    """The payee with this external id (NotFound when there is none)."""
    payee = session.scalars(select(m.Payee).where(m.Payee.external_id == external_id)).first()
    if payee is None:
        raise NotFound(f"unknown payee {external_id!r}")
    return payee


def payee_id_named(session: Session, external_id: str) -> int:
    """The row id of the payee with this external id (NotFound when there is none)."""
    found = session.scalar(select(m.Payee.id).where(m.Payee.external_id == external_id))
    if found is None:
        raise NotFound(f"unknown payee {external_id!r}")
    return int(found)


def team_below(session: Session, manager_id: int, start: date, end: date) -> set[int]:
    """The manager and everyone below them through reporting lines overlapping `[start, end)`."""
    lines = session.execute(
        select(m.ReportingLine.payee_id, m.ReportingLine.manager_id).where(
            m.ReportingLine.effective_from < end,
            or_(m.ReportingLine.effective_to.is_(None), m.ReportingLine.effective_to > start),
        )
    ).all()
    below: dict[int, set[int]] = {}
    for payee_id, boss in lines:
        below.setdefault(boss, set()).add(payee_id)
    seen, todo = {manager_id}, [manager_id]
    while todo:
        for child in below.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen
