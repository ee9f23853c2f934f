"""True-up: pay each period the earning to date minus what earlier periods earned.

`increment(to_date, earned_before, carried, negative)` returns what to pay now and the new carried balance (what
has been paid beyond the earning to date, to recover from later increases; never negative). A positive increment
first recovers the carried balance. A negative increment, by `NegativeIncrement`; worked example, earnings to date
1,000 in January, 700 in February (a cancellation), 1,500 in March:

    claw   pays 1,000, −300, 800  (carried 0)           paid 1,500 = earned to date
    carry  pays 1,000,    0, 500  (carried 0, 300, 0)   February's 300 is recovered from March's 800
    floor  pays 1,000,    0, 800  (carried 0)           the 300 is forgiven: paid 1,800

With claw and carry, what was paid always equals the earning to date plus the carried balance.
"""

from __future__ import annotations

from decimal import Decimal

from openspm.plan.models import NegativeIncrement

ZERO = Decimal(0)


def increment(
    to_date: Decimal, earned_before: Decimal, carried: Decimal, negative: NegativeIncrement
) -> tuple[Decimal, Decimal]:
    """(pay now, new carried balance) for an earning to date after `earned_before` was earned by earlier periods."""
    if carried < 0:
        raise ValueError(f"a carried balance cannot be negative, not {carried}")
    change = to_date - earned_before
    if change >= 0:
        recovered = min(change, carried)
        return change - recovered, carried - recovered
    negative = NegativeIncrement(negative)
    if negative == NegativeIncrement.CLAW:
        return change, carried
    if negative == NegativeIncrement.CARRY:
        return ZERO, carried - change
    return ZERO, carried
