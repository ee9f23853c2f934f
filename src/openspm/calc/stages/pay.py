"""Pay: EARNINGS → PAYMENTS per payee × pay month, with balances carried across months.

Input: one plan's earnings (`Earning` rows of incent, plan currency), manual and prior-period adjustments,
clawback lines, the holds released by the store, each payee's draw terms and pay-currency rates, and the
balances carried from the last paid month. Output: a `Payment` per payee and month, made of `PaymentLine`s that
say what they are and link to their source, and the balances after the last month.

For one payee and month, in this order:

    earning                    +  each earning of the month (link: component, period, measure period)
    hold                       −  the part of an earning a hold keeps (see rules/holds.py)
    release                    +  a held earning whose condition is met this month (link: its period of origin)
    adjustment                 ±  manual adjustments (id, reason code)
    prior_period_adjustment    ±  the difference a change to a closed period produced (id, the closed period)
    clawback                   −  commission taken back by a cancellation (link: transaction, period, component)
      → earned = the sum so far
    draw_advance               +  recoverable top-up to the draw (owed back)            } rules/draws.py
    guarantee_forgiven         +  non-recoverable top-up to the draw (never owed)       }
    draw_recovery              −  repayment of the balance owed, within the cap         }
      → payment = the sum of the lines, in the plan currency; then converted to the pay currency

Money is exact in the plan currency up to the conversion (earnings come rounded at the plan's scale; a draw's cap
room rounds down to it, and a clawback at it). Rounding to the pay currency (2 places, 0 or 3 for the few
currencies listed in `CURRENCY_SCALE`, half-up) happens once, at the conversion: the payment's total is
`round(Σ lines × rate)`, each line is `round(line × rate)`, and the remainder (a cent or two) goes to the largest
line, so the lines a statement lists add up to the total it shows.

Balances per payee: the recoverable draw balance owed, the guarantees forgiven to date, the earnings still held
(by key), and the balance owed at termination once the payee has left. Over any months,
Σ payments − Σ (earnings + adjustments + clawbacks) = draw balance owed + forgiven − still held (changes since
`balances_before`): no cent appears or disappears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openspm.calc.rules.clawbacks import ClawbackLine
from openspm.calc.rules.draws import DrawMonth, DrawTerms, draw_month
from openspm.calc.rules.holds import HeldEarning, HoldKey, held_total, hold_earning, release_holds
from openspm.calc.stages.incent import Earning
from openspm.core.errors import InvalidInput
from openspm.core.money import round_money, to_text
from openspm.plan.models import Hold, PayPolicy

ZERO = Decimal(0)
ONE = Decimal(1)

# Pay currencies whose minor unit is not the cent (ISO 4217); every other currency pays at 2 places.
CURRENCY_SCALE = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"], 0),
    **dict.fromkeys(["XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}

_MONTH = re.compile(r"^FY(?P<year>\d{4})-M(?P<month>\d{2})$")


def month_number(period: str) -> int:
    """A fiscal month as a count of months (`FY2025-M12` + 1 = `FY2026-M01`), to count months between two."""
    match = _MONTH.match(period)
    if match is None:
        raise ValueError(f"{period!r} is not a month (FY2025-M01)")
    return int(match["year"]) * 12 + int(match["month"]) - 1


class LineKind(StrEnum):
    EARNING = "earning"
    HOLD = "hold"
    RELEASE = "release"
    ADJUSTMENT = "adjustment"
    PRIOR_PERIOD_ADJUSTMENT = "prior_period_adjustment"
    CLAWBACK = "clawback"
    DRAW_ADVANCE = "draw_advance"
    GUARANTEE_FORGIVEN = "guarantee_forgiven"
    DRAW_RECOVERY = "draw_recovery"


@dataclass(frozen=True)
class Adjustment:
    """A manual adjustment (`prior_period` None) or a prior-period adjustment (the closed period it corrects),
    paid in `period`, in the plan currency."""

    id: str
    payee: str
    period: str
    amount: Decimal
    reason: str  # a reason code
    note: str = ""
    prior_period: str | None = None


@dataclass(frozen=True)
class PayRate:
    """The rate converting the plan currency to the pay currency, with the date it is in force from."""

    from_currency: str
    to_currency: str
    rate: Decimal
    effective_date: date

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"an FX rate must be above 0, not {self.rate}")


def rate_on(rates: Sequence[PayRate], from_currency: str, to_currency: str, day: date) -> PayRate:
    """The from→to rate with the latest effective date on or before `day` (1 when the currencies are the same)."""
    if from_currency == to_currency:
        return PayRate(from_currency, to_currency, ONE, day)
    candidates = [
        r
        for r in rates
        if r.from_currency == from_currency and r.to_currency == to_currency and r.effective_date <= day
    ]
    if not candidates:
        raise InvalidInput(f"no FX rate from {from_currency} to {to_currency} on or before {day.isoformat()}")
    return max(candidates, key=lambda r: r.effective_date)


@dataclass(frozen=True)
class PayeePay:
    """One payee's inputs to the pay stage of one plan, for the months paid."""

    payee: str
    pay_currency: str
    earnings: Sequence[Earning] = ()
    adjustments: Sequence[Adjustment] = ()
    clawbacks: Sequence[ClawbackLine] = ()
    draw: DrawTerms | None = None
    plan_start: str | None = None  # the month the payee's plan starts: month 0 of the draw's guarantee
    terminated_in: str | None = None  # the payee's last month: no guarantee after it
    released: Mapping[str, Set[HoldKey]] = field(default_factory=dict)  # per pay month: holds whose condition is met
    rates: Mapping[str, PayRate] = field(default_factory=dict)  # per pay month, when the pay currency differs


