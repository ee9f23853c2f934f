"""The period lifecycle: open → calculated → approved → closed, and an audited reopen.

- `openspm run` makes a month `calculated` (runs/service.py); a newer run of an approved month makes it
  `calculated` again, so an approval always names the run it approved.
- `approve(engine, "FY2025-M08", actor)` approves the month's newest completed run.
- `close(engine, "FY2025-M08", actor)` freezes the approved run as the month's snapshot (`period_closes`), with
  the SHA-256 of every document made from it (statements, payroll file, GL journal: `documents`); from then on
  runs of that month refuse, and `period_run` (what statements and exports read) returns the snapshot, so
  regenerating a closed month's documents gives the same bytes whatever changes later. A later change to the
  month's data is paid as a prior-period adjustment in the next open month (runs/pay.py).
- `reopen(engine, month, actor, reason)` is an admin action, audited, allowed only for the newest closed month.

Every transition writes an `audit_log` entry (who, when, before, after).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.periods.service import month_named
from openspm.runs.pay import active_close, latest_completed
from openspm.store import models as m
from openspm.store.audit import audit

# A document made from a month's snapshot: name → bytes (statements, payroll file, journal ...).
Documents = Callable[[Engine, str], Mapping[str, bytes]]


@dataclass(frozen=True)
class MonthStatus:
    """Where a month stands: its status, the run that stands for it and, once closed, who closed it when."""

    period: str
    status: str
    run_id: int | None
    closed_by: str | None = None
    closed_at: datetime | None = None
    documents: int = 0


APPROVED_ONE_BY_ONE = "months are approved and closed one by one"


def _month(session: Session, period: str) -> m.Period:
    return month_named(session, period, why=APPROVED_ONE_BY_ONE)


def _audit(session: Session, actor: str, period: str, before: dict[str, object], after: dict[str, object]) -> None:
    audit(session, actor, "update", "periods", period, before=before, after=after)


def status(engine: Engine, year: str | None = None) -> list[MonthStatus]:
    """Every month of the calendar (or of fiscal year `year`, e.g. FY2025) with its lifecycle status."""
    with Session(engine) as session:
        query = select(m.Period).where(m.Period.kind == "month").order_by(m.Period.start_date)
        months = [p for p in session.scalars(query) if year is None or p.name.startswith(f"{year}-")]
        if year is not None and not months:
            raise NotFound(f"unknown fiscal year {year!r}; use a name like FY2025")
        found = []
        for p in months:
            closed = active_close(session, p.name)
            run = latest_completed(session, p.name)
            found.append(
                MonthStatus(
                    p.name,
                    p.status,
                    closed.run_id if closed else (run.id if run else None),
                    closed.closed_by if closed else None,
                    closed.closed_at if closed else None,
                    len(closed.artefacts) if closed else 0,
                )
            )
        return found


def approve(engine: Engine, period: str, actor: str) -> MonthStatus:
    """Approve a calculated month's newest completed run."""
    with Session(engine) as session, session.begin():
        month = _month(session, period)
        if month.status == "closed":
            raise Conflict(f"{period} is closed; nothing to approve")
        run = latest_completed(session, period)
        if run is None or month.status not in ("calculated", "approved"):
            raise Conflict(f"{period} has no calculated run to approve; run `openspm run --period {period}` first")
        _audit(session, actor, period, {"status": month.status}, {"status": "approved", "run": run.id})
        month.status = "approved"
        return MonthStatus(period, "approved", run.id)


