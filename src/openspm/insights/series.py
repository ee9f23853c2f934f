"""Time-series forecasts of monthly amounts (pure: monthly history in, forecasts out).

Input: `history`, scope → the amount of each month in order (floats; the months must be consecutive), and a
`horizon` in months. Output: `SeriesForecast` per scope: for each method, `horizon` forecast values (floats,
never below zero: bookings are not forecast negative), the season length it used and a note when it fell back.

Methods (statsforecast): ``auto_ets`` (AutoETS), ``auto_arima`` (AutoARIMA) and ``auto_theta`` (AutoTheta), and
always the baseline ``seasonal_naive``: each month forecast as the same month one season earlier.

Season length: 12 (a year) when the history holds at least two full years (24 months); otherwise 3 (a quarter:
sales data is dominated by its quarter-end pattern) when it holds at least two quarters; otherwise 1 (no
season). The baseline uses the year (12) as soon as one full year is there, then the quarter, then the last
value (naive). A method that fails on a series (too short, degenerate) is retried without a season, and when that
fails too it is left out for that series with the reason in `notes`; the baseline never fails.

Worked example (baseline): history Jan..Dec 2025 = 1..12, horizon 3 → 1, 2, 3 (Jan, Feb, Mar 2025 again).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHODS = ("auto_ets", "auto_arima", "auto_theta")
BASELINE = "seasonal_naive"
YEAR = 12
QUARTER = 3


@dataclass
class SeriesForecast:
    """One scope's forecasts: method → `horizon` values; the season each method used; fallbacks and failures."""

    scope: str
    values: dict[str, list[float]] = field(default_factory=dict)
    seasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def season_for(n: int) -> int:
    """The models' season length for `n` months of history (see the module doc)."""
    if n >= 2 * YEAR:
        return YEAR
    if n >= 2 * QUARTER:
        return QUARTER
    return 1


def baseline_season(n: int) -> int:
    """The seasonal-naive season for `n` months of history: a year, else a quarter, else 1 (naive)."""
    if n >= YEAR:
        return YEAR
    if n >= QUARTER:
        return QUARTER
    return 1


def seasonal_naive(y: Sequence[float], horizon: int, season: int) -> list[float]:
    """Each forecast month = the same month `season` months before the first forecast month, repeated."""
    if not y:
        return [0.0] * horizon
    season = max(1, min(season, len(y)))
    last = list(y[-season:])
    return [float(last[i % season]) for i in range(horizon)]


def _model(method: str, season: int) -> Any:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    if method == "auto_ets":
        return AutoETS(season_length=season)
    if method == "auto_arima":
        return AutoARIMA(season_length=season)
    if method == "auto_theta":
        return AutoTheta(season_length=season)
    raise ValueError(f"unknown forecast method {method!r}; use one of {', '.join(METHODS)}")


def _fit(method: str, y: np.ndarray[Any, np.dtype[np.float64]], horizon: int, season: int) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean = _model(method, season).forecast(y=y, h=horizon)["mean"]
    values = [max(0.0, float(v)) for v in mean]
    if not all(np.isfinite(values)):
        raise ValueError("the model gave a non-finite forecast")
    return values


def forecast_one(scope: str, y: Sequence[float], horizon: int, methods: Sequence[str] = METHODS) -> SeriesForecast:
    """Forecast one series with every method and the baseline (see the module doc for seasons and fallbacks)."""
    result = SeriesForecast(scope)
    n = len(y)
    base = baseline_season(n)
    result.values[BASELINE] = seasonal_naive(y, horizon, base)
    result.seasons[BASELINE] = base
    if base < YEAR:
        result.notes.append(f"{BASELINE}: {n} months of history, season {base} instead of {YEAR}")
    array = np.asarray(y, dtype=np.float64)
    season = season_for(n)
    for method in methods:
        if n < 3:
            result.notes.append(f"{method}: left out, {n} months of history is too short")
            continue
        tried = [season] if season == 1 else [season, 1]
        for i, s in enumerate(tried):
            try:
                result.values[method] = _fit(method, array, horizon, s)
                result.seasons[method] = s
                if s < YEAR:
                    result.notes.append(f"{method}: season {s} ({n} months of history)")
                break
            except Exception as exc:  # statsforecast raises many kinds on degenerate series
                if i == len(tried) - 1:
                    result.notes.append(f"{method}: left out ({exc})")
    return result


def forecast(
    history: Mapping[str, Sequence[float]],
    horizon: int,
    methods: Sequence[str] = METHODS,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[SeriesForecast]:
    """Forecast every scope's series `horizon` months ahead; `progress(done, total, scope)` after each one."""
    if horizon < 1:
        raise ValueError("the horizon must be at least one month")
    for method in methods:
        _model(method, 1)  # unknown names fail before any work
    found = []
    for i, (scope, y) in enumerate(history.items()):
        found.append(forecast_one(scope, y, horizon, methods))
        if progress is not None:
            progress(i + 1, len(history), scope)
    return found
