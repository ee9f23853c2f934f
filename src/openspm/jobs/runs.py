"""Calculation runs as jobs: `submit_run(engine, queue, "FY2025-Q1", actor)` queues a job that runs each open
month of a month, quarter or year in order, reporting per month and per stage.

A month already being calculated (a queued or running run job that covers it, or its period lock) or closed
refuses at once with `Conflict` (409), before anything is queued. Two requests racing past that check are still
safe: the period lock refuses the second run when it starts, and its job fails with that reason. A month that
fails stops the job (failed, with the error); the months run before it keep their completed runs, and the
failed run leaves every earlier run intact (`runs.service.run_period` writes a run's results atomically).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.period import PeriodKind
from openspm.gamification.badges import award_badges
from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView
from openspm.runs.pay import active_close
from openspm.runs.service import calendar_periods, run_period
from openspm.store import models as m

KIND = "run"


def months_to_run(engine: Engine, period: str) -> tuple[list[str], list[str]]:
    """The months a run of `period` (a month, quarter or year of the calendar) calculates, in order, and the
    closed months it skips (a closed month never changes)."""
    name = period.strip()
    with Session(engine) as session:
        periods = calendar_periods(session)
        chosen = next((p for p in periods if p.name == name), None)
        if chosen is None:
            raise NotFound(f"unknown period {name!r}; use a month, quarter or year, e.g. FY2025-M03, FY2025-Q1, FY2025")
        months = sorted(
            (p for p in periods if p.kind is PeriodKind.MONTH and p.start >= chosen.start and p.end <= chosen.end),
            key=lambda p: p.start,
        )
        closed = [p.name for p in months if active_close(session, p.name) is not None]
        busy = {lock.period: lock for lock in session.scalars(select(m.PeriodLock))}
    open_months = [p.name for p in months if p.name not in closed]
    if not open_months:
        raise Conflict(f"every month of {name} is closed: closed months never change")
    locked = [p for p in open_months if p in busy]
    if locked:
        lock = busy[locked[0]]
        raise Conflict(f"{locked[0]} is being calculated by run {lock.run_id} (started by {lock.actor}); wait for it")
    return open_months, closed


def submit_run(engine: Engine, queue: JobQueue, period: str, actor: str) -> JobView:
    """Queue a run of the open months of `period`; Conflict when one is closed-only, locked or already queued."""
    if not period.strip():
        raise InvalidInput("say which month, quarter or year to run, e.g. FY2025-M03")
    months, skipped = months_to_run(engine, period)
    for job in service.active(engine, KIND):
        overlap = sorted(set(months) & set(job.params.get("months", [])))
        if overlap:
            raise Conflict(
                f"{overlap[0]} is already being calculated by job {job.id} ({job.state}, requested by "
                f"{job.requested_by}); wait for it to finish, or if the process running it died, cancel it "
                f"(`openspm job cancel {job.id}`)"
            )
    params = {"period": period.strip(), "months": months, "skipped": skipped}
    job = service.submit(engine, KIND, params, actor, f"queued: {len(months)} month{'s' if len(months) != 1 else ''}")
    queue.enqueue(job.id)
    return job


@handler(KIND)
def run_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Run each month of the job in order; the result lists the runs made (`runs`) and their months."""
    months: list[str] = list(job.params["months"])
    made: list[dict[str, Any]] = []
    for index, month in enumerate(months):

        def stage(fraction: float, text: str, index: int = index, month: str = month) -> None:
            progress((index + fraction) / len(months), f"{month} ({index + 1} of {len(months)}): {text}", None)

        try:
            summary = run_period(engine, month, actor=job.requested_by, on_progress=stage)
        except Exception:
            failed = _failed_run(engine, month, job.requested_by)
            progress(
                index / len(months),
                f"{month} failed",
                {"runs": [r["run"] for r in made], "months": made, "failed_month": month, "failed_run": failed},
            )
            raise
        made.append({"month": month, "run": summary.run_id, "total": {k: str(v) for k, v in summary.total.items()}})
        progress((index + 1) / len(months), f"{month}: run {summary.run_id} completed", _result(made))
    message = f"{len(made)} month{'s' if len(made) != 1 else ''} run"
    return {**_result(made), "badges": _award_badges(engine), "message": message}


def _award_badges(engine: Engine) -> int | None:
    """Badges the new results earn (gamification), counted; a failure here never fails the runs (None)."""
    try:
        return len(award_badges(engine).awarded)
    except Exception:  # the runs are stored; badges can be awarded again on demand
        return None


def _result(made: list[dict[str, Any]]) -> dict[str, Any]:
    return {"runs": [r["run"] for r in made], "months": made}


def _failed_run(engine: Engine, month: str, actor: str) -> int | None:
    """The newest failed run of the month by `actor` (the one that just failed), if it got that far."""
    with Session(engine) as session:
        return session.scalar(
            select(m.Run.id)
            .where(m.Run.period == month, m.Run.actor == actor, m.Run.status == "failed")
            .order_by(m.Run.id.desc())
            .limit(1)
        )
