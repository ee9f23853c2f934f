"""Capacity planning: how many payees a target needs, and a monthly hiring plan that gets them in seat in time.

Payees needed: N = T / (Q × A × (1 − ramp loss − attrition loss)). Worked example (DOMAIN.md): a target of
12,000,000, quota per head 1,000,000, expected attainment 0.8 and 15% lost to ramp and attrition give
12,000,000 / (1,000,000 × 0.8 × 0.85) = 17.65 payees, so 18 seats.

The monthly plan simulates expected productive capacity month by month: each payee in seat (and each hire once
they arrive) counts `survival × ramp factor`, where survival after k months is (1 − monthly attrition)^k and the
ramp factor of tenure month k is `ramp[k]` (1 after the ramp). When a month's required capacity is not met, the
plan hires enough people arriving early enough to be ramped by that month (never earlier than the first month a
requisition opened now can fill, `lead_months` from the start), and says in which month each requisition must be
opened. A month no hire can reach fully ramped stays short (the hires for later months soften it as they ramp):
filling it with people at a quarter of their productivity would take four times the heads and over-staff every
month after. Capacities are expectations, exact Decimal; hires are whole people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from openspm.core.errors import InvalidInput


def payees_needed(
    target: Decimal,
    quota_per_head: Decimal,
    expected_attainment: Decimal,
    ramp_loss: Decimal = Decimal(0),
    attrition_loss: Decimal = Decimal(0),
) -> Decimal:
    """T / (Q × A × (1 − ramp loss − attrition loss)), unrounded (round up for seats)."""
    productive = Decimal(1) - ramp_loss - attrition_loss
    if quota_per_head <= 0 or expected_attainment <= 0 or productive <= 0:
        raise InvalidInput("quota per head and expected attainment must be above 0, and losses below 100%")
    return target / (quota_per_head * expected_attainment * productive)


@dataclass(frozen=True)
class CapacityMonth:
    month: int  # 0 = the first month of the plan
    required: Decimal  # productive payees the month's target needs
    expected: Decimal  # expected productive payees, after this plan's hires
    arriving: int  # hires who start this month
    open_requisitions: int  # requisitions to open this month (they start `lead_months` later)
    short: Decimal  # what is still missing (hires could not arrive in time)


def hiring_plan(
    targets: Sequence[Decimal],
    *,
    quota_per_head: Decimal,
    expected_attainment: Decimal,
    in_seat_tenure: Sequence[int],
    ramp: Sequence[Decimal] = (),
    monthly_attrition: Decimal = Decimal(0),
    lead_months: int = 0,
) -> list[CapacityMonth]:
    """Month by month: required = target / (monthly quota per head × attainment); hires to cover any shortfall.

    `targets` are the months' targets; `quota_per_head` is a month's quota of a fully ramped payee;
    `in_seat_tenure` lists each current payee's tenure in months at the plan's start.
    """
    if quota_per_head <= 0 or expected_attainment <= 0 or not Decimal(0) <= monthly_attrition < 1 or lead_months < 0:
        raise InvalidInput("quota and attainment above 0, monthly attrition in [0, 1), lead months not negative")
    keep = Decimal(1) - monthly_attrition

    def productivity(tenure: int) -> Decimal:
        return ramp[tenure] if 0 <= tenure < len(ramp) else Decimal(1)

    def contribution(start_tenure: int, months_later: int) -> Decimal:
        return keep**months_later * productivity(start_tenure + months_later)

    arrivals = [0] * len(targets)
    required = [t / (quota_per_head * expected_attainment) for t in targets]

    def expected(month: int) -> Decimal:
        staff = sum((contribution(t, month) for t in in_seat_tenure), Decimal(0))
        hires = sum((n * contribution(0, month - a) for a, n in enumerate(arrivals[: month + 1]) if n), Decimal(0))
        return staff + hires

    for month in range(len(targets)):
        gap = required[month] - expected(month)
        arrive = month - len(ramp)
        if gap <= 0 or arrive < lead_months:  # covered, or no hire can be ramped by then: the month stays short
            continue
        each = contribution(0, month - arrive)
        hires = int((gap / each).to_integral_value(rounding=ROUND_CEILING))
        arrivals[arrive] += hires
    plan = []
    for month in range(len(targets)):
        capacity = expected(month)
        opened = arrivals[month + lead_months] if month + lead_months < len(targets) else 0
        short = max(required[month] - capacity, Decimal(0))
        plan.append(CapacityMonth(month, required[month], capacity, arrivals[month], opened, short))
    return plan


def monthly_targets(months: int, per_month: Decimal | None, targets: Sequence[Decimal]) -> list[Decimal]:
    """The plan's monthly targets: the list given, or `per_month` repeated `months` times (1 to 120 months)."""
    if bool(per_month is not None) == bool(targets):
        raise InvalidInput("give either one target per month for every month, or a list of monthly targets")
    values = list(targets) if targets else [per_month or Decimal(0)] * months
    if not 1 <= len(values) <= 120:
        raise InvalidInput(f"a capacity plan covers 1 to 120 months, not {len(values)}")
    if any(v < 0 for v in values):
        raise InvalidInput("monthly targets must not be negative")
    return values


def check_ramp(ramp: Sequence[Decimal]) -> None:
    """Ramp factors are fractions of a ramped payee's productivity, each in [0, 1]."""
    if len(ramp) > 36 or any(not Decimal(0) <= f <= Decimal(1) for f in ramp):
        raise InvalidInput("ramp factors are fractions between 0 and 1 per tenure month (at most 36), e.g. 0.25,0.5")
