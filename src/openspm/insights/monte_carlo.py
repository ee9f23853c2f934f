"""Monte Carlo attainment: fit a distribution of monthly attainment per group (role) from history, draw from it.

Input: observations, a group (a payee's role) → the monthly attainments seen in history (measure ÷ quota of
each payee-month with a quota). Output: an `AttainmentModel` that draws N attainments for a group from a seeded
`numpy.random.Generator`.

Two methods:

- `lognormal`: a share `p0` of payee-months with no positive attainment (no deal, or returns only) is kept as
  it is; the positive attainments are fitted with a lognormal, mu and sigma the mean and (population) standard
  deviation of their logs. A draw is 0 with probability `p0`, else exp(mu + sigma × z).
  Worked example: attainments 0, 0.5, 1, 2 → p0 = 0.25; logs −0.693, 0, 0.693 → mu = 0, sigma = 0.566.
- `bootstrap`: a draw is one of the group's observed attainments, each equally likely (zeros and negatives
  included), so the shape of history is kept exactly, tails and all, but nothing beyond the largest seen.

A group with fewer than `MIN_OBSERVATIONS` observations borrows the pooled observations of every group.
Floats are fine here: the draws are statistics; the money they become is computed by the engine in Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from openspm.core.errors import InvalidInput

METHODS = ("lognormal", "bootstrap")
MIN_OBSERVATIONS = 5
POOLED = "*"


@dataclass(frozen=True)
class GroupFit:
    """What was fitted for one group (or the pool)."""

    group: str
    observations: int
    zero_share: float  # share of observations ≤ 0
    mu: float  # lognormal: mean of log(attainment) over the positive observations
    sigma: float  # lognormal: standard deviation of those logs
    mean: float  # the mean observed attainment
    values: tuple[float, ...]  # bootstrap: the observations, sorted
    pooled: bool = False  # too few of its own: draws from the pool


@dataclass(frozen=True)
class AttainmentModel:
    method: str
    fits: dict[str, GroupFit]

    def fit_of(self, group: str) -> GroupFit:
        return self.fits.get(group) or self.fits[POOLED]

    def draw(self, rng: np.random.Generator, group: str, size: int) -> np.ndarray:
        """`size` monthly attainments for `group` (a float array)."""
        fit = self.fit_of(group)
        if fit.observations == 0:
            return np.zeros(size)
        if self.method == "bootstrap":
            return rng.choice(np.array(fit.values), size=size, replace=True)
        positive = rng.random(size) >= fit.zero_share
        drawn = np.exp(fit.mu + fit.sigma * rng.standard_normal(size))
        return np.where(positive, drawn, 0.0)


def _fit(group: str, values: Sequence[float]) -> GroupFit:
    ordered = tuple(sorted(float(v) for v in values))
    logs = [math.log(v) for v in ordered if v > 0]
    n = len(ordered)
    mu = sum(logs) / len(logs) if logs else 0.0
    sigma = math.sqrt(sum((x - mu) ** 2 for x in logs) / len(logs)) if logs else 0.0
    return GroupFit(
        group=group,
        observations=n,
        zero_share=(n - len(logs)) / n if n else 1.0,
        mu=mu,
        sigma=sigma,
        mean=sum(ordered) / n if n else 0.0,
        values=ordered,
    )


def fit(observations: Mapping[str, Sequence[float]], method: str = "lognormal") -> AttainmentModel:
    """Fit each group's attainments (and the pool of all of them, under `POOLED`)."""
    if method not in METHODS:
        raise InvalidInput(f"method {method!r}: choose {' or '.join(METHODS)}")
    pool = [v for values in observations.values() for v in values]
    fits = {POOLED: _fit(POOLED, pool)}
    for group, values in sorted(observations.items()):
        own = _fit(group, values)
        if own.observations < MIN_OBSERVATIONS:
            pooled = fits[POOLED]
            own = GroupFit(
                group, own.observations, pooled.zero_share, pooled.mu, pooled.sigma, pooled.mean, pooled.values, True
            )
        fits[group] = own
    return AttainmentModel(method, fits)


def percentiles(values: Sequence[float], points: Sequence[float] = (10, 50, 90, 99)) -> dict[str, float]:
    """P10, P50, ... (linear interpolation between order statistics, numpy's default) and the max and mean."""
    if not values:
        return {**{f"p{int(p)}": 0.0 for p in points}, "max": 0.0, "mean": 0.0}
    array = np.asarray(values, dtype=float)
    found = {f"p{int(p)}": float(np.percentile(array, p)) for p in points}
    found["max"] = float(array.max())
    found["mean"] = float(array.mean())
    return found


def histogram(series: Mapping[str, Sequence[float]], bins: int = 20) -> dict[str, object]:
    """One set of `bins` equal-width bins over all the series (so bars of two versions line up) and each series'
    counts: {"edges": [...bins + 1], "counts": {name: [...bins]}}."""
    everything = [v for values in series.values() for v in values]
    if not everything:
        return {"edges": [], "counts": {name: [] for name in series}}
    low, high = min(everything), max(everything)
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    counts = {
        name: [int(c) for c in np.histogram(np.asarray(v, dtype=float), bins=edges)[0]] for name, v in series.items()
    }
    return {"edges": [float(e) for e in edges], "counts": counts}
