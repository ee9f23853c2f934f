"""Forecasts over the store: time-series forecasts stored as snapshots, pipeline (deal) snapshots, the back-test,
and accuracy of every stored forecast against actuals.

- `make_series_forecast(engine, ...)`: monthly net bookings per scope (company, regions, first-line teams; see
  `bookings.py`) → `series.forecast` for `horizon` months after the last month with data → one
  `forecast_snapshots` row per scope × method × month (source ``series``; amounts rounded to cents).
- `snapshot_pipeline(engine, ...)`: each open opportunity closing in `[start, end)` → a ``deal:<id>`` snapshot of
  amount × probability (method ``weighted``, in the reporting currency), and their total per close month for the
  company (scope ``company``).
- `backtest(session, holdout_from)`: train on the months before `holdout_from`, forecast the months from it to the
  last month with data, and score each method and the baseline per level (company, regions, teams) with
  `accuracy.accuracy` over scope × month pairs. Nothing is stored.
- `accuracy_report(engine)`: every snapshot whose period has ended by the newest transaction's date (or `through`)
  paired with its actual: the scope's bookings over the period (series and commits), the deal's won amount
  (0 when lost; an open deal has no actual yet). Scored per source × method × level, per source × method × scope
  (company, each region, team, payee), and per deal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.core.money import round_money
from openspm.insights import series
from openspm.insights.accuracy import Accuracy, accuracy
from openspm.insights.bookings import CURRENCY, Bookings, Rates, load_bookings
from openspm.store import models as m
from openspm.store.db import transaction

Progress = Callable[[float, str], None]


def month_start(text: str) -> date:
    """``2026-07`` → 2026-07-01; InvalidInput for anything else."""
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(f"not a month {text!r}: write YYYY-MM, e.g. 2026-07") from None


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months_between(start: date, end: date) -> list[str]:
    """The ``YYYY-MM`` months in `[start, end)`, each starting on the 1st."""
    found = []
    day = date(start.year, start.month, 1)
    while day < end:
        found.append(day.isoformat()[:7])
        day = next_month(day)
    return found


def level_of(scope: str) -> str:
    """``region:NA`` → ``region``; ``company`` → ``company``."""
    return scope.split(":", 1)[0]


def _cents(value: float) -> Decimal:
    return round_money(Decimal(repr(value)))


# --- time-series forecasts -------------------------------------------------------------------------------


@dataclass
class SeriesResult:
    batch: str
    first_month: str
    horizon: int
    scopes: int
    rows: int
    history_months: int
    notes: dict[str, list[str]] = field(default_factory=dict)


def _history(bookings: Bookings, scopes: Sequence[str], months: list[str]) -> dict[str, list[float]]:
    return {scope: [float(bookings.amounts.get(scope, {}).get(mo, Decimal(0))) for mo in months] for scope in scopes}


def forecast_scopes(bookings: Bookings) -> list[str]:
    """What the forecasts cover: the company, each region and each first-line team."""
    return ["company", *bookings.regions, *bookings.teams]


def make_series_forecast(
    engine: Engine,
    *,
    horizon: int = 6,
    methods: Sequence[str] = series.METHODS,
    actor: str,
    job_id: int | None = None,
    progress: Progress | None = None,
    first_month: str | None = None,
) -> SeriesResult:
    """Forecast `horizon` months after the newest month with bookings (or from `first_month`, learning only from
    the months before it: a forecast as it would have been made then, scored as soon as it is stored), per scope,
    and store the snapshots."""
    if not 1 <= horizon <= 24:
        raise InvalidInput("the horizon must be 1 to 24 months")
    say = progress or (lambda _f, _t: None)
    say(0.02, "reading bookings")
    with Session(engine) as session:
        bookings = load_bookings(session)
    if not bookings.months:
        raise InvalidInput("no transactions in the store: nothing to forecast from")
    first = month_start(first_month) if first_month else next_month(month_start(bookings.months[-1]))
    months = months_between(month_start(bookings.months[0]), first)
    if len(months) < 1:
        raise InvalidInput(f"no bookings before {first.isoformat()[:7]}: nothing to forecast from")
    scopes = forecast_scopes(bookings)
    history = _history(bookings, scopes, months)

    def step(done: int, total: int, scope: str) -> None:
        say(0.05 + 0.85 * done / total, f"forecast {done}/{total}: {bookings.labels.get(scope, scope)}")

    found = series.forecast(history, horizon, methods, progress=step)
    batch = f"series-{uuid.uuid4().hex[:12]}"
    rows = []
    for result in found:
        for method, values in result.values.items():
            day = first
            for value in values:
                end = next_month(day)
                rows.append(
                    m.ForecastSnapshot(
                        made_by=actor,
                        batch=batch,
                        source="series",
                        method=method,
                        scope=result.scope,
                        period_start=day,
                        period_end=end,
                        amount=_cents(value),
                        currency=bookings.currency,
                        job_id=job_id,
                        details={"season": result.seasons.get(method), "history_months": len(months)},
                    )
                )
                day = end
    say(0.95, f"storing {len(rows)} forecast rows")
    with transaction(engine) as session:
        session.add_all(rows)
    return SeriesResult(
        batch=batch,
        first_month=first.isoformat()[:7],
        horizon=horizon,
        scopes=len(scopes),
        rows=len(rows),
        history_months=len(months),
        notes={r.scope: r.notes for r in found if r.notes},
    )


@dataclass(frozen=True)
class SeriesPoint:
    month: str
    actual: Decimal | None
    forecasts: dict[str, Decimal]


@dataclass
class SeriesView:
    scope: str
    label: str
    currency: str
    batch: str | None
    made_at: str | None
    methods: list[str]
    points: list[SeriesPoint]


def latest_batch(session: Session) -> str | None:
    row = session.execute(
        select(m.ForecastSnapshot.batch)
        .where(m.ForecastSnapshot.source == "series")
        .order_by(m.ForecastSnapshot.made_at.desc(), m.ForecastSnapshot.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def series_view(
    session: Session, scope: str = "company", batch: str | None = None, bookings: Bookings | None = None
) -> SeriesView:
    """A scope's monthly history with the stored forecasts of `batch` (the newest when None) after it."""
    bookings = bookings or load_bookings(session)
    batch = batch or latest_batch(session)
    rows = []
    if batch is not None:
        rows = list(
            session.scalars(
                select(m.ForecastSnapshot).where(m.ForecastSnapshot.batch == batch, m.ForecastSnapshot.scope == scope)
            )
        )
    by_month: dict[str, dict[str, Decimal]] = defaultdict(dict)
    methods: list[str] = []
    for row in rows:
        by_month[row.period_start.isoformat()[:7]][row.method] = row.amount
        if row.method not in methods:
            methods.append(row.method)
    methods.sort(key=lambda x: (x == series.BASELINE, x))
    months = sorted(set(bookings.months) | set(by_month))
    actuals = bookings.amounts.get(scope, {})
    last_actual = bookings.months[-1] if bookings.months else ""
    points = [
        SeriesPoint(mo, actuals.get(mo, Decimal(0)) if mo <= last_actual else None, by_month.get(mo, {}))
        for mo in months
    ]
    made = rows[0].made_at.isoformat(timespec="seconds") if rows else None
    return SeriesView(scope, bookings.labels.get(scope, scope), bookings.currency, batch, made, methods, points)


