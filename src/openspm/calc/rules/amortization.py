"""Commission accounting under ASC 340-40 / IFRS 15: capitalize, amortize, impair, and the journal of each step.

An incremental cost of obtaining a contract (a commission paid because the contract was won) is an asset, amortized
straight-line over the period the contract benefits; a cost incurred whether or not the contract is won is an
expense at once. The practical expedient expenses at once a cost whose amortization period is 12 months or less.
Worked examples (scale 2, half-up):

    3,000 on a 60-month contract    asset 3,000.00; 50.00 a month for 60 months
    6,000 on a 24-month contract    asset 6,000.00; 250.00 a month
    15,000 on a 36-month contract   416.67 a month for 35 months (14,583.45), the last month 416.55 = 15,000.00
    3,000 on a 6-month contract     expensed at once (6 <= 12); 12 months is expensed too, 13 months capitalized
    12-month contract, renewals not commensurate, expected benefit 60 months
                                    amortized over 60 months, so capitalized
    6,000 over 24 months, cancelled in month 10
                                    9 × 250.00 amortized, then the remaining 3,750.00 impaired in month 10

The amortization period is the contract term, or the expected benefit period (`expected_benefit_months`, never
shorter than the contract term) when the policy's basis is the expected benefit or when renewal commissions are not
commensurate with the initial one (the initial commission then also pays for the expected renewals).

Each month's amortization is `cost / period` rounded at the policy's scale and mode, and the last month takes the
difference, so the lines sum exactly to the cost. When that difference would be negative (a small cost over a long
period: 10.00 over 60 months is 0.17 a month, and 59 × 0.17 = 10.03), each month instead takes the change in the
rounded straight-line total to date (`round(cost × k / period)`), which keeps every month within one unit of the
scale of `cost / period`, never negative, and still sums exactly to the cost.

Months are fiscal months (`Period` of kind month, consecutive), given by the caller; `fiscal_months` builds them.
The module reads no store: the service layer hands it the costs (stored commissions and contract terms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from openspm.core.errors import InvalidInput
from openspm.core.money import ROUNDING_MODES, normalize_currency, round_money
from openspm.core.period import Period, PeriodKind, add_months, fiscal_year_of, fiscal_year_start

ZERO = Decimal(0)
EXPEDIENT_MONTHS = 12
"""The practical expedient expenses a cost whose amortization period is this many months or fewer."""


class AmortizationBasis(StrEnum):
    """Over what a capitalized cost is amortized."""

    CONTRACT_TERM = "contract_term"
    EXPECTED_BENEFIT_MONTHS = "expected_benefit_months"


class Treatment(StrEnum):
    """What happens to a cost when it is incurred."""

    CAPITALIZED = "capitalized"
    EXPENSED_EXPEDIENT = "expensed_expedient"  # amortization period of 12 months or less
    EXPENSED_NOT_INCREMENTAL = "expensed_not_incremental"  # incurred whether or not the contract was won


class LineKind(StrEnum):
    """What a schedule line recognizes as expense."""

    EXPENSE = "expense"  # the whole cost at once (not capitalized)
    AMORTIZATION = "amortization"
    IMPAIRMENT = "impairment"  # the remaining asset, when the contract is cancelled early


class EntryKind(StrEnum):
    """The four journal entries of commission accounting."""

    CAPITALIZATION = "capitalization"  # Dr deferred commissions, Cr accrued commissions
    AMORTIZATION = "amortization"  # Dr commission expense, Cr deferred commissions
    EXPENSE = "expense"  # Dr commission expense, Cr accrued commissions
    IMPAIRMENT = "impairment"  # Dr commission impairment, Cr deferred commissions


@dataclass(frozen=True, slots=True)
class AccountingPolicy:
    """How commissions are capitalized and amortized, and the general-ledger accounts of the journal."""

    basis: AmortizationBasis = AmortizationBasis.CONTRACT_TERM
    expected_benefit_months: int | None = None
    renewals_commensurate: bool = True
    practical_expedient: bool = True
    scale: int = 2
    rounding: str = "half_up"
    asset_account: str = "Deferred commissions"
    expense_account: str = "Commission expense"
    accrued_account: str = "Accrued commissions"
    impairment_account: str = "Commission impairment"

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", AmortizationBasis(self.basis))
        months = self.expected_benefit_months
        if months is not None and (isinstance(months, bool) or not isinstance(months, int) or months < 1):
            raise InvalidInput(f"expected_benefit_months must be a whole number of months >= 1, not {months!r}")
        if months is None and self.uses_expected_benefit:
            why = (
                "the basis is expected_benefit_months"
                if self.basis == AmortizationBasis.EXPECTED_BENEFIT_MONTHS
                else "renewal commissions are not commensurate with the initial one"
            )
            raise InvalidInput(f"set expected_benefit_months (the expected customer life in months): {why}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 0:
            raise InvalidInput(f"the rounding scale must be a whole number >= 0, not {self.scale!r}")
        if self.rounding not in ROUNDING_MODES:
            raise InvalidInput(f"unknown rounding mode {self.rounding!r}; use one of {sorted(ROUNDING_MODES)}")
        for name in ("asset_account", "expense_account", "accrued_account", "impairment_account"):
            if not str(getattr(self, name)).strip():
                raise InvalidInput(f"the policy's {name} cannot be empty")

    @property
    def uses_expected_benefit(self) -> bool:
        """True when costs are amortized over the expected benefit period rather than the contract term."""
        return self.basis == AmortizationBasis.EXPECTED_BENEFIT_MONTHS or not self.renewals_commensurate


@dataclass(frozen=True, slots=True)
class CommissionCost:
    """One cost of obtaining a contract: a commission paid to `payee` for `contract`.

    `incurred` is any day of the first amortization month; `term_months` the contract term. `incremental` is False
    for a cost incurred whether or not the contract is won (it is expensed, never capitalized). `cancelled` is any
    day of the month the contract was cancelled early (None: not cancelled).
    """

    cost_id: str
    payee: str
    contract: str
    cost_center: str
    amount: Decimal
    currency: str
    incurred: date
    term_months: int
    incremental: bool = True
    cancelled: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise InvalidInput(f"cost {self.cost_id}: the amount must be a finite Decimal, not {self.amount!r}")
        if self.amount < 0:
            raise InvalidInput(
                f"cost {self.cost_id}: a capitalizable cost cannot be negative ({self.amount}); "
                "a cancelled contract is recorded with `cancelled` on the original cost"
            )
        if isinstance(self.term_months, bool) or not isinstance(self.term_months, int) or self.term_months < 1:
            raise InvalidInput(f"cost {self.cost_id}: the contract term must be >= 1 month, not {self.term_months!r}")
        try:
            object.__setattr__(self, "currency", normalize_currency(self.currency))
        except ValueError as error:
            raise InvalidInput(f"cost {self.cost_id}: {error}, not {self.currency!r}") from None
        if self.cancelled is not None and _month_number(self.cancelled) < _month_number(self.incurred):
            raise InvalidInput(
                f"cost {self.cost_id}: cancelled on {self.cancelled}, before it was incurred on {self.incurred}"
            )


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    """The expense a cost recognizes in one month, and the asset left at the month's end."""

    month: Period
    kind: LineKind
    amount: Decimal
    accumulated: Decimal  # expense recognized so far, this month included
    remaining: Decimal  # the deferred commission asset at the month's end


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cost's accounting over its life: its treatment, the asset it created, and one line per month."""

    cost: CommissionCost
    policy: AccountingPolicy
    treatment: Treatment
    period_months: int  # the amortization period (for an expensed cost, the period that made it one)
    booked: Decimal  # the cost at the policy's scale; the lines sum to it
    capitalized: Decimal  # the asset recognized when incurred (0 when expensed)
    lines: tuple[ScheduleLine, ...]

    @property
    def expensed_at_once(self) -> Decimal:
        """What was expensed when incurred rather than capitalized."""
        return self.booked - self.capitalized

    @property
    def impaired(self) -> Decimal:
        """What an early cancellation expensed as impairment."""
        return sum((line.amount for line in self.lines if line.kind == LineKind.IMPAIRMENT), ZERO)

    def line_in(self, month: Period) -> ScheduleLine | None:
        """The line of `month`, or None when the cost recognizes nothing then."""
        return next((line for line in self.lines if line.month.start == month.start), None)

    def remaining_at(self, month: Period) -> Decimal:
        """The deferred commission asset at the end of `month` (0 before incurrence and after the last line)."""
        if not self.lines or month.start < self.lines[0].month.start:
            return ZERO
        for line in reversed(self.lines):
            if line.month.start <= month.start:
                return line.remaining
        return ZERO


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One side of a journal entry: either `debit` or `credit` is zero."""

    account: str
    cost_center: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced journal entry for one cost in one month."""

    month: Period
    kind: EntryKind
    cost_id: str
    payee: str
    contract: str
    currency: str
    memo: str
    lines: tuple[JournalLine, ...]

    @property
    def debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


