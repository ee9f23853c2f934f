"""Finance views: a month's accruals, its payroll file and GL journal, and the commission accounting schedule.

Admin, comp analyst and finance may see them (finance read-only, like everything); a manager or a rep asking is
`Forbidden`. The files are the exports' own bytes (`exports.payroll.payroll_csv`, `exports.journal.journal_csv`)
and the accounting CSVs are written exactly as `openspm accounting ... --csv` writes them, so a download from the
web is the same file as the CLI's.

Accruals of a month come from its period run's payments (`exports.sources.month_payments`: the snapshot of a
closed month), per cost center, plan and component, in the plan currency: earned (earning lines), held (hold
lines, as a positive amount), released (earlier holds paid now), adjustments (manual and prior-period),
clawbacks, draws (advance, guarantee, recovery) and paid (the sum of the lines: what the payment pays); and
what stays accrued but unpaid at the month's end: every hold of the months through this one (their period runs)
less every release.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.dashboard import period_runs
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.accounting.service import (
    DETAIL_COLUMNS,
    EXPENSED_EXPEDIENT,
    EXPENSED_NO_CONTRACT,
    EXPENSED_NOT_INCREMENTAL,
    JOURNAL_COLUMNS,
    REVERSAL,
    SCHEDULE_COLUMNS,
    TREATMENTS,
    Book,
    LedgerLine,
    book,
    entry_rows,
    ledger,
    ledger_rows,
    month_entries,
    schedule_rows,
)
from openspm.core.errors import NotFound
from openspm.exports.journal import AccountTotal, GlLine, gl_journal, journal_csv, totals
from openspm.exports.payroll import payroll_csv
from openspm.exports.sources import month_payments
from openspm.store import models as m

FINANCE_ROLES = frozenset({"admin", "comp_analyst", "finance"})
ZERO = Decimal(0)
EXPENSED = (EXPENSED_EXPEDIENT, EXPENSED_NOT_INCREMENTAL, EXPENSED_NO_CONTRACT)
DRAW_KINDS = ("draw_advance", "guarantee_forgiven", "draw_recovery")
NO_COMPONENT = "(no component)"
DRAW = "(draw)"


def require_finance(principal: Principal) -> None:
    """Forbidden unless the principal is admin, comp analyst or finance."""
    if not principal.roles & FINANCE_ROLES:
        roles = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"finance pages need the admin, comp_analyst or finance role; {principal.email} has {roles}")


def csv_bytes(columns: Sequence[str], rows: list[dict[str, str]]) -> bytes:
    """CSV as `openspm accounting ... --csv` writes it: a header, `\\n` line ends, UTF-8."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _known_month(session: Session, period: str) -> m.Period:
    month = session.scalars(select(m.Period).where(m.Period.name == period, m.Period.kind == "month")).first()
    if month is None:
        raise NotFound(f"unknown month {period!r}")
    return month


def finance_months(engine: Engine, principal: Principal) -> list[str]:
    """The months with a completed run, newest first (for the month pickers)."""
    require_finance(principal)
    with Session(engine) as session:
        return list(
            session.scalars(
                select(m.Period.name)
                .where(
                    m.Period.kind == "month", m.Period.name.in_(select(m.Run.period).where(m.Run.status == "completed"))
                )
                .order_by(m.Period.start_date.desc())
            )
        )


# --- accruals -------------------------------------------------------------------------------------------------


