"""The `jobs` table: submit a job, follow it (state, progress, message), record its result or its error.

A job goes queued → running → succeeded | failed. Every change is a short transaction of its own, so any web
or worker process reading the table shows the same progress, whichever process runs the job. Running jobs
(`queue.py`) is separate from recording them, so a real queue can take over the running without changing
what pages, API and CLI read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, NotFound
from openspm.store import models as m
from openspm.store.audit import audit

STATES = ("queued", "running", "succeeded", "failed")
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    params: dict[str, Any]
    state: str
    progress: Decimal  # 0 to 1
    message: str
    result: dict[str, Any] | None
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None

    @property
    def done(self) -> bool:
        return self.state not in ACTIVE

    @property
    def percent(self) -> int:
        return int(self.progress * 100)


def _view(row: m.Job) -> JobView:
    return JobView(
        row.id,
        row.kind,
        dict(row.params or {}),
        row.state,
        row.progress,
        row.message,
        dict(row.result) if row.result is not None else None,
        row.error,
        row.requested_by,
        row.created_at,
        row.started_at,
        row.finished_at,
        row.updated_at,
    )


def submit(engine: Engine, kind: str, params: dict[str, Any], requested_by: str, message: str = "queued") -> JobView:
    """Record a new queued job (the caller hands its id to a queue)."""
    with Session(engine) as session, session.begin():
        row = m.Job(
            kind=kind,
            params=params,
            state="queued",
            progress=Decimal(0),
            message=message,
            requested_by=requested_by,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        return _view(row)


def get(engine: Engine, job_id: int) -> JobView:
    """A job (NotFound for an unknown id)."""
    with Session(engine) as session:
        row = session.get(m.Job, job_id)
        if row is None:
            raise NotFound(f"unknown job {job_id}")
        return _view(row)


def jobs(
    engine: Engine, *, kind: str | None = None, state: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[JobView], int]:
    """Jobs newest first (of one kind, in one state), one page, and how many there are."""
    with Session(engine) as session:
        query = select(m.Job)
        if kind:
            query = query.where(m.Job.kind == kind)
        if state:
            query = query.where(m.Job.state == state)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(m.Job.id.desc()).limit(limit).offset(offset))
        return [_view(r) for r in rows], total


def active(engine: Engine, kind: str) -> list[JobView]:
    """The queued and running jobs of a kind, oldest first."""
    with Session(engine) as session:
        query = select(m.Job).where(m.Job.kind == kind, m.Job.state.in_(ACTIVE)).order_by(m.Job.id)
        return [_view(r) for r in session.scalars(query)]


def start(engine: Engine, job_id: int) -> bool:
    """Mark a queued job running; False when it is not queued (taken by another worker, or done)."""
    with Session(engine) as session, session.begin():
        row = session.get(m.Job, job_id, with_for_update=True)
        if row is None or row.state != "queued":
            return False
        now = utc_now()
        row.state, row.started_at, row.updated_at, row.message = "running", now, now, "started"
        return True


def report(engine: Engine, job_id: int, fraction: float, message: str, result: dict[str, Any] | None = None) -> None:
    """Record how far a running job is (0 to 1, never backwards), what it is doing, and what it has made so far."""
    with Session(engine) as session, session.begin():
        row = session.get_one(m.Job, job_id)
        if row.state != "running":  # cancelled meanwhile: its record stays as the cancel left it
            return
        row.progress = max(row.progress, _fraction(fraction))
        row.message = message[:500]
        if result is not None:
            row.result = result
        row.updated_at = utc_now()


def succeed(engine: Engine, job_id: int, result: dict[str, Any], message: str) -> None:
    """A job done: progress 1, its result."""
    with Session(engine) as session, session.begin():
        row = session.get_one(m.Job, job_id)
        if row.state != "running":
            return
        now = utc_now()
        row.state, row.progress, row.message, row.result = "succeeded", Decimal(1), message[:500], result
        row.finished_at = row.updated_at = now


def fail(engine: Engine, job_id: int, error: str, result: dict[str, Any] | None = None) -> None:
    """A job that stopped on an error: the error, and what it had made before (kept as it is)."""
    with Session(engine) as session, session.begin():
        row = session.get_one(m.Job, job_id)
        if row.state != "running":
            return
        now = utc_now()
        row.state, row.error, row.message = "failed", error, "failed"
        if result is not None:
            row.result = result
        row.finished_at = row.updated_at = now


def cancel(engine: Engine, job_id: int, actor: str) -> JobView:
    """Mark a queued or running job failed, "cancelled by <actor>" (audited): the way out when the process
    running it died. A queued job never starts; a run already under way still finishes its month (its run is
    kept), but the job stays cancelled. Conflict when the job is already done."""
    with Session(engine) as session, session.begin():
        row = session.get(m.Job, job_id, with_for_update=True)
        if row is None:
            raise NotFound(f"unknown job {job_id}")
        if row.state not in ACTIVE:
            raise Conflict(f"job {job_id} has already {row.state}")
        before = row.state
        now = utc_now()
        row.state, row.error, row.message = "failed", f"cancelled by {actor}", "cancelled"
        row.finished_at = row.updated_at = now
        audit(session, actor, "cancel", "jobs", str(job_id), before={"state": before}, after={"state": "failed"})
        return _view(row)


def _fraction(value: float) -> Decimal:
    """A progress fraction as an exact 4-place Decimal in [0, 1]."""
    return min(Decimal(1), max(Decimal(0), Decimal(str(round(value, 4)))))
