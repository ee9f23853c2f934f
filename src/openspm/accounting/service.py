"""Commission accounting on the store: which stored commissions are contract costs, their schedules and journals.

`book(engine, "FY2025-M12", policy)` reads each month's period run (`openspm.runs.pay.period_run`: the run
frozen at close for a closed month, else the newest completed run) from the calendar's first month through the
month given, and turns every earning of those runs into commission costs:

1. A component with a measure (`trace["measure"]`: flat rate, tiered rate, override) shares its earning among
   the payee's credits of the month that count toward that measure (the run's `run_credits`), pro rata to their
   credited amounts (`calc.rules.clawbacks.allocate`, at the plan's rounding scale, so the shares add up to the
   earning exactly). Each share is a cost of its transaction, the contract.
2. A share on a sale whose `term_months` attribute (imported as `attr.term_months`) is a whole number of months
   is an incremental cost of that contract: capitalized and amortized, or expensed under the practical
   expedient (`calc.rules.amortization`). A share on a transaction without a term is expensed: there is no
   contract with a term to tie it to (`expensed_no_contract`).
3. A component without a measure (a bonus, a SPIF) pays whether or not any one contract is won: its earning is
   expensed as not incremental (`expensed_not_incremental`). So is an earning with no credit of its measure in
   the month (a true-up on earlier months' credits): `expensed_no_contract`.
4. A negative share (a return or cancellation credited in the month, or a negative true-up) reduces commission
   expense in its month (`reversal`: Dr accrued commissions, Cr commission expense); it is never capitalized.
5. A cancellation (a transaction of type `cancellation` naming the contract as its `original`) dated on or
   before the last month read cancels the contract: the cost's remaining asset is impaired in that month.

Worked example: an AE earns 700.00 in FY2025-M03 on T1 (8,000, 24 months) and T2 (6,000, 12 months); the shares
are 400.00 and 300.00; T1's 400.00 is capitalized, 16.67 a month (the last month 16.59); T2's 300.00 is
expensed at once (12 months: the practical expedient).

Contract terms and cancellations are read from the store's transactions as they are now; the commissions
themselves come from the frozen runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.calc.rules.amortization import (
    AccountingPolicy,
    CommissionCost,
    EntryKind,
    JournalEntry,
    JournalLine,
    Schedule,
    Treatment,
    fiscal_months,
    month_journal,
    schedule,
)
from openspm.calc.rules.clawbacks import allocate
from openspm.core.errors import NotFound
from openspm.core.issues import Issue
from openspm.core.money import to_text
from openspm.core.period import Period, PeriodKind
from openspm.runs.pay import period_run
from openspm.runs.service import calendar_periods
from openspm.store import models as m

ZERO = Decimal(0)
CHUNK = 500

CAPITALIZED = Treatment.CAPITALIZED.value
EXPENSED_EXPEDIENT = Treatment.EXPENSED_EXPEDIENT.value
EXPENSED_NOT_INCREMENTAL = Treatment.EXPENSED_NOT_INCREMENTAL.value
EXPENSED_NO_CONTRACT = "expensed_no_contract"
REVERSAL = "reversal"
TREATMENTS = (CAPITALIZED, EXPENSED_EXPEDIENT, EXPENSED_NOT_INCREMENTAL, EXPENSED_NO_CONTRACT, REVERSAL)


@dataclass(frozen=True)
class Cost:
    """One commission cost found in a month's run: where it came from, its treatment and why.

    `amount` is signed (a reversal is negative); `schedule` is None for a reversal, which is expensed (reduced)
    in its month and never capitalized.
    """

    cost_id: str
    run_id: int
    period: str  # the month the commission was earned (incurred)
    plan: str
    component: str
    payee: str
    contract: str  # the transaction (external id); "" when the cost is tied to none
    cost_center: str
    amount: Decimal
    currency: str
    term_months: int | None
    treatment: str
    reason: str
    schedule: Schedule | None


@dataclass(frozen=True)
class Book:
    """Every commission cost of the months read, and what could not be read."""

    through: Period
    policy: AccountingPolicy
    months: tuple[Period, ...]  # the fiscal months read, first to `through`
    runs: dict[str, int]  # month → the run read
    missing: tuple[str, ...]  # months without a completed run (nothing read for them)
    costs: tuple[Cost, ...]
    issues: tuple[Issue, ...] = ()
    calendar: tuple[Period, ...] = field(default=(), repr=False)  # consecutive months covering every schedule

    @property
    def schedules(self) -> list[Schedule]:
        return [c.schedule for c in self.costs if c.schedule is not None]

    def month(self, name: str) -> Period:
        found = next((p for p in self.calendar if p.name == name), None)
        if found is None:
            raise NotFound(f"{name} is not a month of the book (read through {self.through.name})")
        return found

    def remaining(self, month: Period | None = None) -> dict[str, Decimal]:
        """The deferred commission asset at the end of `month` (default: the last month read), per currency."""
        month = month or self.through
        totals: dict[str, Decimal] = {}
        for cost in self.costs:
            if cost.schedule is not None and cost.schedule.capitalized:
                left = cost.schedule.remaining_at(month)
                totals[cost.currency] = totals.get(cost.currency, ZERO) + left
        return dict(sorted(totals.items()))


# --- reading the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Contract:
    id: int
    type: str
    term: int | None
    problem: str  # why there is no usable term ("" when there is one)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _term(value: Any) -> tuple[int | None, str]:
    """A `term_months` attribute as whole months, or None and why not."""
    if value is None or str(value).strip() == "":
        return None, "no term_months"
    text = str(value).strip()
    try:
        months = Decimal(text)
    except ArithmeticError:
        return None, f"term_months {text!r} is not a number of months"
    if not months.is_finite() or months != months.to_integral_value() or months < 1:
        return None, f"term_months {text!r} is not a whole number of months >= 1"
    return int(months), ""


def _contracts(session: Session, names: Iterable[str]) -> dict[str, _Contract]:
    found: dict[str, _Contract] = {}
    t = m.Transaction
    for chunk in _chunks(sorted(set(names))):
        for row in session.execute(select(t.id, t.external_id, t.type, t.attributes).where(t.external_id.in_(chunk))):
            term, problem = _term((row.attributes or {}).get("term_months"))
            found[row.external_id] = _Contract(row.id, row.type, term, problem)
    return found


def _cancellations(session: Session, contracts: dict[str, _Contract], before: date) -> dict[str, date]:
    """The first cancellation date of each contract, among cancellations dated before `before`."""
    by_id = {c.id: name for name, c in contracts.items()}
    found: dict[str, date] = {}
    t = m.Transaction
    for chunk in _chunks(sorted(by_id)):
        query = select(t.original_id, t.date).where(t.type == "cancellation", t.original_id.in_(chunk), t.date < before)
        for original_id, day in session.execute(query):
            name = by_id[original_id]
            found[name] = min(day, found.get(name, day))
    return found


def _months(session: Session) -> tuple[list[Period], int]:
    periods = calendar_periods(session)
    calendar = session.scalars(select(m.Calendar).order_by(m.Calendar.id)).first()
    assert calendar is not None  # calendar_periods checks it
    return sorted((p for p in periods if p.kind is PeriodKind.MONTH), key=lambda p: p.start), (
        calendar.fiscal_year_start_month
    )


def through_month(session: Session, name: str) -> Period:
    """The month `name` names, or the last month of the quarter or year it names."""
    periods = calendar_periods(session)
    found = next((p for p in periods if p.name == name), None)
    if found is None:
        months = sorted((p for p in periods if p.kind is PeriodKind.MONTH), key=lambda p: p.start)
        hint = f"{months[0].name} .. {months[-1].name}" if months else "none"
        raise NotFound(f"unknown period {name!r}; the calendar's months are {hint}")
    return max((p for p in periods if p.kind is PeriodKind.MONTH and found.start <= p.start < found.end),
               key=lambda p: p.start)  # fmt: skip


# --- costs ------------------------------------------------------------------------------------------------


@dataclass
class _Credits:
    """A run's credits per (plan, payee, measure): transaction → credited amount."""

    by_key: dict[tuple[str, str, str], dict[str, Decimal]] = field(default_factory=dict)

    def add(self, plan: str, payee: str, measures: str | None, transaction: str, amount: Decimal) -> None:
        for measure in (measures or "").split(","):
            if measure:
                bucket = self.by_key.setdefault((plan, payee, measure.strip()), {})
                bucket[transaction] = bucket.get(transaction, ZERO) + amount