@dataclass(frozen=True, slots=True)
class Position:
    """The deferred commission asset at the end of `month`: per cost (non-zero balances) and per currency."""

    month: Period
    by_cost: Mapping[str, Decimal] = field(default_factory=dict)
    by_currency: Mapping[str, Decimal] = field(default_factory=dict)


def amortization_months(cost: CommissionCost, policy: AccountingPolicy) -> int:
    """The amortization period: the contract term, or the expected benefit period (never shorter than the term)."""
    if policy.uses_expected_benefit:
        assert policy.expected_benefit_months is not None  # the policy checks it
        return max(cost.term_months, policy.expected_benefit_months)
    return cost.term_months


def treatment(cost: CommissionCost, policy: AccountingPolicy) -> Treatment:
    """Capitalized, or expensed at once (not incremental; or the practical expedient for 12 months or less)."""
    if not cost.incremental:
        return Treatment.EXPENSED_NOT_INCREMENTAL
    if policy.practical_expedient and amortization_months(cost, policy) <= EXPEDIENT_MONTHS:
        return Treatment.EXPENSED_EXPEDIENT
    return Treatment.CAPITALIZED


def straight_line(amount: Decimal, months: int, scale: int = 2, mode: str = "half_up") -> list[Decimal]:
    """`months` monthly amounts at `scale` summing exactly to `amount` (already at `scale`); see the module doc."""
    if months < 1:
        raise ValueError(f"an amortization period has at least one month, not {months}")
    monthly = round_money(amount / months, scale, mode)
    last = amount - monthly * (months - 1)
    if last >= 0:
        return [monthly] * (months - 1) + [last]
    totals = [round_money(amount * k / months, scale, mode) for k in range(months)] + [amount]
    return [totals[k + 1] - totals[k] for k in range(months)]


