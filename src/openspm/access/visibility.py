"""Which payees a principal may see in a period.

- admin, comp analyst, finance: every payee (`None` stands for "all").
- manager: themselves and everyone below them in `reporting_lines` during the period: a line counts when
  its `[effective_from, effective_to)` overlaps the period, so a rep who moved mid-month is visible to both
  managers for that month, and to neither for a month before they joined the team.
- rep: only their own payee.

A payee the principal may not see is reported as unknown (`NotFound`), the same answer as for a payee
that does not exist, so nobody learns which ids exist outside their scope.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.store import models as m
from openspm.store.lookups import team_below


def period_range(session: Session, period: str | None) -> tuple[date, date]:
    """`[start, end)` of a named period (NotFound when unknown); today for None."""
    if period is None:
        today = utc_now().date()
        return today, today + timedelta(days=1)
    row = session.scalars(select(m.Period).where(m.Period.name == period)).first()
    if row is None:
        raise NotFound(f"unknown period {period!r}")
    return row.start_date, row.end_date


subtree = team_below  # the manager and everyone below them (openspm.store.lookups)


def visible_payee_ids(session: Session, principal: Principal, period: str | None = None) -> set[int] | None:
    """The payee ids the principal may see in `period` (None: all of them)."""
    if principal.sees_all:
        return None
    found: set[int] = set()
    if principal.payee_id is not None:
        found.add(principal.payee_id)
        if principal.is_manager:
            start, end = period_range(session, period)
            found |= subtree(session, principal.payee_id, start, end)
    return found


def may_see(session: Session, principal: Principal, payee_id: int, period: str | None = None) -> bool:
    visible = visible_payee_ids(session, principal, period)
    return visible is None or payee_id in visible


def visible_payee(session: Session, principal: Principal, external_id: str, period: str | None = None) -> m.Payee:
    """The payee with this external id when the principal may see it in `period`; NotFound otherwise."""
    payee = session.scalars(select(m.Payee).where(m.Payee.external_id == external_id)).first()
    if payee is None or not may_see(session, principal, payee.id, period):
        raise NotFound(f"unknown payee {external_id!r}")
    return payee


def visible_external_ids(session: Session, principal: Principal, period: str | None = None) -> set[str] | None:
    """The visible payees' external ids (None: all)."""
    ids = visible_payee_ids(session, principal, period)
    if ids is None:
        return None
    if not ids:
        return set()
    return set(session.scalars(select(m.Payee.external_id).where(m.Payee.id.in_(ids))))
