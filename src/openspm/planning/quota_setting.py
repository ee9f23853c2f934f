"""Top-down quota setting: street quota, blended allocation weights, a cap on year-over-year change, and the
fairness diagnostic to show before publishing.

Worked example (DOMAIN.md "Planning"): a company plan of 10,000,000 with 500,000 of revenue that no quota carries
and an over-assignment of 1.2 gives a street quota of (10,000,000 − 500,000) × 1.2 = 11,400,000. Two reps with
potential 300 and 100 and last year's bookings 200 and 200, blended with α = 0.6, weigh
0.6 × 300/400 + 0.4 × 200/400 = 0.65 and 0.6 × 100/400 + 0.4 × 200/400 = 0.35: quotas 7,410,000 and 3,990,000.
With last year's quotas 5,000,000 each and a cap of ±30% on the change, the first is held to 6,500,000 and the
910,000 it cannot carry goes to the second, whose 4,900,000 is inside its band.

Fairness: with attainment ~ N(μ, σ), the share of reps at or above quota is Φ((μ − 1) / σ). Over-assignment
lowers μ: a 1.2 over-assignment (μ ≈ 0.83) with σ = 0.3 puts about 29% of reps at quota, far from the 60–70%
practitioners aim for. That share is a probability, computed in binary floating point; quotas are exact Decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from statistics import NormalDist

from openspm.core.errors import InvalidInput


def street_quota(company_plan: Decimal, uncovered: Decimal, over_assignment: Decimal) -> Decimal:
    """(company plan − revenue no quota carries) × over-assignment."""
    if over_assignment <= 0:
        raise InvalidInput(f"over-assignment {over_assignment} must be above 0 (typically 1.1 to 1.3)")
    return (company_plan - uncovered) * over_assignment


def blended_weights(
    potential: Mapping[str, Decimal], history: Mapping[str, Decimal], alpha: Decimal
) -> dict[str, Decimal]:
    """w = α·Pot/ΣPot + (1−α)·H/ΣH per payee (missing values count 0); the weights sum to 1.

    With no potential at all the weights are history's alone, and the other way round.
    """
    if not Decimal(0) <= alpha <= Decimal(1):
        raise InvalidInput(f"alpha {alpha} must be between 0 and 1")
    names = sorted(set(potential) | set(history))
    if not names:
        return {}
    for name in names:
        if potential.get(name, Decimal(0)) < 0 or history.get(name, Decimal(0)) < 0:
            raise InvalidInput(f"{name}: potential and history must not be negative")
    pot_total = sum((potential.get(n, Decimal(0)) for n in names), Decimal(0))
    hist_total = sum((history.get(n, Decimal(0)) for n in names), Decimal(0))
    if pot_total == 0 and hist_total == 0:
        raise InvalidInput("neither potential nor history: nothing to weigh the allocation by")
    a = alpha if hist_total and pot_total else (Decimal(1) if pot_total else Decimal(0))
    return {
        n: (a * potential.get(n, Decimal(0)) / pot_total if pot_total else Decimal(0))
        + ((1 - a) * history.get(n, Decimal(0)) / hist_total if hist_total else Decimal(0))
        for n in names
    }


@dataclass(frozen=True)
class Allocation:
    """Quotas per payee (summing exactly to the total), who was held by the change cap, and what no one could carry."""

    quotas: dict[str, Decimal]
    capped: dict[str, str]  # payee → "floor" | "ceiling"
    unallocated: Decimal


def allocate(
    total: Decimal,
    weights: Mapping[str, Decimal],
    *,
    previous: Mapping[str, Decimal] | None = None,
    max_change: Decimal | None = None,
    scale: int = 2,
) -> Allocation:
    """Split `total` by `weights`, each quota within ±`max_change` of `previous` where there is one.

    Water-filling: payees whose share breaks their band are pinned to the band's edge and the rest of the total is
    shared again among the others by weight, until nobody breaks a band. Quotas are then rounded to `scale`
    places by largest remainder, so they add up to the allocated total exactly; what nobody can carry (every payee
    pinned) is `unallocated`.
    """
    if any(w < 0 for w in weights.values()):
        raise InvalidInput("allocation weights must not be negative")
    bands: dict[str, tuple[Decimal, Decimal]] = {}
    if previous is not None and max_change is not None:
        if max_change < 0:
            raise InvalidInput(f"max_change {max_change} must not be negative")
        for name, before in previous.items():
            if name in weights and before > 0:
                bands[name] = (before * (1 - max_change), before * (1 + max_change))
    pinned: dict[str, Decimal] = {}
    capped: dict[str, str] = {}
    while True:
        free = {n: w for n, w in weights.items() if n not in pinned}
        left = total - sum(pinned.values(), Decimal(0))
        free_weight = sum(free.values(), Decimal(0))
        raw = {n: left * w / free_weight for n, w in free.items()} if free_weight else dict.fromkeys(free, Decimal(0))
        broken = {n: v for n, v in raw.items() if n in bands and not bands[n][0] <= v <= bands[n][1]}
        if not broken:
            break
        for name, value in broken.items():
            low, high = bands[name]
            pinned[name], capped[name] = (low, "floor") if value < low else (high, "ceiling")
    rounded = round_to_total({**raw, **pinned}, scale)
    return Allocation(rounded, capped, total - sum(rounded.values(), Decimal(0)))


def round_to_total(values: Mapping[str, Decimal], scale: int) -> dict[str, Decimal]:
    """Round each value down to `scale` places, then give one unit of the last place to the largest remainders
    (ties by name) until the rounded sum equals the exact sum rounded to `scale`."""
    unit = Decimal(1).scaleb(-scale)
    floors = {n: v.quantize(unit, rounding=ROUND_FLOOR) for n, v in values.items()}
    target = sum(values.values(), Decimal(0)).quantize(unit)
    extra = int((target - sum(floors.values(), Decimal(0))) / unit)
    order = sorted(values, key=lambda n: (-(values[n] - floors[n]), n))
    for name in order[: max(extra, 0)]:
        floors[name] += unit
    return floors


def share_at_quota(mean_attainment: float, sd_attainment: float) -> float:
    """Φ((μ − 1) / σ): the expected share of payees at or above quota when attainment ~ N(μ, σ)."""
    if sd_attainment <= 0:
        raise InvalidInput(f"the attainment spread {sd_attainment} must be above 0")
    return NormalDist().cdf((mean_attainment - 1) / sd_attainment)