@dataclass
class AccrualRow:
    cost_center: str
    plan: str
    component: str
    currency: str
    earned: Decimal = ZERO
    held: Decimal = ZERO
    released: Decimal = ZERO
    adjustments: Decimal = ZERO
    clawbacks: Decimal = ZERO
    draws: Decimal = ZERO
    paid: Decimal = ZERO
    outstanding: Decimal = ZERO  # accrued (held) and not yet paid at the month's end

    def add(self, other: AccrualRow) -> None:
        for name in ("earned", "held", "released", "adjustments", "clawbacks", "draws", "paid", "outstanding"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Accruals:
    period: str
    run_id: int
    closed: bool
    rows: list[AccrualRow]  # per cost center, plan, component, currency
    by_cost_center: list[AccrualRow]  # per cost center and currency (plan and component "")
    totals: list[AccrualRow] = field(default_factory=list)  # per currency


def _bucket(line: dict[str, object]) -> tuple[str, str]:
    """(the line's column, its component)."""
    kind = str(line.get("kind"))
    source = line.get("source") or {}
    component = str(source.get("component") or "") if isinstance(source, dict) else ""
    if kind in DRAW_KINDS:
        return "draws", DRAW
    column = {
        "earning": "earned",
        "hold": "held",
        "release": "released",
        "adjustment": "adjustments",
        "prior_period_adjustment": "adjustments",
        "clawback": "clawbacks",
    }.get(kind, "adjustments")
    return column, component or NO_COMPONENT


def accruals_for(engine: Engine, principal: Principal, period: str) -> Accruals:
    """The month's earned, held, released, adjusted, clawed back, drawn and paid amounts, and what stays
    accrued but unpaid at its end (see the module docstring)."""
    require_finance(principal)
    with Session(engine) as session:
        month = _known_month(session, period)
        payments = month_payments(session, period)
        centers = {k: v.cost_center for k, v in payments.payees.items()}
        rows: dict[tuple[str, str, str, str], AccrualRow] = {}

        def row(payee: str, plan: str, component: str, currency: str) -> AccrualRow:
            key = (centers.get(payee, ""), plan, component, currency)
            if key not in rows:
                rows[key] = AccrualRow(*key)
            return rows[key]

        for payment in payments.payments:
            for line in payment.lines:
                column, component = _bucket(line)
                amount = Decimal(str(line["amount"]))
                target = row(payment.payee, payment.plan, component, payment.currency)
                target.paid += amount
                setattr(target, column, getattr(target, column) + (-amount if column == "held" else amount))
        earlier = list(
            session.scalars(
                select(m.Period.name).where(m.Period.kind == "month", m.Period.start_date <= month.start_date)
            )
        )
        for payment in session.scalars(select(m.Payment).where(m.Payment.run_id.in_(period_runs(session, earlier)))):
            for line in payment.lines:
                if line.get("kind") not in ("hold", "release"):
                    continue
                _, component = _bucket(line)
                row(payment.payee, payment.plan, component, payment.currency).outstanding -= Decimal(
                    str(line["amount"])
                )
        ordered = [rows[k] for k in sorted(rows)]
        centers_sum: dict[tuple[str, str], AccrualRow] = {}
        grand: dict[str, AccrualRow] = {}
        for r in ordered:
            centers_sum.setdefault((r.cost_center, r.currency), AccrualRow(r.cost_center, "", "", r.currency)).add(r)
            grand.setdefault(r.currency, AccrualRow("", "", "", r.currency)).add(r)
        return Accruals(
            period,
            payments.run_id,
            payments.closed,
            ordered,
            [centers_sum[k] for k in sorted(centers_sum)],
            [grand[k] for k in sorted(grand)],
        )


ACCRUAL_COLUMNS = (
    "period", "cost_center", "plan", "component", "currency", "earned", "held", "released", "adjustments",
    "clawbacks", "draws", "paid", "outstanding",
)  # fmt: skip


def accruals_csv(data: Accruals) -> bytes:
    """The accruals' rows (per cost center, plan and component) as CSV."""
    return csv_bytes(
        ACCRUAL_COLUMNS,
        [
            {
                "period": data.period,
                "cost_center": r.cost_center,
                "plan": r.plan,
                "component": r.component,
                "currency": r.currency,
                **{k: format(getattr(r, k), "f") for k in ACCRUAL_COLUMNS[5:]},
            }
            for r in data.rows
        ],
    )


# --- payroll file and GL journal --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayrollFile:
    period: str
    header: list[str]
    rows: list[list[str]]
    data: bytes  # the file, as `openspm export payroll` writes it


def payroll_for(engine: Engine, principal: Principal, period: str) -> PayrollFile:
    """The month's payroll file (default configuration) and its rows for a preview."""
    require_finance(principal)
    data = payroll_csv(engine, period)
    table = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return PayrollFile(period, table[0] if table else [], table[1:], data)


@dataclass(frozen=True)
class Journal:
    period: str
    lines: list[GlLine]
    totals: list[AccountTotal]
    debits: dict[str, Decimal]
    credits: dict[str, Decimal]
    data: bytes  # the file, as `openspm export journal` writes it

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


def journal_for(engine: Engine, principal: Principal, period: str) -> Journal:
    """The month's GL accrual journal (default accounts): its lines, totals per account and the CSV."""
    require_finance(principal)
    lines = gl_journal(engine, period)
    debits: dict[str, Decimal] = {}
    credits: dict[str, Decimal] = {}
    for x in lines:
        debits[x.currency] = debits.get(x.currency, ZERO) + x.debit
        credits[x.currency] = credits.get(x.currency, ZERO) + x.credit
    return Journal(period, lines, totals(lines), debits, credits, journal_csv(engine, period))


# --- commission accounting (ASC 340-40) -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountingMonth:
    """One month of the commission accounting, per currency."""

    period: str
    currency: str
    capitalized: Decimal
    amortized: Decimal
    impaired: Decimal
    expensed: Decimal  # expensed at once (expedient, not incremental, no contract)
    reversed: Decimal  # negative shares (returns, cancellations, negative true-ups), as a positive amount
    remaining: Decimal  # the deferred commission asset at the month's end


@dataclass(frozen=True)
class Accounting:
    through: str
    months: list[AccountingMonth]
    treatments: list[tuple[str, int, dict[str, Decimal]]]  # treatment, count, total per currency
    missing: list[str]
    issues: list[str]
    rows: list[dict[str, str]]  # one per cost (the schedule CSV's rows)
    book: Book

    def schedule_csv(self) -> bytes:
        """Every cost's schedule line: `openspm accounting schedule --csv`'s file."""
        return csv_bytes(SCHEDULE_COLUMNS, self.rows)


def accounting_for(engine: Engine, principal: Principal, through: str) -> Accounting:
    """Every commission cost through a month, by month: capitalized, amortized, impaired, expensed, reversed and
    the asset remaining (default policy)."""
    require_finance(principal)
    result = book(engine, through)
    by_month: dict[tuple[str, str], dict[str, Decimal]] = {}
    names = [p.name for p in result.months]
    currencies = sorted({c.currency for c in result.costs})

    def cell(month: str, currency: str) -> dict[str, Decimal]:
        return by_month.setdefault((month, currency), dict.fromkeys(("cap", "amort", "imp", "exp", "rev"), ZERO))

    for cost in result.costs:
        if cost.treatment == REVERSAL:
            cell(cost.period, cost.currency)["rev"] -= cost.amount
            continue
        if cost.treatment in EXPENSED:
            cell(cost.period, cost.currency)["exp"] += cost.amount
        plan = cost.schedule
        if plan is None:
            continue
        if plan.capitalized:
            cell(cost.period, cost.currency)["cap"] += plan.capitalized
        for line in plan.lines:
            if line.month.name not in names or not plan.capitalized:
                continue
            key = "amort" if line.kind.value == "amortization" else "imp" if line.kind.value == "impairment" else ""
            if key:
                cell(line.month.name, cost.currency)[key] += line.amount
    months = []
    for period in result.months:
        remaining = result.remaining(period)
        for currency in currencies:
            c = cell(period.name, currency)
            months.append(
                AccountingMonth(period.name, currency, c["cap"], c["amort"], c["imp"], c["exp"], c["rev"],
                                remaining.get(currency, ZERO))
            )  # fmt: skip
    treatments = []
    for treatment in TREATMENTS:
        mine = [c for c in result.costs if c.treatment == treatment]
        if mine:
            sums: dict[str, Decimal] = {}
            for one in mine:
                sums[one.currency] = sums.get(one.currency, ZERO) + one.amount
            treatments.append((treatment, len(mine), sums))
    return Accounting(
        result.through.name,
        months,
        treatments,
        list(result.missing),
        [str(i) for i in result.issues],
        schedule_rows(result),
        result,
    )


@dataclass(frozen=True)
class AccountingJournal:
    period: str
    lines: list[LedgerLine]
    entries: int
    data: bytes  # `openspm accounting journal --csv`'s file
    detail: bytes  # `... --csv --detail`'s file

    @property
    def balanced(self) -> bool:
        return sum((x.debit for x in self.lines), ZERO) == sum((x.credit for x in self.lines), ZERO)


def accounting_journal_for(engine: Engine, principal: Principal, period: str) -> AccountingJournal:
    """A month's commission accounting entries by kind, account and cost center (default policy)."""
    require_finance(principal)
    result = book(engine, period)
    entries = month_entries(result, result.through.name)
    lines = ledger(entries)
    return AccountingJournal(
        result.through.name,
        lines,
        len(entries),
        csv_bytes(JOURNAL_COLUMNS, ledger_rows(result.through.name, lines)),
        csv_bytes(DETAIL_COLUMNS, entry_rows(entries)),
    )
