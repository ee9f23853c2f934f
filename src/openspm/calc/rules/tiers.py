"""Rate tables: a base (an amount) paid over bands by one of four methods.

A band is half-open `[lower, upper)` in amount units and paid at `rate` (a fraction); the last band may be
open-ended. Worked example, bands `[0, 100000)` at 50% and `[100000, ∞)` at 60%, base 180,000:

    marginal      100,000 × 0.50 + 80,000 × 0.60 = 50,000 + 48,000   =  98,000
    retroactive   180,000 × 0.60 (the band reached)                  = 108,000
    section       180,000 × 0.60 (the band containing the base)      = 108,000
    interpolated  in the last band the rate is flat: 180,000 × 0.60  = 108,000
                  (base 50,000: rate 0.50 + 0.10 × 50,000 / 100,000 = 0.55, so 50,000 × 0.55 = 27,500)

Marginal is the signed area under the rate steps from 0 to the base: a portion of the base below the first
band pays nothing. Retroactive pays the whole base at the rate of the highest band whose start the base has
reached (past a closed last band, that band's rate). Section pays the whole base at the rate of the band that
contains it and 0 when none does (bands may have gaps). Interpolated pays the whole base at a rate linear
between `(lower_i, rate_i)` and `(lower_i+1, rate_i+1)` for the band reached, flat in the last band.

Attainment tiers become amount bands with `bands_from_tiers(tiers, scale_by=quota)`: quota 100,000 and tiers
`[0, 1)` 6%, `[1, 1.5)` 8%, `[1.5, ∞)` 10% give `[0, 100000)`, `[100000, 150000)`, `[150000, ∞)`; revenue
110,000 pays 8,800 retroactive (110,000 × 0.08) and 6,800 marginal (6,000 + 10,000 × 0.08).

Boundary: with `boundary="lower"` (the default) a base equal to a band's lower bound belongs to that band, the
upper one: bands `[0, 100)` 1% and `[100, ∞)` 2% pay base 100 retroactive 2. With `boundary="upper"` each band
also holds its upper bound and a point where two bands meet stays in the lower band, `(lower, upper]`: base 100
pays 1. A lower bound no other band ends at (the first band's, or one after a gap) still belongs to its band.

Negative bases (net returns) follow the same arithmetic, so with bands starting at 0 or above they lie below
the first band and earn 0; only bands reaching below 0 make a negative base earn (a negative amount).

Nothing is rounded: products of Decimals are exact; only interpolation divides (in the current decimal
context, 28 significant digits by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from openspm.plan.models import Tier, TierMethod

Boundary = Literal["lower", "upper"]
ZERO = Decimal(0)


@dataclass(frozen=True)
class Band:
    """A band `[lower, upper)` of the base in amount units, paid at `rate`; `upper=None` is open-ended."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class TierLine:
    """One line of the arithmetic for a statement: `portion × rate = amount` within band `[lower, upper)`."""

    lower: Decimal
    upper: Decimal | None
    portion: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class TierResult:
    """The earning of a base over bands.

    `rate` is the effective rate the whole base was paid at (retroactive, section, interpolated; 0 when no
    band applies) and None for marginal; `band` is the index of the band containing the base, None when the
    base falls in no band (below the first, in a gap, or above a closed last band).
    """

    amount: Decimal
    rate: Decimal | None
    lines: tuple[TierLine, ...]
    band: int | None


def bands_from_tiers(tiers: Sequence[Tier], scale_by: Decimal = Decimal(1)) -> list[Band]:
    """Plan tiers as amount bands: bounds multiplied by `scale_by` (the quota for attainment tiers), rates kept."""
    return [
        Band(tier.lower * scale_by, None if tier.upper is None else tier.upper * scale_by, tier.rate) for tier in tiers
    ]


def apply_tiers(base: Decimal, bands: Sequence[Band], method: TierMethod, boundary: Boundary = "lower") -> TierResult:
    """Pay `base` over `bands` (ascending, not overlapping) by `method`; see the module docstring."""
    check_bands(bands)
    if boundary not in ("lower", "upper"):
        raise ValueError(f"boundary must be 'lower' or 'upper', not {boundary!r}")
    method = TierMethod(method)
    band = containing_band(base, bands, boundary)
    if method == TierMethod.MARGINAL:
        return _marginal(base, bands, band)
    if method == TierMethod.SECTION:
        return _whole_base(base, bands, band, band)
    reached = band if band is not None else _last_started(base, bands)
    if method == TierMethod.RETROACTIVE:
        return _whole_base(base, bands, reached, band)
    return _interpolated(base, bands, reached, band)


def containing_band(base: Decimal, bands: Sequence[Band], boundary: Boundary = "lower") -> int | None:
    """Index of the band holding `base` under the boundary rule, None when no band does."""
    for i, band in enumerate(bands):
        if base < band.lower:
            return None
        if band.upper is None or base < band.upper or (boundary == "upper" and base == band.upper):
            return i
    return None


def check_bands(bands: Sequence[Band]) -> None:
    """Raise ValueError unless bands exist, ascend without overlapping, and only the last is open-ended."""
    if not bands:
        raise ValueError("a rate table needs at least one band")
    for i, band in enumerate(bands):
        if band.upper is not None and band.upper <= band.lower:
            raise ValueError(f"band {i + 1}: upper {band.upper} must be above lower {band.lower}")
        if i:
            previous = bands[i - 1].upper
            if previous is None:
                raise ValueError(f"band {i}: only the last band may be open-ended")
            if band.lower < previous:
                raise ValueError(f"bands {i} and {i + 1} overlap: {band.lower} is below {previous}")


def _last_started(base: Decimal, bands: Sequence[Band]) -> int | None:
    """Index of the last band whose lower bound is at or below `base` (None below the first band)."""
    started = [i for i, band in enumerate(bands) if band.lower <= base]
    return started[-1] if started else None


def _marginal(base: Decimal, bands: Sequence[Band], band: int | None) -> TierResult:
    """Each band's share of the span between 0 and the base at its rate; a negative base gives negative portions."""
    low, high = (ZERO, base) if base >= 0 else (base, ZERO)
    lines = []
    for b in bands:
        start = max(b.lower, low)
        stop = high if b.upper is None else min(b.upper, high)
        if stop > start:
            portion = stop - start if base >= 0 else start - stop
            lines.append(TierLine(b.lower, b.upper, portion, b.rate, portion * b.rate))
    return TierResult(sum((line.amount for line in lines), ZERO), None, tuple(lines), band)


def _whole_base(base: Decimal, bands: Sequence[Band], applied: int | None, band: int | None) -> TierResult:
    """The whole base at the rate of band `applied`; 0 when None."""
    if applied is None:
        return TierResult(ZERO, ZERO, (), band)
    b = bands[applied]
    amount = base * b.rate
    return TierResult(amount, b.rate, (TierLine(b.lower, b.upper, base, b.rate, amount),), band)


def _interpolated(base: Decimal, bands: Sequence[Band], reached: int | None, band: int | None) -> TierResult:
    """The whole base at the rate interpolated from the start of band `reached` to the start of the next."""
    if reached is None:
        return TierResult(ZERO, ZERO, (), band)
    b = bands[reached]
    rate = b.rate
    if reached + 1 < len(bands):
        following = bands[reached + 1]
        rate += (following.rate - b.rate) * (base - b.lower) / (following.lower - b.lower)
    amount = base * rate
    return TierResult(amount, rate, (TierLine(b.lower, b.upper, base, rate, amount),), band)