@dataclass(frozen=True)
class PayBalance:
    """What a payee carries from month to month (plan currency)."""

    draw_owed: Decimal = ZERO
    forgiven_to_date: Decimal = ZERO
    held: Mapping[HoldKey, HeldEarning] = field(default_factory=dict)
    owed_at_termination: Decimal | None = None  # the draw balance after the payee's last month

    @property
    def held_total(self) -> Decimal:
        return held_total(self.held)


@dataclass(frozen=True)
class PaymentLine:
    """One line of a payment: its kind, amount (plan currency, exact), pay amount and a link to its source."""

    kind: LineKind
    amount: Decimal
    pay_amount: Decimal
    source: dict[str, str]
    reason: str = ""


@dataclass(frozen=True)
class Payment:
    """What one payee is paid in one month: the sum of its lines, in the plan and in the pay currency."""

    plan: str
    payee: str
    period: str
    currency: str
    amount: Decimal
    pay_currency: str
    rate: Decimal
    rate_date: date | None
    pay_amount: Decimal
    lines: tuple[PaymentLine, ...]
    draw: DrawMonth | None
    balance: PayBalance  # after the month


@dataclass
class _Line:
    kind: LineKind
    amount: Decimal
    source: dict[str, str]
    reason: str = ""


def pay(
    months: Sequence[str],
    payees: Sequence[PayeePay],
    policy: PayPolicy | None,
    balances_before: Mapping[str, PayBalance],
    *,
    plan: str,
    currency: str,
) -> tuple[list[Payment], dict[str, PayBalance]]:
    """Pay one plan's payees for `months` (in order): a `Payment` per payee and month, and the balances after.

    `policy` is the plan's `pay:` section (its holds; the draw comes resolved per payee as `PayeePay.draw`).
    Inputs dated outside `months`, or in another currency than `currency`, are errors: nothing is dropped.
    """
    holds = policy.holds if policy is not None else []
    order = [month_number(m) for m in months]
    if order != sorted(set(order)):
        raise ValueError(f"months must be distinct and in order, not {list(months)}")
    payments: list[Payment] = []
    after: dict[str, PayBalance] = dict(balances_before)
    for payee in payees:
        _check_inputs(payee, set(months), currency)
        balance = balances_before.get(payee.payee, PayBalance())
        for month in months:
            payment = _pay_month(payee, month, plan, currency, holds, balance)
            payments.append(payment)
            balance = payment.balance
        after[payee.payee] = balance
    return payments, after


def _check_inputs(payee: PayeePay, months: set[str], currency: str) -> None:
    for earning in payee.earnings:
        if earning.payee != payee.payee:
            raise ValueError(f"an earning of {earning.payee} is among {payee.payee}'s inputs")
        if earning.currency != currency:
            raise ValueError(f"{payee.payee}'s {earning.component} earning is in {earning.currency}, not {currency}")
    dated = [("earning", e.period) for e in payee.earnings]
    dated += [(f"adjustment {a.id}", a.period) for a in payee.adjustments]
    dated += [(f"clawback {c.cancellation}", c.period) for c in payee.clawbacks]
    outside = [(what, period) for what, period in dated if period not in months]
    if outside:
        what, period = outside[0]
        raise ValueError(f"{payee.payee}: {what} is for {period}, which is not among the months paid")


