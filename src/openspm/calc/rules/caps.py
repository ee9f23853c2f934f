"""Caps: an upper limit on what a component pays over a cap period, and the amount the cap cut.

The limit covers the whole cap period (a month, a quarter, a year); `already_paid` is what earlier runs in that
cap period already earned under it, so the room left is `limit − already_paid`. Worked examples:

    monthly cap 10,000; 3% of 400,000 = 12,000      → pays 10,000, cut 2,000
    yearly cap 50,000; January to November 45,000; December earns 8,000
                                                    → room 5,000: pays 5,000, cut 3,000

A negative amount (a clawback) passes through uncut and lowers what the period has paid, which makes room again.
A cap of `target_multiple: 2` with a target incentive of 60,000 is a limit of 120,000 (`cap_limit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from openspm.core.errors import InvalidInput
from openspm.plan.models import Cap

ZERO = Decimal(0)


@dataclass(frozen=True)
class Capped:
    """What is paid after the cap (`amount`) and what the cap removed (`cut`, never negative)."""

    amount: Decimal
    cut: Decimal


def apply_cap(amount: Decimal, limit: Decimal, already_paid: Decimal = ZERO) -> Capped:
    """Cut `amount` so that `already_paid + amount` stays within `limit`; negative amounts pass uncut."""
    if limit < 0:
        raise ValueError(f"a cap limit cannot be negative, not {limit}")
    if amount <= 0:
        return Capped(amount, ZERO)
    paid = min(amount, max(limit - already_paid, ZERO))
    return Capped(paid, amount - paid)


def cap_limit(cap: Cap, target_incentive: Decimal | None) -> Decimal:
    """The cap's limit: its `amount`, or `target_multiple × target_incentive` (InvalidInput without a target)."""
    if cap.amount is not None:
        return cap.amount
    assert cap.target_multiple is not None  # the plan model requires exactly one of the two
    if target_incentive is None:
        raise InvalidInput(
            f"the cap is {cap.target_multiple} × target incentive, but the payee has no target incentive; "
            "set target_incentive on the payee's plan assignment"
        )
    return cap.target_multiple * target_incentive
