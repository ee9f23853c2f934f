"""Forecast accuracy (pure): MAPE, WAPE and bias of forecast/actual pairs, in exact Decimal arithmetic.

Input: pairs `(forecast, actual)` of Decimal amounts (one per scope × month, or one per deal). Output: `Accuracy`
with the number of pairs and three fractions (0.12 = 12%), rounded to 4 places:

- MAPE = mean over pairs of |actual − forecast| / |actual|. A pair whose actual is zero has no percentage error:
  it is skipped and counted in `zero_actuals` (a deal that was lost, a month with no bookings). MAPE is None when
  every actual is zero.
- WAPE = Σ |actual − forecast| / Σ |actual|: the error weighted by size, and defined with zero actuals as long as
  some actual is not zero (else None). This is the number to compare methods by.
- bias = Σ (forecast − actual) / Σ |actual|: signed; positive means the forecast was too high (over-forecast),
  negative too low. None when every actual is zero.

Worked example: forecasts 110 and 90 against actuals 100 and 100 → MAPE (10% + 10%) / 2 = 0.1, WAPE 20 / 200 = 0.1,
bias (10 − 10) / 200 = 0. Forecasts 50 and 20 against actuals 100 and 0 → MAPE 0.5 (one pair, one zero actual
skipped), WAPE (50 + 20) / 100 = 0.7, bias (−50 + 20) / 100 = −0.3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Accuracy:
    n: int
    mape: Decimal | None
    wape: Decimal | None
    bias: Decimal | None
    zero_actuals: int
    forecast: Decimal  # Σ forecasts
    actual: Decimal  # Σ actuals

    def as_json(self) -> dict[str, object]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else format(value, "f")

        return {
            "n": self.n,
            "mape": text(self.mape),
            "wape": text(self.wape),
            "bias": text(self.bias),
            "zero_actuals": self.zero_actuals,
            "forecast": format(self.forecast, "f"),
            "actual": format(self.actual, "f"),
        }


def _round(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


def accuracy(pairs: Iterable[tuple[Decimal, Decimal]]) -> Accuracy:
    """MAPE, WAPE and bias of `(forecast, actual)` pairs (see the module doc; zero actuals are skipped by MAPE)."""
    n = 0
    zero = 0
    ape_sum = Decimal(0)
    abs_err = Decimal(0)
    signed = Decimal(0)
    scale = Decimal(0)
    total_f = Decimal(0)
    total_a = Decimal(0)
    for forecast, actual in pairs:
        n += 1
        error = forecast - actual
        abs_err += abs(error)
        signed += error
        scale += abs(actual)
        total_f += forecast
        total_a += actual
        if actual == 0:
            zero += 1
        else:
            ape_sum += abs(error) / abs(actual)
    counted = n - zero
    return Accuracy(
        n=n,
        mape=_round(ape_sum / counted) if counted else None,
        wape=_round(abs_err / scale) if scale else None,
        bias=_round(signed / scale) if scale else None,
        zero_actuals=zero,
        forecast=total_f,
        actual=total_a,
    )
