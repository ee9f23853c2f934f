"""Holds: an earning waits for a condition (customer payment, plan acceptance, manual release) and is paid in
the month the condition is met.

Which hold applies to an earning: the plan's hold that names its component, else the `*` hold, else none
(`hold_for`). Only positive earnings are held; a negative one (a clawed true-up) is never delayed.

The store decides when a condition is met; here it is data: `released`, the keys (plan, payee, component, period
of origin) whose condition is met by the month at hand. An earning whose condition is already met in its own month
is paid at once and never held. Worked example, commission held until the customer pays:

    M03 earns 1,000 (invoice unpaid)  → earning +1,000, hold −1,000: pays 0, held 1,000
    M04 earns   500 (invoice unpaid)  → earning   +500, hold   −500: pays 0, held 1,500
    M05 M03's invoice is paid          → release +1,000 (links to M03's earning): pays 1,000, held 500

A released amount is what was held, exactly; the link to the held earning (payee, component, period of origin)
travels on the release line. Amounts held at termination stay held (reported in the balances).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal

from openspm.plan.models import Hold, HoldUntil

ZERO = Decimal(0)


@dataclass(frozen=True, order=True)
class HoldKey:
    """The earning a hold keeps: plan, payee, component and the month it was earned (its period of origin)."""

    plan: str
    payee: str
    component: str
    period: str


@dataclass(frozen=True)
class HeldEarning:
    """An amount held (plan currency), the condition that releases it, and when it was held."""

    key: HoldKey
    amount: Decimal
    until: HoldUntil


@dataclass(frozen=True)
class Released:
    """A held earning paid in `period` (the month its condition was met)."""

    held: HeldEarning
    period: str

    @property
    def amount(self) -> Decimal:
        return self.held.amount


def hold_for(component: str, holds: Sequence[Hold]) -> Hold | None:
    """The hold that applies to a component: the one naming it, else the `*` one, else None."""
    named = next((h for h in holds if h.component == component), None)
    return named or next((h for h in holds if h.component == "*"), None)


def hold_earning(key: HoldKey, amount: Decimal, holds: Sequence[Hold], released: Set[HoldKey]) -> HeldEarning | None:
    """What to hold of an earning: all of it when a hold applies, the amount is positive and the condition is not
    already met (`key` not in `released`); else None (it is paid now)."""
    hold = hold_for(key.component, holds)
    if hold is None or amount <= 0 or key in released:
        return None
    return HeldEarning(key, amount, HoldUntil(hold.until))


def release_holds(
    held: Mapping[HoldKey, HeldEarning], released: Set[HoldKey], period: str
) -> tuple[list[Released], dict[HoldKey, HeldEarning]]:
    """Release the held earnings whose key is in `released` into `period`: (releases in key order, still held).

    Keys in `released` that hold nothing are ignored (the condition was met before anything was held)."""
    releases = [Released(held[k], period) for k in sorted(held) if k in released]
    still = {k: v for k, v in held.items() if k not in released}
    return releases, still


def held_total(held: Mapping[HoldKey, HeldEarning]) -> Decimal:
    """The amount still held."""
    return sum((h.amount for h in held.values()), ZERO)
