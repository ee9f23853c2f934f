"""Clawbacks: a cancellation or return within the plan's window takes back the commission the transaction paid,
as a negative line in the open period, linked to the original (transaction, earning period, component).

1. What a transaction was paid (`allocate`): an earning on an aggregate measure is shared among its transactions
   pro rata to their credited amount, `earning × credit / measure base`, rounded half-up at the plan's scale;
   when the credits add up to the base, the rounding remainder goes to the largest share so the shares add up
   to the earning exactly. A per-transaction earning is its own share.
2. Whether it is clawed (`clawback`): the cancellation date is within the window counted from the anchor date
   (booking, invoice or payment: the caller passes the one the plan names), half-open: a window of 90 days from
   1 March covers 1 March to 29 May inclusive; cancelled on 30 May is outside. A window of 6 months from 15
   January ends on 15 July (outside); a month from 31 January ends on 28 February. Outside: a line of 0 with the
   reason, so the statement can say why nothing was taken back.
3. How much: `full` takes the whole share (× the share of the transaction returned); `pro_rata` takes the
   unserved part of the contract term, `share × unserved months / term months`, where a month with any day in
   [term start, cancellation) counts as served. The amount is rounded half-up at the plan's scale.

Worked example (golden 2): a 12-month contract earned 10,000 in FY2025-M01; it is terminated on 2025-07-01, 6 months
served, 6 unserved: pro rata 6 / 12 = 0.5 → −5,000.00 in the clawback period, linked to the transaction, FY2025-M01
and the component. The same cancellation under `full` → −10,000.00.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from openspm.core.money import round_money, to_text
from openspm.core.period import add_months

ZERO = Decimal(0)
ONE = Decimal(1)


class ClawbackMethod(StrEnum):
    FULL = "full"  # the whole commission the transaction paid
    PRO_RATA = "pro_rata"  # the share of the contract term not served


@dataclass(frozen=True)
class ClawbackTerms:
    """The plan's clawback rule: a window (days or months from the anchor date) and the method."""

    method: ClawbackMethod = ClawbackMethod.FULL
    window_days: int | None = None
    window_months: int | None = None
    scale: int = 2

    def __post_init__(self) -> None:
        if (self.window_days is None) == (self.window_months is None):
            raise ValueError("give exactly one of window_days or window_months")
        if (self.window_days or 0) < 0 or (self.window_months or 0) < 0:
            raise ValueError("a clawback window cannot be negative")

    def window_end(self, anchor: date) -> date:
        """The first day outside the window."""
        if self.window_days is not None:
            return anchor + timedelta(days=self.window_days)
        assert self.window_months is not None
        return months_after(anchor, self.window_months)


@dataclass(frozen=True)
class CommissionPaid:
    """The commission one transaction was paid by one earning (its pro-rata share of it)."""

    plan: str
    payee: str
    component: str
    period: str  # the earning's period (the month it was paid in)
    transaction: str
    amount: Decimal


@dataclass(frozen=True)
class Cancellation:
    """A cancellation or return of a transaction, `share` of it (1 = all), on `cancelled_on`.

    `anchor` is the date the window counts from; `term_start` and `term_months` the contract term (pro rata)."""

    id: str
    transaction: str
    cancelled_on: date
    anchor: date
    share: Decimal = ONE
    term_start: date | None = None
    term_months: int | None = None


@dataclass(frozen=True)
class ClawbackLine:
    """A negative line (or 0, with the reason) in `period`, linked to the commission it takes back."""

    original: CommissionPaid
    cancellation: str
    period: str  # the open period the clawback lands in
    amount: Decimal  # ≤ 0
    fraction: Decimal  # of the original taken back
    reason: str
    trace: dict[str, str] = field(default_factory=dict)


def months_after(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 January + 1 → 28 February)."""
    first = add_months(day.replace(day=1), months)
    last = (add_months(first, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def allocate(earning: Decimal, credits: Mapping[str, Decimal], base: Decimal, scale: int = 2) -> dict[str, Decimal]:
    """An aggregate earning shared among its transactions: `earning × credit / base` each (see the docstring)."""
    if base == 0:
        return dict.fromkeys(credits, ZERO)
    shares = {t: round_money(earning * c / base, scale, "half_up") for t, c in credits.items()}
    if shares and sum(credits.values(), ZERO) == base:
        remainder = earning - sum(shares.values(), ZERO)
        if remainder:
            largest = max(sorted(shares), key=lambda t: abs(shares[t]))
            shares[largest] += remainder
    return shares


def months_served(term_start: date, cancelled_on: date) -> int:
    """Months with at least one day in [term_start, cancelled_on)."""
    if cancelled_on <= term_start:
        return 0
    last = cancelled_on - timedelta(days=1)
    return (last.year - term_start.year) * 12 + last.month - term_start.month + 1


def clawback(original: CommissionPaid, cancellation: Cancellation, terms: ClawbackTerms, period: str) -> ClawbackLine:
    """The clawback of one original commission line, landing in `period` (see the module docstring)."""
    if original.transaction != cancellation.transaction:
        raise ValueError(f"{cancellation.id} cancels {cancellation.transaction}, not {original.transaction}")
    if not ZERO <= cancellation.share <= ONE:
        raise ValueError(f"a cancelled share is a fraction in [0, 1], not {cancellation.share}")
    end = terms.window_end(cancellation.anchor)
    trace = {
        "anchor": cancellation.anchor.isoformat(),
        "window_end": end.isoformat(),
        "cancelled_on": cancellation.cancelled_on.isoformat(),
        "method": terms.method.value,
        "share": to_text(cancellation.share),
    }
    if not cancellation.anchor <= cancellation.cancelled_on < end:
        reason = (
            f"cancelled on {cancellation.cancelled_on.isoformat()}, outside the window "
            f"[{cancellation.anchor.isoformat()}, {end.isoformat()}): no clawback"
        )
        return ClawbackLine(original, cancellation.id, period, ZERO, ZERO, reason, trace)
    fraction = cancellation.share
    reason = f"cancelled within the window: {terms.method.value}"
    if terms.method is ClawbackMethod.PRO_RATA:
        if cancellation.term_start is None or not cancellation.term_months:
            raise ValueError(f"{cancellation.id}: a pro-rata clawback needs the contract's term start and months")
        served = min(months_served(cancellation.term_start, cancellation.cancelled_on), cancellation.term_months)
        unserved = cancellation.term_months - served
        fraction = cancellation.share * unserved / cancellation.term_months
        trace |= {"term_months": str(cancellation.term_months), "served_months": str(served)}
        reason = f"cancelled within the window: pro rata, {unserved} of {cancellation.term_months} months unserved"
    amount = -round_money(original.amount * fraction, terms.scale, "half_up")
    trace["fraction"] = to_text(fraction)
    return ClawbackLine(original, cancellation.id, period, amount + ZERO, fraction, reason, trace)


def clawbacks(
    originals: Sequence[CommissionPaid], cancellation: Cancellation, terms: ClawbackTerms, period: str
) -> list[ClawbackLine]:
    """The clawback lines of a cancellation: one per original commission line of its transaction."""
    return [clawback(o, cancellation, terms, period) for o in originals if o.transaction == cancellation.transaction]