@dataclass(frozen=True)
class _Share:
    """A share of an earning: tied to `contract` (a transaction), or to none ("", with `why`)."""

    earning: Any  # a run_earnings row (plan, payee, component, amount, currency, trace)
    contract: str
    amount: Decimal
    why: str = ""
    measured: bool = True  # False: the component pays on no measure (not incremental)


def _run_shares(session: Session, run: m.Run, month: Period) -> list[_Share]:
    """Each share of each non-zero earning of the run (see the module docstring)."""
    credits = _Credits()
    c = m.RunCredit
    for row in session.execute(select(c.plan, c.payee, c.measures, c.transaction, c.amount).where(c.run_id == run.id)):
        credits.add(row.plan, row.payee, row.measures, row.transaction, row.amount)
    e = m.RunEarning
    earnings = session.execute(
        select(e.plan, e.payee, e.component, e.amount, e.currency, e.trace)
        .where(e.run_id == run.id)
        .order_by(e.plan, e.payee, e.component, e.measure_period)
    ).all()
    shares: list[_Share] = []
    for earning in earnings:
        if not earning.amount:
            continue
        trace = earning.trace or {}
        measure = trace.get("measure")
        if not measure:
            why = f"a {trace.get('kind', 'component')} component pays on no measure of contracts"
            shares.append(_Share(earning, "", earning.amount, why, measured=False))
            continue
        behind = credits.by_key.get((earning.plan, earning.payee, str(measure)), {})
        base = sum(behind.values(), ZERO)
        if not behind or not base:
            why = f"no credit of {measure} in {month.name} to tie it to"
            shares.append(_Share(earning, "", earning.amount, why))
            continue
        scale = int(trace.get("rounding_scale", 2))
        for transaction, share in sorted(allocate(earning.amount, behind, base, scale).items()):
            if share:
                shares.append(_Share(earning, transaction, share))
    return shares