def _pay_month(
    payee: PayeePay,
    month: str,
    plan: str,
    currency: str,
    rules: Sequence[Hold],
    balance: PayBalance,
) -> Payment:
    released = payee.released.get(month, frozenset())
    lines: list[_Line] = []
    held = dict(balance.held)
    for earning in (e for e in payee.earnings if e.period == month):
        link = {"plan": earning.plan, "component": earning.component, "period": earning.period}
        lines.append(_Line(LineKind.EARNING, earning.amount, link | {"measure_period": earning.measure_period}))
        key = HoldKey(earning.plan, earning.payee, earning.component, earning.period)
        kept = hold_earning(key, earning.amount, rules, released)
        if kept is not None:
            if key in held:
                raise ValueError(f"{payee.payee}'s {earning.component} earning of {month} is already held")
            held[key] = kept
            lines.append(_Line(LineKind.HOLD, -kept.amount, link, f"held until {kept.until.value}"))
    releases, still = release_holds(held, released, month)
    for release in releases:
        origin = release.held.key
        link = {"plan": origin.plan, "component": origin.component, "period": origin.period}
        lines.append(_Line(LineKind.RELEASE, release.amount, link, f"released: {release.held.until.value}"))
    for adjustment in (a for a in payee.adjustments if a.period == month):
        if adjustment.prior_period is None:
            source = {"adjustment": adjustment.id}
            lines.append(_Line(LineKind.ADJUSTMENT, adjustment.amount, source, adjustment.reason))
        else:
            source = {"adjustment": adjustment.id, "period": adjustment.prior_period}
            lines.append(_Line(LineKind.PRIOR_PERIOD_ADJUSTMENT, adjustment.amount, source, adjustment.reason))
    for claw in (c for c in payee.clawbacks if c.period == month):
        o = claw.original
        source = {
            "plan": o.plan,
            "component": o.component,
            "period": o.period,
            "transaction": o.transaction,
            "cancellation": claw.cancellation,
        }
        lines.append(_Line(LineKind.CLAWBACK, claw.amount, source, claw.reason))
    earned = sum((line.amount for line in lines), ZERO)
    draw = _draw(payee, month, earned, balance.draw_owed)
    if draw is not None:
        source = {
            "draw": payee.draw.kind.value if payee.draw else "none",
            "balance_before": to_text(draw.balance_before),
        }
        for kind, amount in (
            (LineKind.DRAW_ADVANCE, draw.advance),
            (LineKind.GUARANTEE_FORGIVEN, draw.forgiven),
            (LineKind.DRAW_RECOVERY, -draw.recovery),
        ):
            if amount:
                lines.append(_Line(kind, amount, source | {"balance_after": to_text(draw.balance)}))
    draw_owed = draw.balance if draw is not None else balance.draw_owed
    forgiven = balance.forgiven_to_date + (draw.forgiven if draw is not None else ZERO)
    owed_at_termination = balance.owed_at_termination
    if month == payee.terminated_in:
        owed_at_termination = draw_owed
    rate, rate_date = _rate(payee, month, currency)
    scale = CURRENCY_SCALE.get(payee.pay_currency, 2)
    converted = convert([line.amount for line in lines], rate, scale)
    return Payment(
        plan=plan,
        payee=payee.payee,
        period=month,
        currency=currency,
        amount=sum((line.amount for line in lines), ZERO),
        pay_currency=payee.pay_currency,
        rate=rate,
        rate_date=rate_date,
        pay_amount=sum(converted, round_money(ZERO, scale)),
        lines=tuple(
            PaymentLine(line.kind, line.amount, paid, line.source, line.reason)
            for line, paid in zip(lines, converted, strict=True)
        ),
        draw=draw,
        balance=PayBalance(draw_owed, forgiven, still, owed_at_termination),
    )


def _draw(payee: PayeePay, month: str, earned: Decimal, owed: Decimal) -> DrawMonth | None:
    """The month's draw, or None when there is neither a draw nor a balance to recover."""
    if payee.draw is None and owed == 0:
        return None
    guaranteed = False
    if payee.draw is not None and payee.plan_start is not None:
        left = payee.terminated_in is not None and month_number(month) > month_number(payee.terminated_in)
        guaranteed = not left and payee.draw.guaranteed(month_number(month) - month_number(payee.plan_start))
    return draw_month(payee.draw, month, earned, guaranteed, owed)


def _rate(payee: PayeePay, month: str, currency: str) -> tuple[Decimal, date | None]:
    if payee.pay_currency == currency:
        return ONE, None
    rate = payee.rates.get(month)
    if rate is None:
        raise InvalidInput(f"{payee.payee} is paid in {payee.pay_currency}: no {currency} rate for {month}")
    if (rate.from_currency, rate.to_currency) != (currency, payee.pay_currency):
        raise InvalidInput(
            f"{payee.payee}'s rate for {month} converts {rate.from_currency} to {rate.to_currency}, "
            f"not {currency} to {payee.pay_currency}"
        )
    return rate.rate, rate.effective_date


def convert(amounts: Sequence[Decimal], rate: Decimal, scale: int = 2) -> list[Decimal]:
    """Each amount × `rate`, rounded half-up at `scale`, adding up to the rounded total (the remainder goes to
    the largest amount, the first of equals)."""
    rounded = [round_money(a * rate, scale, "half_up") for a in amounts]
    if not amounts:
        return rounded
    total = round_money(sum(amounts, ZERO) * rate, scale, "half_up")
    remainder = total - sum(rounded, ZERO)
    if remainder:
        largest = max(range(len(amounts)), key=lambda i: (abs(amounts[i]), -i))
        rounded[largest] += remainder
    return rounded
