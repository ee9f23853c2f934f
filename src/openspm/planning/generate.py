"""Seeded territory instances for tests and benchmarks.

`instance(accounts, territories, seed=...)` places accounts in clusters ("cities") and a rural spread over a
1,000 × 1,000 square, draws a lognormal potential (to the cent) and a workload in hours (to the tenth) that grows
with it, and cuts the accounts into `territories` cells of about equal potential and workload by a recursive
bisection; the territory centres are the cells' weighted centroids. With `refresh=True` every account sits today
in its cell's territory, tightened to ±2% by the greedy repair; then a year passes: potentials change with a
regional trend and noise, and a few new accounts arrive without a territory, so that most territories are still
in band and some are not (the annual-refresh case). The same seed gives the same instance.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np

from openspm.planning.territory import Account, DesignOptions, Territory, prepare
from openspm.planning.territory_greedy import greedy


def _cents(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2)


def _tenths(value: float) -> Decimal:
    return Decimal(round(value * 10)).scaleb(-1)


def instance(
    accounts: int,
    territories: int,
    *,
    seed: int = 0,
    refresh: bool = False,
    new_share: float = 0.01,
    drift: float = 1.0,
) -> tuple[list[Account], list[Territory]]:
    """Accounts and territories; with `refresh`, accounts carry a current territory (see the module docstring).

    `new_share` of the accounts arrive without a territory; `drift` scales the year's change in potential (1: a
    regional trend of up to ±5% and noise of 3% per account).
    """
    rng = np.random.default_rng(seed)
    cities = max(3, territories // 2)
    city_xy = rng.uniform(50, 950, size=(cities, 2))
    city_weight = rng.dirichlet(np.full(cities, 1.5))
    city_spread = rng.uniform(15, 70, size=cities)
    urban = rng.random(accounts) < 0.75
    city = rng.choice(cities, size=accounts, p=city_weight)
    xy = np.where(
        urban[:, None],
        city_xy[city] + rng.normal(0, 1, size=(accounts, 2)) * city_spread[city][:, None],
        rng.uniform(0, 1000, size=(accounts, 2)),
    )
    xy = np.clip(xy, 0, 1000)
    potential = rng.lognormal(np.log(40_000), 0.8, size=accounts)
    workload = 8 + potential / 2_000 * rng.lognormal(0, 0.3, size=accounts)

    # balanced recursive bisection: each cell holds about the same potential and workload; centres are the
    # cells' weighted centroids, and a cell is the territory an account sits in today
    weight = potential / potential.sum() + workload / workload.sum()
    cell = np.zeros(accounts, dtype=np.int64)
    _bisect(xy, weight, np.arange(accounts), 0, territories, cell)
    centres = np.zeros((territories, 2))
    for t in range(territories):
        mine = cell == t
        centres[t] = (xy[mine] * weight[mine, None]).sum(axis=0) / weight[mine].sum()

    width = len(str(territories))
    terr = [
        Territory(f"T{t + 1:0{width}d}", round(float(centres[t, 0]), 3), round(float(centres[t, 1]), 3))
        for t in range(territories)
    ]
    width = len(str(accounts))
    accs = [
        Account(
            id=f"A{i + 1:0{width}d}",
            potential=_cents(float(potential[i])),
            workload=_tenths(float(workload[i])),
            x=round(float(xy[i, 0]), 3),
            y=round(float(xy[i, 1]), 3),
        )
        for i in range(accounts)
    ]
    if not refresh:
        return accs, terr

    # today's territories: the cells, tightened to ±2% by the greedy repair (it moves few accounts from there)
    today = [dataclasses.replace(a, current=terr[int(cell[i])].id) for i, a in enumerate(accs)]
    tight = DesignOptions(tolerance=Decimal("0.02"), nearest=6, objective="moves", solver="greedy")
    assign = greedy(prepare(today, terr, tight))
    # a year passes: a regional trend (some regions grow, some shrink) and noise per account
    phase = rng.uniform(0, 2 * np.pi, size=2)
    trend = drift * 0.05 * np.sin(xy[:, 0] / 230 + phase[0]) * np.cos(xy[:, 1] / 260 + phase[1])
    growth = np.exp(trend + rng.normal(0, drift * 0.03, size=accounts))
    new = rng.random(accounts) < new_share
    accs = [
        dataclasses.replace(
            a,
            potential=(a.potential * Decimal(f"{growth[i]:.6f}")).quantize(Decimal("0.01")),
            current=None if new[i] else terr[assign[i]].id,
        )
        for i, a in enumerate(accs)
    ]
    return accs, terr


def _bisect(xy: np.ndarray, weight: np.ndarray, members: np.ndarray, first: int, count: int, cell: np.ndarray) -> None:
    """Split `members` into `count` cells of equal weight by cuts across the longer side, numbering from `first`."""
    if count == 1:
        cell[members] = first
        return
    left = count // 2
    points = xy[members]
    axis = int(np.argmax(points.max(axis=0) - points.min(axis=0)))
    order = members[np.argsort(points[:, axis], kind="stable")]
    cumulative = np.cumsum(weight[order])
    cut = int(np.searchsorted(cumulative, cumulative[-1] * left / count)) + 1
    cut = min(max(cut, left), len(order) - (count - left))
    _bisect(xy, weight, order[:cut], first, left, cell)
    _bisect(xy, weight, order[cut:], first + left, count - left, cell)