def book(engine: Engine, through: str, policy: AccountingPolicy | None = None) -> Book:
    """Every commission cost from the calendar's first month through `through` (a month, or a quarter or year:
    through its last month), with its treatment and schedule under `policy` (default: every default)."""
    policy = policy or AccountingPolicy()
    with Session(engine) as session:
        last = through_month(session, through)
        all_months, start_month = _months(session)
        months = [p for p in all_months if p.start <= last.start]
        cost_centers = {
            p.external_id: p.cost_center or ""
            for p in session.execute(select(m.Payee.external_id, m.Payee.cost_center))
        }
        runs: dict[str, int] = {}
        missing: list[str] = []
        found: list[tuple[Period, int, _Share]] = []
        for month in months:
            try:
                run = period_run(session, month.name)
            except NotFound:
                missing.append(month.name)
                continue
            runs[month.name] = run.id
            found.extend((month, run.id, share) for share in _run_shares(session, run, month))
        contracts = _contracts(session, {share.contract for _, _, share in found if share.contract})
        cancelled = _cancellations(session, {k: v for k, v in contracts.items() if v.term}, last.end)
    longest = max((c.term or 0 for c in contracts.values()), default=0)
    longest = max(longest, policy.expected_benefit_months or 0)
    first = months[0].start if months else last.start
    calendar = fiscal_months(first, len(months) + longest + 1, start_month)
    costs: list[Cost] = []
    issues: list[Issue] = []
    for month, run_id, share in found:
        costs.append(_cost(month, run_id, share, contracts, cancelled, cost_centers, policy, calendar))
        facts = contracts.get(share.contract)
        if facts is not None and facts.problem.startswith("term_months "):
            issue = Issue("transactions", 0, "attr.term_months", share.contract, facts.problem)
            if issue not in issues:
                issues.append(issue)
    return Book(last, policy, tuple(months), runs, tuple(missing), tuple(costs), tuple(issues), tuple(calendar))


