"""Create fiscal calendars and their periods; list periods; find a period (a month) by name.

`create_calendar(engine, "fiscal", start_month=2, years=[2025, 2026])` makes the
calendar (or checks its start month) and adds each year's year, quarter and
month periods that do not exist yet. Running it twice changes nothing.

`month_named(session, "FY2025-M02", why="adjustments are paid in a month")` is the month called so: NotFound
(`unknown period 'FY2025-M02'`) when there is none, InvalidInput (`FY2025-Q1 is a quarter; adjustments are paid
in a month`) for a quarter or a year; `period_named` does the same for any kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.period import fiscal_periods
from openspm.store import models as m


@dataclass(frozen=True)
class CalendarResult:
    calendar: str
    fiscal_year_start_month: int
    created_periods: int
    existing_periods: int


def create_calendar(
    engine: Engine, name: str, start_month: int, years: Iterable[int], actor: str = "cli"
) -> CalendarResult:
    """Ensure calendar `name` exists with `start_month` and holds every period of `years`."""
    if not 1 <= start_month <= 12:
        raise InvalidInput("the fiscal year start month must be between 1 and 12")
    wanted = sorted(set(years))
    if not wanted:
        raise InvalidInput("give at least one fiscal year")
    with Session(engine) as session, session.begin():
        calendar = session.scalar(select(m.Calendar).where(m.Calendar.name == name))
        if calendar is None:
            calendar = m.Calendar(name=name, fiscal_year_start_month=start_month)
            session.add(calendar)
            session.flush()
        elif calendar.fiscal_year_start_month != start_month:
            raise Conflict(
                f"calendar {name!r} starts its fiscal year in month {calendar.fiscal_year_start_month}, "
                f"not {start_month}"
            )
        existing = set(session.scalars(select(m.Period.name).where(m.Period.calendar_id == calendar.id)))
        created = 0
        for year in wanted:
            for p in fiscal_periods(year, start_month):
                if p.name in existing:
                    continue
                session.add(
                    m.Period(
                        calendar_id=calendar.id,
                        name=p.name,
                        kind=p.kind.value,
                        start_date=p.start,
                        end_date=p.end,
                        fiscal_year=p.fiscal_year,
                    )
                )
                created += 1
        if created:
            session.add(
                m.AuditEntry(
                    at=utc_now(),
                    actor=actor,
                    action="insert",
                    entity="periods",
                    entity_key=name,
                    after={"years": [str(y) for y in wanted], "created_periods": created},
                )
            )
        return CalendarResult(name, start_month, created, len(existing))


def period_named(
    session: Session, name: str, kind: str | None = None, *, why: str = "", what: str = "period", hint: str = ""
) -> m.Period:
    """The period called `name`: NotFound (`unknown {what} 'NAME'{hint}`) when there is none; with `kind`, a
    period of another kind is InvalidInput (`NAME is a quarter; {why}`)."""
    row = session.scalars(select(m.Period).where(m.Period.name == name)).first()
    if row is None:
        raise NotFound(f"unknown {what} {name!r}{hint}")
    if kind is not None and row.kind != kind:
        raise InvalidInput(f"{name} is a {row.kind}; {why or f'a {kind} is needed'}")
    return row


def month_named(session: Session, name: str, why: str = "a month is needed") -> m.Period:
    """The month called `name` (NotFound when unknown; InvalidInput, saying `why`, for a quarter or a year)."""
    return period_named(session, name, "month", why=why)
