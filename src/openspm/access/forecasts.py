"""Who may see and do what with forecasts, commits and their accuracy.

- Series forecasts, the back-test and accuracy: admin, comp analyst, finance and managers read them (they are
  company, region and team totals); reps do not (403). Admin and comp analyst start forecast jobs and store
  pipeline snapshots.
- Commits: a rep enters their own commit and best case; a manager enters their call for their own team (and
  sees the roll-up of everyone below them); admin, comp analyst and finance see every roll-up but enter nothing
  for others. Writing needs a session or a token with the write scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee_ids
from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.insights import commits, forecasts
from openspm.insights.bookings import recent_bookings
from openspm.jobs import service as jobs
from openspm.jobs.forecasts import KIND, submit_forecast
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.store import models as m
from openspm.store.db import transaction
from openspm.store.lookups import payee_id_named


def require_reader(principal: Principal) -> None:
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("forecasts are for admin, comp_analyst, finance and manager users")


def may_read(principal: Principal) -> bool:
    return principal.sees_all or principal.is_manager


def start_forecast_for(
    engine: Engine,
    queue: JobQueue,
    principal: Principal,
    horizon: int,
    methods: Sequence[str],
    first_month: str | None = None,
) -> JobView:
    principal.require_write("starting a forecast")
    if "write" not in principal.scopes:
        raise Forbidden("starting a forecast needs a token with the write scope")
    return submit_forecast(engine, queue, horizon, methods, principal.actor, first_month)


def forecast_jobs_for(engine: Engine, principal: Principal, limit: int = 5) -> list[JobView]:
    require_reader(principal)
    return jobs.jobs(engine, kind=KIND, limit=limit)[0]


def series_for(engine: Engine, principal: Principal, scope: str, batch: str | None = None) -> forecasts.SeriesView:
    require_reader(principal)
    with Session(engine) as session:
        return forecasts.series_view(session, scope, batch, recent_bookings(session))


def accuracy_for(engine: Engine, principal: Principal, through: date | None = None) -> forecasts.AccuracyReport:
    require_reader(principal)
    return forecasts.accuracy_report(engine, through=through)


def backtest_for(
    engine: Engine, principal: Principal, holdout_from: str, holdout_to: str | None = None
) -> forecasts.Backtest:
    require_reader(principal)
    with Session(engine) as session:
        return forecasts.backtest(session, holdout_from, holdout_to)


def snapshot_pipeline_for(engine: Engine, principal: Principal, start: date, end: date) -> dict[str, Any]:
    principal.require_write("storing a pipeline snapshot")
    return forecasts.snapshot_pipeline(engine, start=start, end=end, actor=principal.actor)


def enter_commit_for(
    engine: Engine,
    principal: Principal,
    *,
    period: str,
    commit: Decimal,
    best_case: Decimal | None,
    note: str | None = None,
) -> commits.CommitEntry:
    """The principal's own entry: a manager's is a call for their team, anyone else's payee a commit."""
    if principal.payee_id is None:
        raise Forbidden(f"{principal.email} is not a payee: only reps and managers enter commits")
    if "write" not in principal.scopes:
        raise Forbidden("entering a commit needs a token with the write scope")
    kind = "call" if principal.is_manager else "commit"
    with transaction(engine) as session:
        return commits.enter(
            session,
            payee_id=principal.payee_id,
            period=period,
            kind=kind,
            commit=commit,
            best_case=best_case,
            note=note,
            actor=principal.actor,
        )


def rollup_for(engine: Engine, principal: Principal, period: str, payee: str | None = None) -> list[commits.CommitNode]:
    """The roll-up trees the principal may see: a named payee's (when visible), else their own (reps and
    managers) or the company's top managers' (admin, comp analyst, finance)."""
    with Session(engine) as session:
        commits.period_of(session, period)
        if payee is not None:
            target = payee_id_named(session, payee)
            if not principal.sees_all:
                visible = visible_payee_ids(session, principal, period)
                if visible is not None and target not in visible:
                    raise NotFound(f"unknown payee {payee!r}")
            return [commits.rollup(session, target, period)]
        if principal.sees_all:
            return [commits.rollup(session, root, period) for root in commits.top_managers(session, period)]
        if principal.payee_id is None:
            raise Forbidden(f"{principal.email} is not a payee and sees no commits")
        return [commits.rollup(session, principal.payee_id, period)]


def history_for(engine: Engine, principal: Principal, period: str | None = None) -> list[commits.CommitEntry]:
    if principal.payee_id is None:
        return []
    with Session(engine) as session:
        return commits.history(session, principal.payee_id, period)


def parse_amount(text: str | None, what: str) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except ArithmeticError:
        raise InvalidInput(f"{what} is not a number: {text!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} is not a number: {text!r}")
    return value


@dataclass
class ForecastPage:
    """What the forecasts page shows a reader: the scopes, one scope's series and the accuracy report."""

    scopes: list[tuple[str, str]]  # scope, label
    view: forecasts.SeriesView
    report: forecasts.AccuracyReport


def forecast_page_for(engine: Engine, principal: Principal, scope: str) -> ForecastPage:
    """One read of the bookings for the scope list, the series and the accuracy report (readers only)."""
    require_reader(principal)
    with Session(engine) as session:
        bookings = recent_bookings(session)
        scopes = [(s, bookings.labels.get(s, s)) for s in forecasts.forecast_scopes(bookings)]
        if scope not in dict(scopes):
            raise NotFound(f"unknown scope {scope!r}")
        view = forecasts.series_view(session, scope, None, bookings)
    report = forecasts.accuracy_report(engine, bookings=bookings)
    return ForecastPage(scopes, view, report)


def commit_periods(engine: Engine) -> tuple[list[str], str | None]:
    """The quarters one may commit for, and the default: the quarter holding today, else the newest."""
    today = utc_now().date()
    with Session(engine) as session:
        rows = list(session.scalars(select(m.Period).where(m.Period.kind == "quarter").order_by(m.Period.start_date)))
    names = [r.name for r in rows]
    current = next((r.name for r in rows if r.start_date <= today < r.end_date), names[-1] if names else None)
    return names, current