def _cost(
    month: Period,
    run_id: int,
    part: _Share,
    contracts: dict[str, _Contract],
    cancelled: dict[str, date],
    cost_centers: dict[str, str],
    policy: AccountingPolicy,
    calendar: Sequence[Period],
) -> Cost:
    earning, contract, share, why = part.earning, part.contract, part.amount, part.why
    cost_id = "/".join(x for x in (month.name, earning.plan, earning.payee, earning.component, contract) if x)
    center = cost_centers.get(earning.payee, "")
    common: dict[str, Any] = {
        "cost_id": cost_id,
        "run_id": run_id,
        "period": month.name,
        "plan": earning.plan,
        "component": earning.component,
        "payee": earning.payee,
        "contract": contract,
        "cost_center": center,
        "amount": share,
        "currency": earning.currency,
    }
    if share < 0:
        reason = "a negative share reduces commission expense in its month"
        if contract and contracts.get(contract) and contracts[contract].type != "sale":
            reason = f"{contracts[contract].type} credited in {month.name}: reduces commission expense"
        elif not contract:
            reason = f"negative earning: reduces commission expense ({why})"
        return Cost(**common, term_months=None, treatment=REVERSAL, reason=reason, schedule=None)
    facts = contracts.get(contract) if contract else None
    term: int | None = None
    if not contract:
        treatment = EXPENSED_NO_CONTRACT if part.measured else EXPENSED_NOT_INCREMENTAL
        reason = why if part.measured else f"not incremental: {why}"
    elif facts is None:
        treatment, reason = EXPENSED_NO_CONTRACT, f"{contract} is not in the store"
    elif facts.type != "sale":
        treatment, reason = EXPENSED_NO_CONTRACT, f"{contract} is a {facts.type}, not a contract"
    elif facts.term is None:
        treatment, reason = EXPENSED_NO_CONTRACT, f"{contract} has {facts.problem}: no contract term"
    else:
        term = facts.term
        treatment, reason = "", ""
    commission = CommissionCost(
        cost_id=cost_id,
        payee=earning.payee,
        contract=contract,
        cost_center=center,
        amount=share,
        currency=earning.currency,
        incurred=month.start,
        term_months=term or 1,
        incremental=term is not None,
        cancelled=max(cancelled[contract], month.start) if term is not None and contract in cancelled else None,
    )
    first = (month.start.year - calendar[0].start.year) * 12 + month.start.month - calendar[0].start.month
    span = max(term or 1, policy.expected_benefit_months or 0) + 1  # the months the schedule can use
    plan = schedule(commission, policy, calendar[first : first + span])
    if term is not None:
        treatment = plan.treatment.value
        if plan.treatment is Treatment.CAPITALIZED:
            reason = f"incremental cost of {contract}: amortized over {plan.period_months} months"
            if commission.cancelled is not None:
                reason += f"; cancelled on {cancelled[contract].isoformat()}: remaining asset impaired"
        else:
            reason = f"practical expedient: {plan.period_months} months <= 12"
    return Cost(**common, term_months=term, treatment=treatment, reason=reason, schedule=plan)


def schedules(engine: Engine, through: str, policy: AccountingPolicy | None = None) -> list[Schedule]:
    """The schedule of every commission cost (not the reversals) from the first month through `through`."""
    return book(engine, through, policy).schedules


# --- journal ----------------------------------------------------------------------------------------------


def month_entries(book_: Book, period: str) -> list[JournalEntry]:
    """The journal of one month of the book: capitalization, amortization, expense and impairment entries of
    the schedules (rules/amortization.py), and a reversal entry (Dr accrued, Cr expense) per negative share."""
    month = book_.month(period)
    policy = book_.policy
    memo_of = {c.cost_id: c.reason for c in book_.costs if c.treatment == EXPENSED_NO_CONTRACT}
    entries: list[JournalEntry] = []
    for cost in book_.costs:
        if cost.schedule is not None:
            if cost.schedule.line_in(month) is None:
                continue
            for entry in month_journal([cost.schedule], month):
                if cost.cost_id in memo_of and entry.kind is EntryKind.EXPENSE:
                    entry = dataclasses.replace(
                        entry, memo=f"expense commission {cost.cost_id} at once: {memo_of[cost.cost_id]}"
                    )
                entries.append(entry)
        elif cost.period == month.name:
            amount = -cost.amount
            lines = (
                JournalLine(policy.accrued_account, cost.cost_center, amount, ZERO),
                JournalLine(policy.expense_account, cost.cost_center, ZERO, amount),
            )
            memo = f"{REVERSAL_MEMO}{cost.cost_id}: {cost.reason}"
            entries.append(
                JournalEntry(month, EntryKind.EXPENSE, cost.cost_id, cost.payee, cost.contract, cost.currency, memo,
                             lines)
            )  # fmt: skip
    return entries


def journal(engine: Engine, period: str, policy: AccountingPolicy | None = None) -> list[JournalEntry]:
    """The commission accounting journal of month `period` (every cost incurred through it)."""
    return month_entries(book(engine, period, policy), period)


REVERSAL_MEMO = "reverse commission "
ENTRY_ORDER = ("capitalization", "amortization", "expense", REVERSAL, "impairment")


def entry_kind(entry: JournalEntry) -> str:
    """An entry's kind as the journal shows it: the rule module's kinds, and `reversal` for a negative share."""
    if entry.kind is EntryKind.EXPENSE and entry.memo.startswith(REVERSAL_MEMO):
        return REVERSAL
    return entry.kind.value


