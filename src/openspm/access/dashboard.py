"""What a rep's dashboard and a manager's team table show, for the payees the principal may see.

- Earned: the month, the quarter to date and the year to date, summed per currency from `live_earnings`
  (what full runs and incremental recompute keep current); paid: the year's payments to date, each month
  from its period run.
- Attainment against each quota: the month's live earnings that carry a quota (the latest run's figures, or
  newer after an incremental recompute), with pacing to the measure period's end: the attainment so far
  divided by the share of the period gone (as of today, within the period), i.e. where the payee lands at
  this pace; a finished period's pacing is its attainment.
- Recent credited deals: the newest credits of the month's newest completed run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, TextClause, func, select, text
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee, visible_payee_ids
from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.runs.pay import latest_completed
from openspm.store import models as m

RECENT_DEALS = 10


@dataclass(frozen=True)
class Attainment:
    plan: str
    component: str
    measure_period: str
    base: Decimal | None
    quota: Decimal
    attainment: Decimal
    elapsed: Decimal  # share of the measure period gone, 0..1
    pacing: Decimal | None  # projected attainment at period end
    currency: str


@dataclass(frozen=True)
class Deal:
    transaction: str
    date: date
    plan: str
    role: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Dashboard:
    payee: str
    name: str
    period: str
    quarter: str | None
    year: str
    months: list[str]  # every month of the calendar, for the period picker
    earned_month: dict[str, Decimal]
    earned_quarter: dict[str, Decimal]
    earned_year: dict[str, Decimal]
    paid_year: dict[str, Decimal]  # pay currency → paid in the year through the month
    attainment: list[Attainment]
    deals: list[Deal]
    components: list[tuple[str, str, Decimal, str]] = field(default_factory=list)  # plan, component, amount, ccy
    closed: bool = False


def period_runs(session: Session, months: list[str]) -> list[int]:
    """The run each month's documents come from (`runs.pay.period_run`), for many months in two queries: the
    close in force, else the newest completed run; months with neither are left out."""
    newest = dict(
        session.execute(
            select(m.Run.period, func.max(m.Run.id))
            .where(m.Run.status == "completed", m.Run.period.in_(months))
            .group_by(m.Run.period)
        )
        .tuples()
        .all()
    )
    closes = session.execute(
        select(m.PeriodClose.period, m.PeriodClose.run_id)
        .where(m.PeriodClose.status == "closed", m.PeriodClose.period.in_(months))
        .order_by(m.PeriodClose.id)
    ).tuples()
    newest.update(dict(closes.all()))
    return sorted(newest.values())


_DEALS: OrderedDict[tuple[str, int, str, str], list[Deal]] = OrderedDict()
_DEALS_KEPT = 4096
_DEALS_LOCK = threading.Lock()


def recent_deals(session: Session, run: m.Run, payee: str) -> list[Deal]:
    """The newest credits of a completed run for a payee. A completed run never changes, so the answer is kept
    (per store, run and payee, the most recent 4,096; the run's start time is in the key, so a store rebuilt
    under a running server is not mistaken for the old one): the query scans the run's credits, which have no
    index by payee."""
    run_id = run.id
    key = (str(session.get_bind().engine.url), run_id, run.started_at.isoformat(), payee)
    with _DEALS_LOCK:
        if key in _DEALS:
            _DEALS.move_to_end(key)
            return _DEALS[key]
    credits = session.scalars(
        select(m.RunCredit)
        .where(m.RunCredit.run_id == run_id, m.RunCredit.payee == payee)
        .order_by(m.RunCredit.date.desc(), m.RunCredit.id.desc())
        .limit(RECENT_DEALS)
    )
    deals = [Deal(c.transaction, c.date, c.plan, c.role, c.amount, c.currency) for c in credits]
    with _DEALS_LOCK:
        _DEALS[key] = deals
        while len(_DEALS) > _DEALS_KEPT:
            _DEALS.popitem(last=False)
    return deals


def _add(into: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, Decimal(0)) + amount


@dataclass(frozen=True)
class _Period:
    name: str
    kind: str
    start_date: date
    end_date: date
    fiscal_year: int
    status: str


def _periods(session: Session) -> list[_Period]:
    p = m.Period
    rows = session.execute(
        select(p.name, p.kind, p.start_date, p.end_date, p.fiscal_year, p.status).order_by(p.start_date)
    )
    return [_Period(*row) for row in rows.tuples()]


def default_month(session: Session, payee_id: int | None = None, months: list[_Period] | None = None) -> str:
    """The newest month up to today with live earnings (of the payee), else the newest with any."""
    months = months if months is not None else [p for p in _periods(session) if p.kind == "month"]
    if not months:
        raise NotFound("the calendar has no months yet; create one with `openspm calendar create`")
    query = select(m.LiveEarning.period).distinct()
    if payee_id is not None:
        query = query.where(m.LiveEarning.payee_id == payee_id)
    with_data = set(session.scalars(query))
    today = utc_now().date()
    candidates = [p for p in months if p.name in with_data]
    past = [p for p in candidates if p.start_date <= today]
    if past:
        return past[-1].name
    if candidates:
        return candidates[-1].name
    current = [p for p in months if p.start_date <= today]
    return (current or months)[-1].name


def _elapsed(start: date, end: date, today: date) -> Decimal:
    total = (end - start).days
    gone = min(max((today - start).days, 0), total)
    return Decimal(gone) / Decimal(total) if total else Decimal(1)


def _containing(periods: list[_Period], kind: str, month: _Period) -> _Period | None:
    return next(
        (p for p in periods if p.kind == kind and p.start_date <= month.start_date < p.end_date),
        None,
    )


# --- the figures, kept per payee and month while the store says nothing they come from has changed ------------

_FIGURES: OrderedDict[tuple[object, ...], Dashboard] = OrderedDict()
_FIGURES_KEPT = 4096
_FIGURES_LOCK = threading.Lock()


def change_marker(session: Session, payee_id: int) -> tuple[object, ...]:
    """Everything a payee's dashboard is computed from, summed up in one cheap query: it differs as soon as any
    of it changes, so figures kept under it are never stale.

    - the payee's live earnings: how many rows, the newest id and the newest `updated_at` (full runs and
      incremental recompute replace rows, inserting them with `updated_at` set to now; a writer that updates a
      row in place must set `updated_at` too);
    - completed runs (which write the payments and the credits of the deals): how many, the newest id and the
      newest finish time (a store rebuilt under a running server starts its ids again, not its clock);
    - closes (which choose a month's run) and the calendar (months, their closed status): counts and newest ids.
    """
    return tuple(session.execute(_MARKER, {"payee": payee_id}).one())


def _marker_sql() -> TextClause:
    """`change_marker`'s query: plain SQL, so a view spends no time building and compiling an expression."""
    live, runs = m.LiveEarning.__tablename__, m.Run.__tablename__
    closes, periods = m.PeriodClose.__tablename__, m.Period.__tablename__
    mine = f"FROM {live} WHERE payee_id = :payee"
    completed = f"FROM {runs} WHERE status = 'completed'"
    parts = (
        f"count(*) {mine}",
        f"max(id) {mine}",
        f"max(updated_at) {mine}",
        f"count(*) {completed}",
        f"max(id) {completed}",
        f"max(finished_at) {completed}",
        f"count(*) FROM {closes}",
        f"max(id) FROM {closes}",
        f"count(*) FROM {closes} WHERE status = 'closed'",
        f"count(*) FROM {periods}",
        f"count(*) FROM {periods} WHERE status = 'closed'",
    )
    return text("SELECT " + ", ".join(f"(SELECT {part})" for part in parts))


_MARKER = _marker_sql()


def dashboard_for(
    engine: Engine, principal: Principal, payee: str | None = None, period: str | None = None
) -> Dashboard:
    """The dashboard of `payee` (default: the principal's own) for `period` (default: `default_month`).

    Who may see whom is checked on every call; the figures are computed once per payee, month (asked, or the
    default), day (pacing moves with the date) and `change_marker`, and kept (the most recent 4,096 per
    process): a repeated view costs the visibility check and the marker query.
    """
    with Session(engine) as session:
        target = payee or principal.payee
        if target is None:
            raise NotFound(f"{principal.email} is not linked to a payee; pick a payee to see their dashboard")
        found = visible_payee(session, principal, target, period)
        today = utc_now().date()
        key = (str(engine.url), found.id, period, today, change_marker(session, found.id))
        with _FIGURES_LOCK:
            kept = _FIGURES.get(key)
            if kept is not None:
                _FIGURES.move_to_end(key)
        if kept is None:
            kept = _figures(session, found, period, today)
            with _FIGURES_LOCK:
                _FIGURES[key] = kept
                while len(_FIGURES) > _FIGURES_KEPT:
                    _FIGURES.popitem(last=False)
        if period is None and principal.is_manager and found.id != principal.payee_id:
            found = visible_payee(session, principal, target, kept.period)  # the team as of the month shown
        return replace(kept, payee=found.external_id, name=found.name)


def _figures(session: Session, found: m.Payee, period: str | None, today: date) -> Dashboard:
    """The dashboard's figures for a payee the principal may see (see the module docstring)."""
    periods = _periods(session)
    months = [p for p in periods if p.kind == "month"]
    name = period or default_month(session, found.id, months)
    month = next((p for p in periods if p.name == name), None)
    if month is None or month.kind != "month":
        raise NotFound(f"unknown month {name!r}")
    quarter = _containing(periods, "quarter", month)
    year = _containing(periods, "year", month)
    in_year = [p.name for p in months if year is not None and year.start_date <= p.start_date <= month.start_date]
    in_quarter = {
        p.name for p in months if quarter is not None and quarter.start_date <= p.start_date <= month.start_date
    }
    earned_month: dict[str, Decimal] = {}
    earned_quarter: dict[str, Decimal] = {}
    earned_year: dict[str, Decimal] = {}
    components: list[tuple[str, str, Decimal, str]] = []
    attainment: list[Attainment] = []
    ranges = {p.name: (p.start_date, p.end_date) for p in periods}
    live = m.LiveEarning
    rows = session.execute(
        select(
            live.plan,
            live.component,
            live.period,
            live.measure_period,
            live.base,
            live.quota,
            live.attainment,
            live.amount,
            live.currency,
        )
        .where(live.payee_id == found.id, live.period.in_(in_year or [name]))
        .order_by(live.plan, live.component)
    )
    for e in rows:
        _add(earned_year, e.currency, e.amount)
        if e.period in in_quarter:
            _add(earned_quarter, e.currency, e.amount)
        if e.period != name:
            continue
        _add(earned_month, e.currency, e.amount)
        components.append((e.plan, e.component, e.amount, e.currency))
        if e.quota is not None and e.quota != 0 and e.attainment is not None:
            start, end = ranges.get(e.measure_period, (month.start_date, month.end_date))
            gone = _elapsed(start, end, today)
            pacing = e.attainment if gone >= 1 else (e.attainment / gone if gone > 0 else None)
            attainment.append(
                Attainment(
                    e.plan, e.component, e.measure_period, e.base, e.quota, e.attainment, gone, pacing, e.currency
                )
            )
    paid: dict[str, Decimal] = {}
    for currency, amount in session.execute(
        select(m.Payment.pay_currency, func.sum(m.Payment.pay_amount))
        .where(m.Payment.run_id.in_(period_runs(session, in_year) or [-1]), m.Payment.payee_id == found.id)
        .group_by(m.Payment.pay_currency)
    ):
        _add(paid, currency, Decimal(amount))
    newest = latest_completed(session, name)
    deals = recent_deals(session, newest, found.external_id) if newest is not None else []
    return Dashboard(
        found.external_id,
        found.name,
        name,
        quarter.name if quarter else None,
        year.name if year else f"FY{month.fiscal_year}",
        [p.name for p in months],
        earned_month,
        earned_quarter,
        earned_year,
        paid,
        attainment,
        deals,
        components,
        month.status == "closed",
    )


@dataclass(frozen=True)
class TeamRow:
    payee: str
    name: str
    role: str | None
    region: str | None
    earned_month: dict[str, Decimal]
    earned_year: dict[str, Decimal]
    attainment: Decimal | None  # of the component with the largest quota
    component: str | None


def team_for(engine: Engine, principal: Principal, period: str | None = None) -> tuple[str, list[TeamRow]]:
    """The month and one row per payee the principal may see in it (a manager's team; everyone for admins)."""
    with Session(engine) as session:
        name = period or default_month(session, principal.payee_id if not principal.sees_all else None)
        month = session.scalars(select(m.Period).where(m.Period.name == name, m.Period.kind == "month")).first()
        if month is None:
            raise NotFound(f"unknown month {name!r}")
        ids = visible_payee_ids(session, principal, name)
        year_months = list(
            session.scalars(
                select(m.Period.name).where(
                    m.Period.kind == "month",
                    m.Period.fiscal_year == month.fiscal_year,
                    m.Period.start_date <= month.start_date,
                )
            )
        )
        query = select(m.LiveEarning).where(m.LiveEarning.period.in_(year_months))
        if ids is not None:
            query = query.where(m.LiveEarning.payee_id.in_(ids or [-1]))
        by_payee: dict[int, list[m.LiveEarning]] = {}
        for e in session.scalars(query):
            by_payee.setdefault(e.payee_id, []).append(e)
        payees = select(m.Payee)
        if ids is not None:
            payees = payees.where(m.Payee.id.in_(ids or [-1]))
        rows = []
        for p in session.scalars(payees.order_by(m.Payee.name)):
            earned = by_payee.get(p.id, [])
            if not earned and (ids is None or p.id == principal.payee_id):
                continue
            month_sum: dict[str, Decimal] = {}
            year_sum: dict[str, Decimal] = {}
            main: m.LiveEarning | None = None
            for e in earned:
                _add(year_sum, e.currency, e.amount)
                if e.period == name:
                    _add(month_sum, e.currency, e.amount)
                    if e.quota and e.attainment is not None and (main is None or e.quota > (main.quota or 0)):
                        main = e
            rows.append(
                TeamRow(
                    p.external_id,
                    p.name,
                    p.role,
                    p.region,
                    month_sum,
                    year_sum,
                    main.attainment if main else None,
                    main.component if main else None,
                )
            )
        return name, rows
