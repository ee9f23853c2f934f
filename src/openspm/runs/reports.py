"""Read runs back: explain a payee's earnings, compare two runs.

`explain(engine, payee, period)` returns, for each earning of the newest
completed run of the month (or a given run), the rule, the measure and
attainment, the tier arithmetic, multipliers, gate, cap and rounding, and the
credits behind the measure, so that the numbers add up exactly.

`diff(engine, run_a, run_b)` compares two runs payee by payee and component by
component: who changed, by how much, and which component moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.errors import NotFound
from openspm.core.money import to_text
from openspm.runs.service import latest_run
from openspm.store import models as m


@dataclass
class Explanation:
    run_id: int
    period: str
    payee: str
    earnings: list[dict[str, Any]]
    total: dict[str, Decimal]


def explain(engine: Engine, payee: str, period: str, run_id: int | None = None) -> Explanation:
    """Every earning of a payee in a run, with its trace."""
    with Session(engine) as session:
        run = session.get(m.Run, run_id) if run_id is not None else latest_run(session, period)
        if run is None:
            raise NotFound(f"no run {run_id}")
        rows = list(
            session.scalars(
                select(m.RunEarning)
                .where(m.RunEarning.run_id == run.id, m.RunEarning.payee == payee)
                .order_by(m.RunEarning.plan, m.RunEarning.id)
            )
        )
        if not rows:
            known = session.scalars(select(m.Payee.external_id).where(m.Payee.external_id == payee)).first()
            if known is None:
                raise NotFound(f"unknown payee {payee!r}")
            raise NotFound(f"payee {payee} has no earnings in run {run.id} ({run.period}); are they on a plan?")
        total: dict[str, Decimal] = {}
        earnings = []
        for e in rows:
            total[e.currency] = total.get(e.currency, Decimal(0)) + e.amount
            earnings.append(
                {
                    "plan": e.plan,
                    "component": e.component,
                    "measure_period": e.measure_period,
                    "amount": e.amount,
                    "cut": e.cut,
                    "currency": e.currency,
                    "base": e.base,
                    "quota": e.quota,
                    "attainment": e.attainment,
                    "rate": e.rate,
                    "trace": e.trace,
                    "credits": credits_behind(session, run, e.plan, payee, e.trace.get("credits")),
                }
            )
    return Explanation(run.id, run.period, payee, earnings, total)


def credits_behind(
    session: Session, run: m.Run, plan: str, payee: str, behind: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The credits an earning's measure adds up (`trace["credits"]`: measure and months), read from the
    stored credits: the run's own month from the run, each earlier month from the newest completed run of
    that month up to this run. Each credit is a dict: month, date, transaction, role, share, amount, run."""
    if not behind or not isinstance(behind, dict):
        return []
    measure = str(behind["measure"])
    found: list[dict[str, Any]] = []
    for month in behind.get("months", []):
        source = run.id if month == run.period else _newest_run(session, month, run.id)
        if source is None:
            continue
        c = m.RunCredit
        query = (
            select(c)
            .where(c.run_id == source, c.plan == plan, c.payee == payee, c.month == month)
            .order_by(c.date, c.transaction, c.id)
        )
        for credit in session.scalars(query):
            if measure in (credit.measures or "").split(","):
                found.append(
                    {
                        "month": month,
                        "date": credit.date.isoformat(),
                        "transaction": credit.transaction,
                        "role": credit.role,
                        "share": _text(credit.share),
                        "amount": _text(credit.amount),
                        "run": source,
                    }
                )
    return found


def _newest_run(session: Session, month: str, up_to: int) -> int | None:
    return session.scalar(
        select(m.Run.id)
        .where(m.Run.period == month, m.Run.status == "completed", m.Run.id <= up_to)
        .order_by(m.Run.id.desc())
        .limit(1)
    )


def _text(value: Decimal) -> str:
    return "0" if value == 0 else to_text(value.normalize())


@dataclass
class Difference:
    payee: str
    plan: str
    component: str
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass
class RunDiff:
    run_a: int
    run_b: int
    changed: list[Difference] = field(default_factory=list)
    payees_compared: int = 0
    total_before: Decimal = Decimal(0)
    total_after: Decimal = Decimal(0)

    def by_payee(self) -> list[tuple[str, Decimal, list[Difference]]]:
        """(payee, total change, component changes), largest change first."""
        grouped: dict[str, list[Difference]] = {}
        for d in self.changed:
            grouped.setdefault(d.payee, []).append(d)
        rows = [(p, sum((d.change for d in ds), Decimal(0)), ds) for p, ds in grouped.items()]
        return sorted(rows, key=lambda r: (-abs(r[1]), r[0]))


def diff(engine: Engine, run_a: int, run_b: int) -> RunDiff:
    """Population-wide comparison of two runs' earnings."""
    with Session(engine) as session:
        for run_id in (run_a, run_b):
            run = session.get(m.Run, run_id)
            if run is None or run.status != "completed":
                raise NotFound(f"no completed run {run_id}")
        amounts: dict[tuple[str, str, str], list[Decimal]] = {}
        payees: set[str] = set()
        for index, run_id in enumerate((run_a, run_b)):
            for payee, plan, component, amount in session.execute(
                select(m.RunEarning.payee, m.RunEarning.plan, m.RunEarning.component, m.RunEarning.amount).where(
                    m.RunEarning.run_id == run_id
                )
            ):
                payees.add(payee)
                amounts.setdefault((payee, plan, component), [Decimal(0), Decimal(0)])[index] += amount
    result = RunDiff(run_a, run_b, payees_compared=len(payees))
    for (payee, plan, component), (before, after) in sorted(amounts.items()):
        result.total_before += before
        result.total_after += after
        if before != after:
            result.changed.append(Difference(payee, plan, component, before, after))
    return result