@dataclass(frozen=True)
class LedgerLine:
    """Journal lines of a month summed by entry kind, account, cost center and currency."""

    entry: str
    account: str
    cost_center: str
    currency: str
    debit: Decimal
    credit: Decimal
    entries: int


def ledger(entries: Iterable[JournalEntry]) -> list[LedgerLine]:
    """Entries summed by (kind, account, cost center, currency); each kind and cost center balances, since
    every entry does. Ordered by kind (`ENTRY_ORDER`), cost center, currency, then debits before credits."""
    sums: dict[tuple[str, str, str, str, int], list[Any]] = {}
    for entry in entries:
        kind = entry_kind(entry)
        for line in entry.lines:
            side = 0 if line.debit else 1
            key = (kind, line.cost_center, entry.currency, line.account, side)
            bucket = sums.setdefault(key, [ZERO, ZERO, 0])
            bucket[0] += line.debit
            bucket[1] += line.credit
            bucket[2] += 1
    ordered = sorted(sums, key=lambda k: (ENTRY_ORDER.index(k[0]), k[1], k[2], k[4], k[3]))
    return [LedgerLine(k[0], k[3], k[1], k[2], sums[k][0], sums[k][1], sums[k][2]) for k in ordered]


# --- rows for files and screens ---------------------------------------------------------------------------

SCHEDULE_COLUMNS = (
    "cost_id", "period", "plan", "component", "payee", "contract", "cost_center", "currency", "amount", "treatment",
    "months", "monthly", "amortized", "impaired", "remaining", "reason",
)  # fmt: skip


def _text(value: Decimal | None) -> str:
    return "" if value is None else to_text(value)


def schedule_rows(book_: Book, month: Period | None = None) -> list[dict[str, str]]:
    """One row per cost, at the end of `month` (default: the last month read): amortized and impaired to date,
    the asset remaining."""
    at = month or book_.through
    rows: list[dict[str, str]] = []
    for cost in book_.costs:
        plan = cost.schedule
        done = [x for x in plan.lines if x.month.start <= at.start] if plan else []
        capitalized = plan is not None and plan.capitalized > 0
        amortized = sum((x.amount for x in done if x.kind.value == "amortization"), ZERO)
        impaired = sum((x.amount for x in done if x.kind.value == "impairment"), ZERO)
        rows.append(
            {
                "cost_id": cost.cost_id,
                "period": cost.period,
                "plan": cost.plan,
                "component": cost.component,
                "payee": cost.payee,
                "contract": cost.contract,
                "cost_center": cost.cost_center,
                "currency": cost.currency,
                "amount": to_text(cost.amount),
                "treatment": cost.treatment,
                "months": str(plan.period_months) if plan and capitalized else "",
                "monthly": _text(plan.lines[0].amount) if plan and capitalized else "",
                "amortized": _text(amortized) if capitalized else "",
                "impaired": _text(impaired) if capitalized else "",
                "remaining": _text(plan.remaining_at(at)) if plan and capitalized else "",
                "reason": cost.reason,
            }
        )
    return rows


JOURNAL_COLUMNS = ("period", "entry", "account", "cost_center", "currency", "debit", "credit", "entries")


def ledger_rows(period: str, lines: Iterable[LedgerLine]) -> list[dict[str, str]]:
    return [
        {
            "period": period,
            "entry": x.entry,
            "account": x.account,
            "cost_center": x.cost_center,
            "currency": x.currency,
            "debit": _text(x.debit) if x.debit else "",
            "credit": _text(x.credit) if x.credit else "",
            "entries": str(x.entries),
        }
        for x in lines
    ]


DETAIL_COLUMNS = (
    "period", "entry", "cost_id", "payee", "contract", "account", "cost_center", "currency", "debit", "credit", "memo",
)  # fmt: skip


def entry_rows(entries: Iterable[JournalEntry]) -> list[dict[str, str]]:
    """Every line of every entry (the detail behind `ledger`)."""
    rows = []
    for entry in entries:
        for line in entry.lines:
            rows.append(
                {
                    "period": entry.month.name,
                    "entry": entry_kind(entry),
                    "cost_id": entry.cost_id,
                    "payee": entry.payee,
                    "contract": entry.contract,
                    "account": line.account,
                    "cost_center": line.cost_center,
                    "currency": entry.currency,
                    "debit": _text(line.debit) if line.debit else "",
                    "credit": _text(line.credit) if line.credit else "",
                    "memo": entry.memo,
                }
            )
    return rows
