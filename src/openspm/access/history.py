"""A payee's fiscal year month by month: earned, paid, attainment, and the statement of each month.

- earned: the month's live earnings (what runs and incremental recompute keep current), per currency;
- paid: the month's payments from its period run (the close's snapshot, or the newest completed run), in
  the pay currency;
- attainment: of the component with the largest quota in the month (the measure period to date, e.g. the
  quarter so far for a quarterly quota), with that quota;
- a statement link for each month whose run paid or credited the payee.

`chart_data` gives the same as exact decimal strings for the dashboard's charts (no float arithmetic on money
here; the browser parses the strings for drawing only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.dashboard import default_month, period_runs
from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee
from openspm.core.errors import NotFound
from openspm.store import models as m


@dataclass(frozen=True)
class HistoryMonth:
    month: str
    status: str
    earned: dict[str, Decimal]
    paid: dict[str, Decimal]
    attainment: Decimal | None
    quota: Decimal | None
    component: str | None
    statement: bool  # the month's run paid or credited the payee: its statement exists


@dataclass(frozen=True)
class History:
    payee: str
    name: str
    year: str
    years: list[str]
    currency: str  # the currency most of the year's earnings are in (the pay currency when none)
    pay_currency: str
    months: list[HistoryMonth]

    def totals(self) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        earned: dict[str, Decimal] = {}
        paid: dict[str, Decimal] = {}
        for row in self.months:
            for into, source in ((earned, row.earned), (paid, row.paid)):
                for currency, amount in source.items():
                    into[currency] = into.get(currency, Decimal(0)) + amount
        return earned, paid


def _add(into: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, Decimal(0)) + amount


def history_for(
    engine: Engine, principal: Principal, payee: str | None = None, year: str | None = None, through: str | None = None
) -> History:
    """The fiscal year `year` (default: the one of the newest month with live earnings) of `payee` (default: the
    principal's own), month by month; `through`: stop at this month (the dashboard's month)."""
    with Session(engine) as session:
        target = payee or principal.payee
        if target is None:
            raise NotFound(f"{principal.email} is not linked to a payee; pick a payee to see their history")
        periods = list(session.scalars(select(m.Period).order_by(m.Period.start_date)))
        years = [p.name for p in periods if p.kind == "year"]
        if year is None:
            anchor = through or default_month(session, None)
            month = next((p for p in periods if p.name == anchor and p.kind == "month"), None)
            if month is None:
                raise NotFound(f"unknown month {anchor!r}")
            year_row = next((p for p in periods if p.kind == "year" and p.fiscal_year == month.fiscal_year), None)
        else:
            year_row = next((p for p in periods if p.kind == "year" and p.name == year), None)
        if year_row is None:
            raise NotFound(f"unknown fiscal year {year!r}; use a name like FY2025")
        found = visible_payee(session, principal, target, year_row.name)
        months = [p for p in periods if p.kind == "month" and p.fiscal_year == year_row.fiscal_year]
        if through is not None:
            end = next((p for p in months if p.name == through), None)
            months = [p for p in months if end is None or p.start_date <= end.start_date]
        names = [p.name for p in months]
        le = m.LiveEarning
        earned: dict[str, dict[str, Decimal]] = {}
        main: dict[str, m.LiveEarning] = {}
        for e in session.scalars(select(le).where(le.payee_id == found.id, le.period.in_(names or ["-"]))):
            _add(earned.setdefault(e.period, {}), e.currency, e.amount)
            best = main.get(e.period)
            if e.quota and e.attainment is not None and (best is None or e.quota > (best.quota or 0)):
                main[e.period] = e
        runs = period_runs(session, names) if names else []
        run_month = dict(
            session.execute(select(m.Run.id, m.Run.period).where(m.Run.id.in_(runs or [-1]))).tuples().all()
        )
        paid: dict[str, dict[str, Decimal]] = {}
        on_statement: set[str] = set()
        for run_id, currency, amount in session.execute(
            select(m.Payment.run_id, m.Payment.pay_currency, m.Payment.pay_amount).where(
                m.Payment.run_id.in_(runs or [-1]), m.Payment.payee_id == found.id
            )
        ):
            _add(paid.setdefault(run_month[run_id], {}), currency, Decimal(amount))
            on_statement.add(run_month[run_id])
        credited = session.execute(
            select(m.RunCredit.run_id)
            .where(m.RunCredit.run_id.in_(runs or [-1]), m.RunCredit.payee == found.external_id)
            .distinct()
        ).scalars()
        on_statement |= {run_month[r] for r in credited}
        totals: dict[str, Decimal] = {}
        for sums in earned.values():
            for currency, amount in sums.items():
                _add(totals, currency, abs(amount))
        currency = max(totals, key=lambda c: totals[c]) if totals else found.pay_currency
        rows = [
            HistoryMonth(
                p.name,
                p.status,
                earned.get(p.name, {}),
                paid.get(p.name, {}),
                main[p.name].attainment if p.name in main else None,
                main[p.name].quota if p.name in main else None,
                main[p.name].component if p.name in main else None,
                p.name in on_statement,
            )
            for p in months
        ]
        return History(found.external_id, found.name, year_row.name, years, currency, found.pay_currency, rows)


def chart_data(history: History) -> dict[str, Any]:
    """The history as the dashboard's charts read it: decimal strings (never floats); None for a month with no
    live earnings (earned) or no run (paid), so the chart draws no bar rather than a zero."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    return {
        "payee": history.payee,
        "year": history.year,
        "currency": history.currency,
        "pay_currency": history.pay_currency,
        "months": [r.month for r in history.months],
        "earned": [text(r.earned.get(history.currency, Decimal(0))) if r.earned else None for r in history.months],
        "paid": [
            text(r.paid.get(history.pay_currency, Decimal(0))) if r.paid or r.statement else None
            for r in history.months
        ],
        "attainment": [text(r.attainment) for r in history.months],
        "component": next((r.component for r in reversed(history.months) if r.component), None),
    }