def schedule(cost: CommissionCost, policy: AccountingPolicy, months: Sequence[Period]) -> Schedule:
    """The cost's schedule on the fiscal `months` (consecutive; they must cover every month the schedule uses).

    A capitalized cost gets one amortization line per month of its period from the incurred month; a cancellation
    stops it: the cancellation month's line impairs the whole remaining asset, and no line follows. An expensed cost
    gets one expense line in the incurred month.
    """
    _check_months(months)
    booked = round_money(cost.amount, policy.scale, policy.rounding)
    period = amortization_months(cost, policy)
    how = treatment(cost, policy)
    first = _index_of(months, cost.incurred, f"cost {cost.cost_id} was incurred")
    if how != Treatment.CAPITALIZED:
        line = ScheduleLine(months[first], LineKind.EXPENSE, booked, booked, ZERO)
        return Schedule(cost, policy, how, period, booked, ZERO, (line,))
    stop = period
    if cost.cancelled is not None and _month_number(cost.cancelled) - _month_number(cost.incurred) < period:
        stop = _month_number(cost.cancelled) - _month_number(cost.incurred)
    needed = first + (stop + 1 if stop < period else period)
    if needed > len(months):
        raise InvalidInput(
            f"cost {cost.cost_id}: the schedule runs {needed - first} months from {months[first].name}, "
            f"but the calendar given ends with {months[-1].name}"
        )
    lines: list[ScheduleLine] = []
    accumulated = ZERO
    for offset, amount in enumerate(straight_line(booked, period, policy.scale, policy.rounding)):
        month = months[first + offset]
        if offset == stop:
            lines.append(ScheduleLine(month, LineKind.IMPAIRMENT, booked - accumulated, booked, ZERO))
            break
        accumulated += amount
        lines.append(ScheduleLine(month, LineKind.AMORTIZATION, amount, accumulated, booked - accumulated))
    return Schedule(cost, policy, how, period, booked, booked, tuple(lines))


