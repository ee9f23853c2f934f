"""The pipeline-weighted forecast: open deals × their win probability, per month or quarter of expected close.

Input: open opportunities (amounts in the reporting currency, `win_probability.load_deals`) and their scores
(`win_probability.score_deals`). Output: one row per period (and rep, team or region when asked) with the
pipeline and three weighted forecasts side by side:

- `crm`: Σ amount × the probability the CRM carries on the deal (the stage's default, as typed by the rep);
- `stage`: Σ amount × P(win | reached the deal's stage) from closed history;
- `model`: Σ amount × the calibrated model's P(win) for the deal.

Example: two open deals closing in FY2027-M01, 10,000.00 at Proposal (CRM 0.50, history 0.66, model 0.71) and
4,000.00 at Prospecting (CRM 0.10, history 0.43, model 0.30): pipeline 14,000.00; CRM 5,000.00 + 400.00 =
5,400.00; stage 6,600.00 + 1,720.00 = 8,320.00; model 7,100.00 + 1,200.00 = 8,300.00. Each product is rounded to
the cent (half up) before it is summed, so a row is the sum of the deals it lists. Deals past due (expected close
before the as-of day) stay in their own month, flagged `past_due`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.insights.win_probability import REPORTING_CURRENCY, Score, load_deals, score_deals, trained
from openspm.store import models as m

CENT = Decimal("0.01")
PERIODS = ("month", "quarter")
GROUPS = ("none", "rep", "team", "region")


@dataclass(frozen=True)
class ForecastRow:
    """One period (× group) of the forecast, money in `currency`."""

    period: str  # 2027-01 or 2027-Q1 (calendar months and quarters of the expected close date)
    group: str  # the rep, team (manager) or region; "" when not grouped
    deals: int
    pipeline: Decimal
    crm: Decimal
    stage: Decimal
    model: Decimal
    currency: str
    past_due: bool  # the period ends before the as-of day


def period_of(day: date, period: str) -> str:
    """`2027-01` for a month, `2027-Q1` for a quarter (calendar)."""
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    raise InvalidInput(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def _weighted(amount: Decimal, probability: Decimal | None) -> Decimal:
    return (amount * (probability or Decimal(0))).quantize(CENT, ROUND_HALF_UP)


def managers_on(session: Session, day: date) -> dict[int, tuple[str, str]]:
    """Payee id → (manager external id, manager name) of the reporting line in force on `day`."""
    manager = m.Payee
    rows = session.execute(
        select(m.ReportingLine.payee_id, manager.external_id, manager.name)
        .join(manager, manager.id == m.ReportingLine.manager_id)
        .where(m.ReportingLine.effective_from <= day)
        .where((m.ReportingLine.effective_to.is_(None)) | (m.ReportingLine.effective_to > day))
    ).all()
    return {payee: (external, name) for payee, external, name in rows}


def forecast(
    scores: Iterable[Score],
    *,
    as_of: date,
    period: str = "month",
    by: str = "none",
    teams: dict[int, tuple[str, str]] | None = None,
    currency: str = REPORTING_CURRENCY,
) -> list[ForecastRow]:
    """Sum the scored open deals per period (and `by`: rep, team or region), in period then group order."""
    if by not in GROUPS:
        raise InvalidInput(f"by must be one of {', '.join(GROUPS)}, not {by!r}")
    sums: dict[tuple[str, str], list[Decimal]] = {}
    counts: dict[tuple[str, str], int] = {}
    ends: dict[str, date] = {}
    for s in scores:
        d = s.deal
        key = (period_of(d.close_date, period), _group(s, by, teams or {}))
        ends[key[0]] = max(ends.get(key[0], d.close_date), d.close_date)
        amount = d.amount_reporting.quantize(CENT, ROUND_HALF_UP)
        row = sums.setdefault(key, [Decimal(0)] * 4)
        row[0] += amount
        row[1] += _weighted(amount, s.crm_probability)
        row[2] += _weighted(amount, s.stage_probability)
        row[3] += _weighted(amount, s.probability)
        counts[key] = counts.get(key, 0) + 1
    return [
        ForecastRow(
            key[0],
            key[1],
            counts[key],
            pipeline=sums[key][0],
            crm=sums[key][1],
            stage=sums[key][2],
            model=sums[key][3],
            currency=currency,
            past_due=_ends_before(key[0], period, as_of),
        )
        for key in sorted(sums)
    ]


def _ends_before(name: str, period: str, day: date) -> bool:
    """True when the whole period lies before `day`."""
    year = int(name[:4])
    last_month = int(name[5:]) if period == "month" else int(name[6:]) * 3
    following = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return following <= day


def _group(score: Score, by: str, teams: dict[int, tuple[str, str]]) -> str:
    d = score.deal
    if by == "rep":
        return f"{d.owner_name} ({d.owner})" if d.owner else "(no owner)"
    if by == "team":
        manager = teams.get(d.owner_id or -1)
        return f"{manager[1]} ({manager[0]})" if manager else "(no team)"
    if by == "region":
        return d.region or "(no region)"
    return ""


def totals(rows: Sequence[ForecastRow]) -> ForecastRow | None:
    """The sum of `rows` (None when there are none)."""
    if not rows:
        return None
    return ForecastRow(
        "total",
        "",
        sum(r.deals for r in rows),
        sum((r.pipeline for r in rows), Decimal(0)),
        sum((r.crm for r in rows), Decimal(0)),
        sum((r.stage for r in rows), Decimal(0)),
        sum((r.model for r in rows), Decimal(0)),
        rows[0].currency,
        False,
    )


def pipeline_forecast(
    session: Session,
    *,
    as_of: date | None = None,
    period: str = "month",
    by: str = "none",
    owner_ids: set[int] | None = None,
) -> list[ForecastRow]:
    """The forecast of the open deals owned by `owner_ids` (every open deal when None), from the store.

    The model learns from every closed deal (before `as_of` when given), whoever owned it; teams are the
    reporting lines in force on the model's as-of day.
    """
    deals = load_deals(session)
    fit = trained(deals, as_of)
    mine = [d for d in deals if owner_ids is None or d.owner_id in owner_ids]
    scores = score_deals(deals, as_of, only=mine)
    teams = managers_on(session, fit.as_of) if by == "team" else {}
    return forecast(scores, as_of=fit.as_of, period=period, by=by, teams=teams)