# --- back-test -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestRow:
    level: str  # company | region | team | a scope
    method: str
    accuracy: Accuracy


@dataclass
class Backtest:
    train: tuple[str, str]
    holdout: tuple[str, str]
    currency: str
    levels: list[BacktestRow]
    scopes: list[BacktestRow]
    notes: dict[str, list[str]]


def backtest(
    session: Session,
    holdout_from: str,
    holdout_to: str | None = None,
    methods: Sequence[str] = series.METHODS,
    progress: Callable[[int, int, str], None] | None = None,
) -> Backtest:
    """Train before `holdout_from`, forecast through `holdout_to` (the newest month when None), score per level."""
    bookings = load_bookings(session)
    start = month_start(holdout_from)
    last = month_start(holdout_to) if holdout_to else (month_start(bookings.months[-1]) if bookings.months else start)
    train = [mo for mo in bookings.months if mo < holdout_from]
    test = months_between(start, next_month(last))
    if len(train) < 3:
        raise InvalidInput(f"only {len(train)} months of history before {holdout_from}: at least 3 are needed")
    if not test or test[-1] > bookings.months[-1]:
        raise InvalidInput(f"no actuals for the held-out months {holdout_from}..{test[-1] if test else holdout_from}")
    train = months_between(month_start(train[0]), start)  # consecutive, zero for months without bookings
    scopes = forecast_scopes(bookings)
    found = series.forecast(_history(bookings, scopes, train), len(test), methods, progress=progress)
    pairs: dict[tuple[str, str], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    by_scope: dict[tuple[str, str], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for result in found:
        actual = bookings.amounts.get(result.scope, {})
        for method, values in result.values.items():
            for mo, value in zip(test, values, strict=True):
                pair = (_cents(value), actual.get(mo, Decimal(0)))
                pairs[(level_of(result.scope), method)].append(pair)
                by_scope[(result.scope, method)].append(pair)
    order = [*methods, series.BASELINE]
    levels = [
        BacktestRow(level, method, accuracy(pairs[(level, method)]))
        for level in ("company", "region", "team")
        for method in order
        if (level, method) in pairs
    ]
    per_scope = [
        BacktestRow(scope, method, accuracy(by_scope[(scope, method)]))
        for scope in scopes
        for method in order
        if (scope, method) in by_scope
    ]
    return Backtest(
        train=(train[0], train[-1]),
        holdout=(test[0], test[-1]),
        currency=bookings.currency,
        levels=levels,
        scopes=per_scope,
        notes={r.scope: r.notes for r in found if r.notes},
    )


# --- pipeline snapshots ----------------------------------------------------------------------------------


def snapshot_pipeline(engine: Engine, *, start: date, end: date, actor: str) -> dict[str, Any]:
    """Store amount × probability of each open deal closing in `[start, end)` (deal level) and the company total
    per close month; returns the batch and counts."""
    if end <= start:
        raise InvalidInput("the close-date range is empty")
    batch = f"pipeline-{uuid.uuid4().hex[:12]}"
    with transaction(engine) as session:
        rates = Rates(session, CURRENCY)
        deals = session.execute(
            select(m.Opportunity, m.Payee.external_id)
            .outerjoin(m.Payee, m.Payee.id == m.Opportunity.owner_id)
            .where(m.Opportunity.status == "open", m.Opportunity.close_date >= start, m.Opportunity.close_date < end)
            .order_by(m.Opportunity.close_date, m.Opportunity.id)
        ).all()
        totals: dict[date, Decimal] = defaultdict(Decimal)
        skipped = 0
        for deal, owner in deals:
            amount = rates.convert(deal.amount, deal.currency, deal.close_date)  # the newest rate up to then
            if amount is None:
                skipped += 1
                continue
            probability = deal.probability if deal.probability is not None else Decimal(0)
            weighted = round_money(amount * probability)
            month = date(deal.close_date.year, deal.close_date.month, 1)
            totals[month] += weighted
            session.add(
                m.ForecastSnapshot(
                    made_by=actor,
                    batch=batch,
                    source="pipeline",
                    method="weighted",
                    scope=f"deal:{deal.external_id}",
                    period_start=month,
                    period_end=next_month(month),
                    amount=weighted,
                    currency=CURRENCY,
                    details={
                        "amount": format(amount, "f"),
                        "probability": format(probability, "f"),
                        "stage": deal.stage,
                        "owner": owner,
                        "close_date": deal.close_date.isoformat(),
                    },
                )
            )
        for month, total in sorted(totals.items()):
            session.add(
                m.ForecastSnapshot(
                    made_by=actor,
                    batch=batch,
                    source="pipeline",
                    method="weighted",
                    scope="company",
                    period_start=month,
                    period_end=next_month(month),
                    amount=total,
                    currency=CURRENCY,
                    details={},
                )
            )
    return {"batch": batch, "deals": len(deals) - skipped, "months": len(totals), "skipped": skipped}


# --- accuracy --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccuracyRow:
    source: str
    method: str
    level: str
    accuracy: Accuracy


@dataclass(frozen=True)
class DealRow:
    deal: str
    close_month: str
    forecast: Decimal
    actual: Decimal
    status: str
    probability: str | None


@dataclass
class AccuracyReport:
    through: date
    currency: str
    rows: list[AccuracyRow]  # per source × method × level
    deals: list[DealRow]
    pending: int  # snapshots whose period has not ended yet (or whose deal is still open)
    scopes: list[AccuracyRow] = field(default_factory=list)  # per source × method × scope (`level` holds the scope)


def accuracy_report(
    engine: Engine, *, through: date | None = None, batch: str | None = None, bookings: Bookings | None = None
) -> AccuracyReport:
    """Score every stored forecast whose period has ended against its actual (see the module doc)."""
    with Session(engine) as session:
        newest = session.scalar(select(func.max(m.Transaction.date)))
        through = through or (newest + timedelta(days=1) if newest else date.today())
        query = select(m.ForecastSnapshot).order_by(m.ForecastSnapshot.id)
        if batch:
            query = query.where(m.ForecastSnapshot.batch == batch)
        snapshots = list(session.scalars(query))
        bookings = bookings or load_bookings(session)
        deal_ids = [s.scope.split(":", 1)[1] for s in snapshots if s.scope.startswith("deal:")]
        deals = {
            o.external_id: o
            for o in session.scalars(select(m.Opportunity).where(m.Opportunity.external_id.in_(deal_ids)))
        }

        rates = Rates(session, CURRENCY)
    pairs: dict[tuple[str, str, str], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    by_scope: dict[tuple[str, str, str], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    deal_rows: list[DealRow] = []
    pending = 0
    for snap in snapshots:
        level = level_of(snap.scope)
        if level == "deal":
            deal = deals.get(snap.scope.split(":", 1)[1])
            if deal is None or deal.status == "open":
                pending += 1
                continue
            actual = Decimal(0)
            if deal.status == "won":
                actual = rates.convert(deal.amount, deal.currency, deal.close_date) or Decimal(0)
            pairs[(snap.source, snap.method, "deal")].append((snap.amount, actual))
            deal_rows.append(
                DealRow(
                    deal.external_id,
                    snap.period_start.isoformat()[:7],
                    snap.amount,
                    actual,
                    deal.status,
                    str(snap.details.get("probability")) if snap.details else None,
                )
            )
            continue
        if snap.period_end > through:
            pending += 1
            continue
        months = months_between(snap.period_start, snap.period_end)
        actual = bookings.total(snap.scope, months)
        pairs[(snap.source, snap.method, level)].append((snap.amount, actual))
        by_scope[(snap.source, snap.method, snap.scope)].append((snap.amount, actual))
    rows = [AccuracyRow(src, method, level, accuracy(p)) for (src, method, level), p in sorted(pairs.items())]
    scopes = [AccuracyRow(src, method, scope, accuracy(p)) for (src, method, scope), p in sorted(by_scope.items())]
    return AccuracyReport(through, CURRENCY, rows, deal_rows, pending, scopes)


def record_forecast(
    session: Session,
    *,
    source: str,
    method: str,
    scope: str,
    start: date,
    end: date,
    amount: Decimal,
    actor: str,
    batch: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Store one forecast made elsewhere (a pipeline model's total for a team and month, ...) so that its accuracy
    is tracked like the others; returns its batch. The caller commits the session."""
    if source not in ("series", "pipeline", "commit"):
        raise InvalidInput(f"unknown forecast source {source!r}; use series, pipeline or commit")
    if end <= start:
        raise InvalidInput("the forecast's period is empty")
    batch = batch or f"{source}-{uuid.uuid4().hex[:12]}"
    session.add(
        m.ForecastSnapshot(
            made_by=actor,
            batch=batch,
            source=source,
            method=method[:32],
            scope=scope,
            period_start=start,
            period_end=end,
            amount=round_money(amount),
            currency=CURRENCY,
            details=details or {},
        )
    )
    return batch
