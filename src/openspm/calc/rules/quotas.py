"""Quota adjustments: seasonal shares of a yearly quota, proration for partial presence, and new-hire ramps.

A period's quota is built month by month. Each month of the fiscal year carries a seasonal share of the year
(4 quarterly weights give each month a third of its quarter's weight; none gives 1/12), scaled by the payee's
presence in the month and by the ramp factor of the month's tenure. Worked example: annual quota 100,000,
quarterly weights 20/20/20/40, hire on 1 March, proration by months:

    Q1    100,000 × (0.2/3 × 0 + 0.2/3 × 0 + 0.2/3 × 1)  = 6,666.666…  → 6,666.67
    Q2    100,000 × 0.2 = 20,000;  Q3 20,000;  Q4 40,000
    year  6,666.67 + 20,000 + 20,000 + 40,000          = 86,666.67

Quota amounts are rounded to the plan's rounding scale per period before use (the caller rounds, with
`round_money`), so a year figure is the sum of its rounded periods. The functions here are exact up to one final
division in the current decimal context (28 significant digits): 20,000 / 3 is not a finite decimal.

Proration (`Proration`): `days` counts the calendar days employed in each month, so within a quarter each month
keeps its seasonal share whatever its length; `months` counts a month when the payee is employed on its first
day (a hire on the 1st counts that month, a hire on the 2nd does not; a termination mid-month keeps the month);
`none` gives the whole quota to a payee employed at any time in the period. Employment runs from `hire`
(inclusive) to `termination` (exclusive: the first day not employed); None is open.

Ramp: `ramp[m]` scales month m of tenure, counted in whole months from the hire month (month 0); later months
take 1. With ramp `[0.5, 0.75]` and a hire on 15 March, March carries half its quota, April three quarters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

from openspm.core.period import add_months
from openspm.plan.models import Proration


def seasonal_share(weights: Sequence[Decimal] | None, period_index: int, parts: int) -> Decimal:
    """Share of a yearly quota for period `period_index` (0-based) of `parts` (1, 4 or 12) in the fiscal year.

    None gives `1 / parts`; 4 weights with 12 parts give the quarter's weight / 3 per month; 12 weights with
    4 parts give the sum of the quarter's three months.
    """
    return _decimal(_share(weights, period_index, parts))


def presence_fraction(
    start: date, end: date, hire: date | None, termination: date | None, method: Proration
) -> Decimal:
    """Fraction of `[start, end)` the payee is employed, by `method` (see the module docstring); in [0, 1]."""
    return _decimal(_presence(start, end, hire, termination, method))


def ramp_factor(ramp: Sequence[Decimal], hire: date | None, period_start: date) -> Decimal:
    """Ramp factor of the month of `period_start`: `ramp[m]` for tenure month m < len(ramp), else 1.

    A month before the hire month takes the first factor; no hire date or no ramp gives 1.
    """
    if hire is None or not ramp:
        return Decimal(1)
    tenure = max(_month_number(period_start) - _month_number(hire), 0)
    return ramp[tenure] if tenure < len(ramp) else Decimal(1)


def monthly_presence_weights(
    start: date, end: date, hire: date | None, termination: date | None, method: Proration
) -> list[Decimal]:
    """Presence in each month of `[start, end)` (whole months): by days or months per month; `none` per period."""
    return [_decimal(value) for value in _monthly_presence(start, end, hire, termination, method)]


def prorated_quota(
    quota: Decimal,
    period_start: date,
    period_end: date,
    *,
    year_start: date,
    covers: tuple[date, date] | None = None,
    seasonality: Sequence[Decimal] | None = None,
    proration: Proration = Proration.NONE,
    ramp: Sequence[Decimal] = (),
    hire: date | None = None,
    termination: date | None = None,
) -> Decimal:
    """The quota of period `[period_start, period_end)` from a stored `quota`, exact (round per period to use).

    `quota` is for the months `covers` (default: the fiscal year starting `year_start`); the period lies within
    them. quota × Σ(share × presence × ramp over the period's months) / Σ(share over the covered months), where
    share is the month's seasonal share (`seasonality`, 4 or 12 weights; None: even). A stored period quota
    (`covers` = the period) thus only takes proration and ramp. Covered months that all have weight 0 split
    their quota evenly.
    """
    span_start, span_end = covers if covers is not None else (year_start, add_months(year_start, 12))
    span = _month_starts(span_start, span_end)
    months = _month_starts(period_start, period_end)
    if not set(months) <= set(span):
        raise ValueError(f"the period {period_start} to {period_end} is outside the quota's {span_start} to {span_end}")
    first_month = _month_number(year_start)
    if year_start.day != 1 or not all(0 <= _month_number(m) - first_month < 12 for m in span):
        raise ValueError(f"the quota's months {span_start} to {span_end} are not in the fiscal year from {year_start}")
    shares = {m: _share(seasonality, _month_number(m) - first_month, 12) for m in span}
    if not any(shares.values()):
        shares = dict.fromkeys(span, Fraction(1))
    presence = _monthly_presence(period_start, period_end, hire, termination, proration)
    carried = sum(
        (
            shares[m] * present * Fraction(ramp_factor(ramp, hire, m))
            for m, present in zip(months, presence, strict=True)
        ),
        Fraction(0),
    )
    return _decimal(Fraction(quota) * carried / sum(shares.values(), Fraction(0)))


def _share(weights: Sequence[Decimal] | None, index: int, parts: int) -> Fraction:
    if parts < 1 or not 0 <= index < parts:
        raise ValueError(f"period index {index} is not one of {parts} periods")
    if weights is None:
        return Fraction(1, parts)
    count = len(weights)
    if count % parts == 0:
        size = count // parts
        return sum((Fraction(w) for w in weights[index * size : (index + 1) * size]), Fraction(0))
    if parts % count == 0:
        size = parts // count
        return Fraction(weights[index // size]) / size
    raise ValueError(f"{count} seasonal weights do not split into {parts} periods")


def _presence(start: date, end: date, hire: date | None, termination: date | None, method: Proration) -> Fraction:
    if end <= start:
        raise ValueError(f"period end {end} must be after its start {start}")
    if hire is not None and termination is not None and termination < hire:
        raise ValueError(f"termination {termination} is before hire {hire}")
    method = Proration(method)
    first = start if hire is None else max(start, hire)
    last = end if termination is None else min(end, termination)
    if method == Proration.NONE:
        return Fraction(1 if first < last else 0)
    if method == Proration.DAYS:
        return Fraction(max((last - first).days, 0), (end - start).days)
    months = _month_starts(start, end)
    employed = [m for m in months if (hire is None or hire <= m) and (termination is None or m < termination)]
    return Fraction(len(employed), len(months))


def _monthly_presence(
    start: date, end: date, hire: date | None, termination: date | None, method: Proration
) -> list[Fraction]:
    months = _month_starts(start, end)
    if Proration(method) == Proration.NONE:
        return [_presence(start, end, hire, termination, method)] * len(months)
    return [_presence(m, add_months(m, 1), hire, termination, method) for m in months]


def _month_starts(start: date, end: date) -> list[date]:
    """The first days of the months in `[start, end)`; both must be first days of a month."""
    if start.day != 1 or end.day != 1 or end <= start:
        raise ValueError(f"{start} to {end} is not a span of whole months")
    months = [start]
    while (following := add_months(months[-1], 1)) < end:
        months.append(following)
    return months


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _decimal(value: Fraction) -> Decimal:
    """A fraction as a Decimal: exact when it terminates within the context precision, else rounded to it."""
    return Decimal(value.numerator) / Decimal(value.denominator)
