"""Draws: a monthly minimum pay in guaranteed months, recovered later (recoverable) or forgiven (non-recoverable).

A month's `earned` is what the payee would be paid without the draw: earnings, adjustments, clawbacks and
releases, less what is held (the pay stage works it out). With a draw of `D` a month and a balance owed `B`
(the recoverable top-ups not yet repaid):

    floor     = D in a guaranteed month, else 0
    cap room  = recovery_cap × max(earned, 0), rounded down to the plan's scale (no cap: unlimited)
    recovery  = min(B, cap room, max(earned − floor, 0))         never negative, never above the cap
    top-up    = max(floor − (earned − recovery), 0)              0 outside the guarantee
    paid      = earned − recovery + top-up                       = max(earned − recovery, D) when guaranteed

A recoverable draw adds the top-up to `B` (a `draw_advance`); a non-recoverable one records it as forgiven
(a `guarantee_forgiven`) and `B` is untouched. Recovery is taken only from earnings above the floor, so a
guaranteed month never pays less than the draw, and never in a month that needs a top-up. After the guarantee
ends the floor is 0 and recovery continues from earnings, within the cap, until `B` is 0. A month whose
`earned` is negative (a clawback larger than the month's earnings) pays that negative amount outside the
guarantee; inside it the top-up covers it (`D − earned`), so a recoverable draw also carries it.

Worked examples (golden 1), a draw of 1,500 a month guaranteed in August and September:

    recoverable      Aug earned   500 → top-up 1,000, paid 1,500, balance 1,000
                     Sep earned 3,000 → recovery min(1,000, −, 3,000 − 1,500) = 1,000, paid 2,000, balance 0
    non-recoverable  Aug earned   500 → forgiven 1,000, paid 1,500
                     Sep earned 3,000 → paid 3,000

With `recovery_cap: 0.5` and a balance of 1,000 after the guarantee ended: earned 1,200 → cap room 600,
recovery 600, paid 600, balance 400; then earned 3,000 → recovery 400, paid 2,600, balance 0.

Termination: the balance still owed after the last month is reported (`DrawSchedule.owed_at_termination`);
nothing here writes it off. The only rounding is the cap room's (down, at the plan's scale): amounts stay exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openspm.core.errors import InvalidInput
from openspm.core.money import round_money
from openspm.plan.expr import ExprError, evaluate, parse
from openspm.plan.models import Draw, DrawKind

ZERO = Decimal(0)


@dataclass(frozen=True)
class DrawTerms:
    """A payee's draw: `amount` a month in the plan currency, for `periods` months from plan start (None: no end)."""

    kind: DrawKind
    amount: Decimal
    periods: int | None = None
    recovery_cap: Decimal | None = None
    scale: int = 2  # the plan's rounding scale: the cap room rounds down to it

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a draw amount must be above 0, not {self.amount}")
        if self.recovery_cap is not None and not ZERO < self.recovery_cap <= 1:
            raise ValueError(f"a recovery cap is a fraction in (0, 1], not {self.recovery_cap}")

    @property
    def recoverable(self) -> bool:
        return self.kind is DrawKind.RECOVERABLE

    def guaranteed(self, month_of_plan: int) -> bool:
        """Whether the payee's `month_of_plan`-th month (0 = the month the plan starts) is guaranteed."""
        return month_of_plan >= 0 and (self.periods is None or month_of_plan < self.periods)


def draw_terms(draw: Draw, env: Mapping[str, Any], scale: int = 2) -> DrawTerms:
    """A plan's `pay.draw` for one payee: `amount` evaluated over the payee's values (`param.draw`, ...)."""
    amount: Any = draw.amount
    if isinstance(amount, str):
        try:
            amount = evaluate(parse(amount), env)
        except ExprError as exc:
            raise InvalidInput(f"pay.draw.amount {draw.amount!r}: {exc}") from None
        if amount is None:
            raise InvalidInput(f"pay.draw.amount {draw.amount!r} has no value for this payee; give it a default")
        amount = Decimal(amount)
    if amount <= 0:
        raise InvalidInput(f"pay.draw.amount {draw.amount!r} is {amount}; a draw must be above 0")
    return DrawTerms(DrawKind(draw.kind), amount, draw.periods, draw.recovery_cap, scale)


@dataclass(frozen=True)
class DrawMonth:
    """One month of a draw: what was earned, topped up, forgiven, recovered and paid, and the balance after it."""

    period: str
    guaranteed: bool
    earned: Decimal
    advance: Decimal  # recoverable top-up, added to the balance owed
    forgiven: Decimal  # non-recoverable top-up
    recovery: Decimal  # taken from the month's earnings to repay the balance
    cap_room: Decimal | None  # the most the cap let recovery take (None: no cap)
    balance_before: Decimal
    balance: Decimal

    @property
    def paid(self) -> Decimal:
        return self.earned + self.advance + self.forgiven - self.recovery


def draw_month(
    terms: DrawTerms | None, period: str, earned: Decimal, guaranteed: bool, balance: Decimal = ZERO
) -> DrawMonth:
    """Apply the draw to one month (see the module docstring). `terms` None: no draw, only recovery of `balance`."""
    if balance < 0:
        raise ValueError(f"a draw balance cannot be negative, not {balance}")
    guaranteed = guaranteed and terms is not None
    floor = terms.amount if terms is not None and guaranteed else ZERO
    cap = terms.recovery_cap if terms is not None else None
    cap_room = None if cap is None else round_money(cap * max(earned, ZERO), terms.scale if terms else 2, "down")
    recovery = min(balance, max(earned - floor, ZERO))
    if cap_room is not None:
        recovery = min(recovery, cap_room)
    top_up = max(floor - (earned - recovery), ZERO) if guaranteed else ZERO
    recoverable = terms is not None and terms.recoverable
    advance, forgiven = (top_up, ZERO) if recoverable else (ZERO, top_up)
    return DrawMonth(
        period=period,
        guaranteed=guaranteed,
        earned=earned,
        advance=advance,
        forgiven=forgiven,
        recovery=recovery,
        cap_room=cap_room,
        balance_before=balance,
        balance=balance - recovery + advance,
    )


@dataclass(frozen=True)
class DrawSchedule:
    """A draw over months: each month, the balance owed after the last one, forgiven in total, and at termination."""

    months: tuple[DrawMonth, ...]
    balance: Decimal
    forgiven: Decimal
    owed_at_termination: Decimal | None  # the balance after the termination month, when the payee left


def apply_draw(
    terms: DrawTerms | None,
    earned: Sequence[tuple[str, Decimal]],
    *,
    first_month_of_plan: int = 0,
    balance: Decimal = ZERO,
    terminated_in: str | None = None,
) -> DrawSchedule:
    """One payee's draw over consecutive months `(period, earned)`; the first is month `first_month_of_plan` of
    the payee's plan (0 = the month it starts). No month after `terminated_in` is guaranteed, and the balance
    owed after it is reported as `owed_at_termination`."""
    months: list[DrawMonth] = []
    forgiven = ZERO
    owed: Decimal | None = None
    left = False
    for i, (period, amount) in enumerate(earned):
        guaranteed = terms is not None and not left and terms.guaranteed(first_month_of_plan + i)
        month = draw_month(terms, period, amount, guaranteed, balance)
        months.append(month)
        balance, forgiven = month.balance, forgiven + month.forgiven
        if period == terminated_in:
            left, owed = True, balance
    return DrawSchedule(tuple(months), balance, forgiven, owed)