def close(engine: Engine, period: str, actor: str, documents: Documents | None = None) -> MonthStatus:
    """Close an approved month: freeze its approved run as the snapshot, with the digests of its documents.

    Months close in order: every earlier month of the calendar that has a run must be closed first.
    """
    with Session(engine) as session, session.begin():
        month = _month(session, period)
        if month.status == "closed":
            raise Conflict(f"{period} is already closed")
        if month.status != "approved":
            raise Conflict(f"{period} is {month.status}; approve it first (`openspm period approve {period}`)")
        if session.get(m.PeriodLock, period) is not None:
            raise Conflict(f"{period} is being calculated; close it when the run has finished")
        earlier = session.scalars(
            select(m.Period).where(
                m.Period.kind == "month", m.Period.start_date < month.start_date, m.Period.status != "closed"
            )
        ).all()
        open_with_runs = [p.name for p in earlier if latest_completed(session, p.name) is not None]
        if open_with_runs:
            raise Conflict(f"close {open_with_runs[0]} first: months close in order")
        run = latest_completed(session, period)
        assert run is not None  # an approved month has a completed run
        closing = m.PeriodClose(period=period, run_id=run.id, status="closed", closed_by=actor, closed_at=utc_now())
        session.add(closing)
        month.status = "closed"
        session.flush()
        close_id, run_id = closing.id, run.id
    digests: dict[str, str] = {}
    if documents is not None:  # made from the snapshot, now that period_run returns it
        try:
            digests = {
                name: hashlib.sha256(data).hexdigest() for name, data in sorted(documents(engine, period).items())
            }
        except Exception:
            _undo_close(engine, period, close_id)
            raise
    with Session(engine) as session, session.begin():
        row = session.get_one(m.PeriodClose, close_id)
        row.artefacts = digests
        _audit(
            session, actor, period, {"status": "approved"}, {"status": "closed", "run": run_id, "documents": digests}
        )
        return MonthStatus(period, "closed", run_id, actor, row.closed_at, len(digests))


def _undo_close(engine: Engine, period: str, close_id: int) -> None:
    """Take back a close whose documents could not be made (the month stays approved)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(m.PeriodClose).where(m.PeriodClose.id == close_id))
        _month(session, period).status = "approved"


def verify(engine: Engine, period: str, documents: Documents) -> dict[str, bool]:
    """Whether each document of a closed month, made again now, has the digest it had at close."""
    with Session(engine) as session:
        closed = active_close(session, period)
        if closed is None:
            raise Conflict(f"{period} is not closed")
        expected = dict(closed.artefacts)
    made = {name: hashlib.sha256(data).hexdigest() for name, data in documents(engine, period).items()}
    return {name: made.get(name) == digest for name, digest in sorted(expected.items())}


def reopen(engine: Engine, period: str, actor: str, reason: str) -> MonthStatus:
    """Reopen the newest closed month (admin only; audited with the reason). Its snapshot is kept, marked
    reopened; the month becomes `calculated` and can be run, approved and closed again."""
    if not reason.strip():
        raise InvalidInput("say why the month is reopened (--reason)")
    with Session(engine) as session, session.begin():
        month = _month(session, period)
        closed = active_close(session, period)
        if closed is None or month.status != "closed":
            raise Conflict(f"{period} is not closed")
        later = session.scalars(
            select(m.Period.name).where(
                m.Period.kind == "month", m.Period.start_date > month.start_date, m.Period.status == "closed"
            )
        ).first()
        if later is not None:
            raise Conflict(f"reopen {later} first: only the newest closed month can be reopened")
        closed.status = "reopened"
        closed.reopened_by = actor
        closed.reopened_at = utc_now()
        closed.reopen_reason = reason
        month.status = "calculated"
        _audit(session, actor, period, {"status": "closed", "run": closed.run_id}, {"status": "calculated"})
        audit(
            session,
            actor=actor,
            action="reopen",
            entity="period_closes",
            entity_key=period,
            before={"status": "closed"},
            after={"status": "reopened"},
            note=reason,
        )
        return MonthStatus(period, "calculated", closed.run_id)


def unlock(engine: Engine, period: str, actor: str) -> bool:
    """Remove the calculation lock of a month whose run died (audited); False when there was none."""
    with Session(engine) as session, session.begin():
        lock = session.get(m.PeriodLock, period)
        if lock is None:
            return False
        run = session.get(m.Run, lock.run_id) if lock.run_id else None
        if run is not None and run.status == "running":
            run.status = "failed"
            run.finished_at = utc_now()
            run.error = f"abandoned: lock removed by {actor}"
        session.delete(lock)
        audit(
            session,
            actor=actor,
            action="delete",
            entity="period_locks",
            entity_key=period,
            before={"run": lock.run_id, "actor": lock.actor},
            after=None,
        )
        return True