def journal(cost_schedule: Schedule) -> list[JournalEntry]:
    """Every journal entry of a cost over its life, month by month; entries of zero amount are left out."""
    cost, policy = cost_schedule.cost, cost_schedule.policy
    entries: list[JournalEntry] = []
    if cost_schedule.capitalized and cost_schedule.lines:
        entries.append(
            _entry(
                cost_schedule,
                cost_schedule.lines[0].month,
                EntryKind.CAPITALIZATION,
                policy.asset_account,
                policy.accrued_account,
                cost_schedule.capitalized,
                f"capitalize commission {cost.cost_id}: incremental cost of contract {cost.contract}, "
                f"amortized over {cost_schedule.period_months} months",
            )
        )
    for number, line in enumerate(cost_schedule.lines, start=1):
        if not line.amount:
            continue
        if line.kind == LineKind.EXPENSE:
            why = (
                "not incremental (incurred whether or not the contract was won)"
                if cost_schedule.treatment == Treatment.EXPENSED_NOT_INCREMENTAL
                else f"practical expedient: amortization period {cost_schedule.period_months} months <= 12"
            )
            debit, credit, kind = policy.expense_account, policy.accrued_account, EntryKind.EXPENSE
            memo = f"expense commission {cost.cost_id} at once: {why}"
        elif line.kind == LineKind.AMORTIZATION:
            debit, credit, kind = policy.expense_account, policy.asset_account, EntryKind.AMORTIZATION
            memo = f"amortize commission {cost.cost_id}: month {number} of {cost_schedule.period_months}"
        else:
            debit, credit, kind = policy.impairment_account, policy.asset_account, EntryKind.IMPAIRMENT
            memo = (
                f"impair commission {cost.cost_id}: contract {cost.contract} cancelled in {line.month.name}, "
                f"remaining asset expensed"
            )
        entries.append(_entry(cost_schedule, line.month, kind, debit, credit, line.amount, memo))
    return entries


def month_journal(schedules: Iterable[Schedule], month: Period) -> list[JournalEntry]:
    """The journal of one month across many costs, in the order of the schedules given."""
    return [entry for each in schedules for entry in journal(each) if entry.month.start == month.start]


def position(schedules: Iterable[Schedule], month: Period) -> Position:
    """The balance sheet position at the end of `month`: the remaining deferred commission asset."""
    by_cost: dict[str, Decimal] = {}
    by_currency: dict[str, Decimal] = {}
    for each in schedules:
        if each.cost.cost_id in by_cost:
            raise InvalidInput(f"cost {each.cost.cost_id} is given twice")
        remaining = each.remaining_at(month)
        if remaining:
            by_cost[each.cost.cost_id] = remaining
            by_currency[each.cost.currency] = by_currency.get(each.cost.currency, ZERO) + remaining
    return Position(month, by_cost, by_currency)


def fiscal_months(first: date, count: int, fiscal_year_start_month: int = 1) -> list[Period]:
    """`count` consecutive fiscal months from the month of `first`, named as `fiscal_periods` names them."""
    start = date(first.year, first.month, 1)
    months: list[Period] = []
    for offset in range(count):
        month_start = add_months(start, offset)
        year = fiscal_year_of(month_start, fiscal_year_start_month)
        number = _month_number(month_start) - _month_number(fiscal_year_start(year, fiscal_year_start_month)) + 1
        months.append(
            Period(f"FY{year}-M{number:02d}", PeriodKind.MONTH, month_start, add_months(month_start, 1), year)
        )
    return months


def _entry(
    owner: Schedule, month: Period, kind: EntryKind, debit: str, credit: str, amount: Decimal, memo: str
) -> JournalEntry:
    cost = owner.cost
    lines = (
        JournalLine(debit, cost.cost_center, amount, ZERO),
        JournalLine(credit, cost.cost_center, ZERO, amount),
    )
    return JournalEntry(month, kind, cost.cost_id, cost.payee, cost.contract, cost.currency, memo, lines)


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _check_months(months: Sequence[Period]) -> None:
    if not months:
        raise InvalidInput("no fiscal months given")
    for month in months:
        if month.kind != PeriodKind.MONTH:
            raise InvalidInput(f"{month.name} is a {month.kind}, not a month")
    for before, after in pairwise(months):
        if after.start != before.end:
            raise InvalidInput(f"the fiscal months are not consecutive: {after.name} does not follow {before.name}")


def _index_of(months: Sequence[Period], day: date, what: str) -> int:
    for index, month in enumerate(months):
        if month.contains(day):
            return index
    raise InvalidInput(f"{what} on {day}, outside the fiscal months given ({months[0].name} to {months[-1].name})")
