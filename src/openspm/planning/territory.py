"""Territory design: assign accounts to territories, balanced, compact, with the least disruption.

The model (Hess 1965; Zoltners & Sinha 2005; Ríos-Mercado & Fernández 2009). A binary x[i, t] for each account
i and each of its *candidate* territories t:

    Σ_t x[i, t] = 1                                   every account in exactly one territory
    (1 − τ)·mean_m ≤ Σ_i a[i, m]·x[i, t] ≤ (1 + τ)·mean_m   for every territory t and balanced measure m
    Σ_i workload[i]·x[i, t] ≤ capacity[t]             when the territory has a capacity
    minimize Σ cost[i, t]·x[i, t]

where mean_m = Σ_i a[i, m] / number of territories, and cost is the objective: `moves` (1 when an account with a
current territory leaves it), `moved_potential` (its potential when it leaves) or `distance` (the account's
weight × the distance to the territory centre, for a build from scratch).

Compactness is a hard rule: an account's candidates are its `allowed` set when given, otherwise the territories
whose centre lies within `radius` of it, cut to the `nearest` k when asked (its current territory is always kept
unless an explicit allowed set leaves it out). A locked account has one candidate, its current territory.

Worked example (τ = 0.10, potential only): a 60 and b 40 in T1, c 50, d 30 and e 20 in T2. The mean is 100 and
the band [90, 110]; both totals are 100, so a rebalance moves nothing. Next year a grows to 100: the mean is 120,
the band [108, 132], T1 holds 140 and T2 100. No single move helps (b alone leaves 100 | 140); swapping b with e
gives 120 | 120 and swapping b with d 130 | 110: two moves either way, and with `moved_potential` the answer is
b ↔ e (60 moved rather than 70). Amounts are exact: Decimals are scaled to integers for the solvers (bands rounded
inward to whole units, exactly, through `Fraction`), and every in-band claim of the result is recomputed in
Decimal from the final assignment.

Solvers: `greedy` (a start and a repair pass, milliseconds to seconds), `highs` (HiGHS MIP through `highspy`,
warm-started from the greedy answer) and `cpsat` (OR-Tools CP-SAT, hinted with the greedy answer). The result
always gives the objective, the best bound the solver proved, the gap between them, the solver's status and the
time; an infeasible instance comes back explained (an account with no allowed territory, a territory whose
reachable accounts cannot fill its band, or the territories that a relaxed solve could not bring into band).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from openspm.core.errors import InvalidInput

MEASURES = ("potential", "workload", "accounts")
OBJECTIVES = ("moves", "moved_potential", "distance")
SOLVERS = ("highs", "cpsat", "greedy")
DISTANCE_WEIGHTS = ("workload", "potential", "accounts")
# CP-SAT needs integer costs: distances are floored to this many units per distance unit, so its bound stays valid.
CPSAT_DISTANCE_SCALE = 1000


@dataclass(frozen=True)
class Account:
    """One unit to assign. `potential` and `workload` are exact; `x`, `y` a location in any planar unit.

    `current` is the territory it sits in today (None: unassigned, e.g. a new account); a `locked` account never
    moves; `allowed` is its set of permitted territories (None: all within the radius of its location).
    """

    id: str
    potential: Decimal
    workload: Decimal = Decimal(0)
    x: float = 0.0
    y: float = 0.0
    current: str | None = None
    locked: bool = False
    allowed: frozenset[str] | None = None


@dataclass(frozen=True)
class Territory:
    """A territory: its centre and an optional capacity (the most workload it may hold)."""

    id: str
    x: float = 0.0
    y: float = 0.0
    capacity: Decimal | None = None


@dataclass(frozen=True)
class DesignOptions:
    """How to design.

    `balance`: the measures held within ±`tolerance` of the mean (`potential`, `workload`, `accounts`).
    `objective`: `moves`, `moved_potential` or `distance`; None chooses `moves` when any account has a current
    territory, else `distance`. `distance_weight`: what multiplies an account's distance (`workload`,
    `potential` or `accounts` for none). `radius` and `nearest` restrict the candidates of accounts without an
    allowed set. `time_limit` in seconds, `gap_limit` the relative gap at which a MIP stops as optimal,
    `threads` the solver threads.
    """

    balance: tuple[str, ...] = ("potential", "workload")
    tolerance: Decimal = Decimal("0.05")
    objective: str | None = None
    distance_weight: str = "workload"
    radius: float | None = None
    nearest: int | None = None
    solver: str = "highs"
    time_limit: float = 60.0
    gap_limit: float = 1e-4
    threads: int = 1
    seed: int = 0


@dataclass(frozen=True)
class Move:
    """An account that changes territory (`source` None: it had none)."""

    account: str
    source: str | None
    target: str
    potential: Decimal


@dataclass(frozen=True)
class TerritoryTotals:
    """One territory in the result: its totals per measure, the band, and whether each total is in it."""

    territory: str
    accounts: int
    totals: dict[str, Decimal]
    lower: dict[str, Decimal]
    upper: dict[str, Decimal]
    in_band: dict[str, bool]
    capacity: Decimal | None = None
    within_capacity: bool = True

    @property
    def balanced(self) -> bool:
        """Every balanced measure in band and the capacity respected."""
        return all(self.in_band.values()) and self.within_capacity


@dataclass
class DesignResult:
    """What a design returns; `status` is `optimal`, `feasible`, `infeasible` or `unbalanced`.

    `optimal`: proved within `gap_limit`; `feasible`: every territory in band, optimality not proved (see `gap`);
    `infeasible`: proved that no assignment meets the rules (`problems` says why; the assignment is the closest
    found); `unbalanced`: no in-band assignment was found in the time (the assignment is the best effort).
    """

    solver: str
    status: str
    objective_kind: str
    assignment: dict[str, str]
    moves: list[Move]
    totals: list[TerritoryTotals]
    objective: Decimal
    bound: Decimal | None
    gap: float | None
    seconds: float
    solver_status: str
    problems: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    candidates: int = 0
    greedy_objective: Decimal | None = None

    @property
    def in_band_count(self) -> int:
        """How many territories meet every balance rule and their capacity."""
        return sum(1 for t in self.totals if t.balanced)

    @property
    def all_in_band(self) -> bool:
        return self.in_band_count == len(self.totals)


# ---------------------------------------------------------------------------------------------------------------
# Preparation: candidates, scaled integers, bands


@dataclass
class _Problem:
    """The instance in solver units: indices, integer measures, integer bands, costs per candidate."""

    accounts: list[Account]
    territories: list[Territory]
    measures: tuple[str, ...]
    objective: str
    cand: list[list[int]]  # candidate territory indices per account
    cost: list[list[float]]  # cost per candidate, in report units (moves, potential, distance)
    icost: list[list[int]]  # integer cost per candidate (CP-SAT)
    icost_scale: int
    values: list[list[int]]  # per account, per measure: scaled integer
    scales: list[int]  # per measure: 10**places
    lo: list[int]
    hi: list[int]
    mean: list[float]
    cap: list[int | None]  # per territory, scaled workload units
    workload: list[int]  # per account, scaled workload units (capacity rows)
    workload_scale: int
    current: list[int]  # territory index or -1
    problems: list[str]


def _places(values: Iterable[Decimal]) -> int:
    """The most decimal places among `values` (0 for integers)."""
    most = 0
    for value in values:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            most = max(most, -exponent)
    return most


def _scaled(value: Decimal, scale: int) -> int:
    scaled = Fraction(value) * scale
    if scaled.denominator != 1:
        raise InvalidInput(f"{value} has more decimal places than its measure allows")
    return int(scaled)


def _measure(account: Account, measure: str) -> Decimal:
    if measure == "potential":
        return account.potential
    if measure == "workload":
        return account.workload
    return Decimal(1)


def validate(accounts: Sequence[Account], territories: Sequence[Territory], options: DesignOptions) -> None:
    """Refuse what cannot be designed: duplicate ids, unknown territories, bad options (InvalidInput)."""
    if not territories:
        raise InvalidInput("no territories given")
    if options.solver not in SOLVERS:
        raise InvalidInput(f"solver {options.solver!r}: choose one of {', '.join(SOLVERS)}")
    needed = {"highs": "highspy", "cpsat": "ortools"}.get(options.solver)
    if needed is not None and importlib.util.find_spec(needed) is None:
        raise InvalidInput(f"solver {options.solver} needs {needed}: pip install 'openspm[planning]'")
    for measure in options.balance:
        if measure not in MEASURES:
            raise InvalidInput(f"balance measure {measure!r}: choose among {', '.join(MEASURES)}")
    if options.objective is not None and options.objective not in OBJECTIVES:
        raise InvalidInput(f"objective {options.objective!r}: choose one of {', '.join(OBJECTIVES)}")
    if options.distance_weight not in DISTANCE_WEIGHTS:
        raise InvalidInput(f"distance weight {options.distance_weight!r}: choose one of {', '.join(DISTANCE_WEIGHTS)}")
    if not Decimal(0) <= options.tolerance < Decimal(1):
        raise InvalidInput(f"tolerance {options.tolerance}: give a fraction from 0 to below 1 (0.05 = ±5%)")
    if options.time_limit <= 0:
        raise InvalidInput("time limit must be positive")
    if options.nearest is not None and options.nearest < 1:
        raise InvalidInput("nearest must be at least 1")
    ids = {t.id for t in territories}
    if len(ids) != len(territories):
        raise InvalidInput("a territory id appears twice")
    seen: set[str] = set()
    for account in accounts:
        if account.id in seen:
            raise InvalidInput(f"account {account.id} appears twice")
        seen.add(account.id)
        for name, value in (("potential", account.potential), ("workload", account.workload)):
            if not value.is_finite() or value < 0:
                raise InvalidInput(f"account {account.id}: {name} {value} must be a non-negative number")
        if account.current is not None and account.current not in ids:
            raise InvalidInput(f"account {account.id}: current territory {account.current} is not a territory")
        for allowed in account.allowed or ():
            if allowed not in ids:
                raise InvalidInput(f"account {account.id}: allowed territory {allowed} is not a territory")
    for territory in territories:
        if territory.capacity is not None and (not territory.capacity.is_finite() or territory.capacity < 0):
            raise InvalidInput(f"territory {territory.id}: capacity {territory.capacity} must be non-negative")


def candidates(
    accounts: Sequence[Account], territories: Sequence[Territory], options: DesignOptions
) -> tuple[list[list[int]], list[str]]:
    """Each account's candidate territories (indices, nearest first) and a problem line for each that has none.

    A locked account: its current territory only. An explicit allowed set: exactly that set. Otherwise the
    territories within `radius`, cut to the `nearest` k; the current territory is always kept.
    """
    index = {t.id: n for n, t in enumerate(territories)}
    result: list[list[int]] = []
    problems: list[str] = []
    for account in accounts:
        by_distance = sorted(
            range(len(territories)),
            key=lambda t: (math.hypot(account.x - territories[t].x, account.y - territories[t].y), t),
        )
        current = index[account.current] if account.current is not None else -1
        if account.locked:
            chosen = [current] if current >= 0 else []
            if current < 0:
                problems.append(f"account {account.id} is locked but has no current territory")
            elif account.allowed is not None and account.current not in account.allowed:
                chosen = []
                problems.append(f"account {account.id} is locked in {account.current}, which it is not allowed in")
        elif account.allowed is not None:
            chosen = [t for t in by_distance if territories[t].id in account.allowed]
            if not chosen:
                problems.append(f"account {account.id} has no allowed territory (its allowed set is empty)")
        else:
            chosen = by_distance
            if options.radius is not None:
                radius = options.radius
                chosen = [
                    t
                    for t in chosen
                    if math.hypot(account.x - territories[t].x, account.y - territories[t].y) <= radius
                ]
            if options.nearest is not None:
                chosen = chosen[: options.nearest]
            if current >= 0 and current not in chosen:
                chosen.append(current)
            if not chosen:
                problems.append(
                    f"account {account.id} has no allowed territory: no territory centre within {options.radius}"
                )
        result.append(chosen)
    return result, problems


def _objective_kind(accounts: Sequence[Account], options: DesignOptions) -> str:
    if options.objective is not None:
        return options.objective
    return "moves" if any(a.current is not None for a in accounts) else "distance"


def prepare(accounts: Sequence[Account], territories: Sequence[Territory], options: DesignOptions) -> _Problem:
    """Validate and turn the instance into solver units (integers, exact bands rounded inward)."""
    validate(accounts, territories, options)
    cand, problems = candidates(accounts, territories, options)
    objective = _objective_kind(accounts, options)
    index = {t.id: n for n, t in enumerate(territories)}
    count = len(territories)
    measures = tuple(dict.fromkeys(options.balance))
    scales = [10 ** _places(_measure(a, m) for a in accounts) for m in measures]
    values = [[_scaled(_measure(a, m), s) for m, s in zip(measures, scales, strict=True)] for a in accounts]
    tau = Fraction(options.tolerance)
    lo: list[int] = []
    hi: list[int] = []
    mean: list[float] = []
    for k in range(len(measures)):
        total = sum(v[k] for v in values)
        lo.append(math.ceil((1 - tau) * total / count))
        hi.append(math.floor((1 + tau) * total / count))
        mean.append(max(total / count, 1e-9))
        if lo[-1] > hi[-1]:
            problems.append(
                f"the ±{options.tolerance} band of {measures[k]} holds no attainable total "
                f"(mean {total / count / scales[k]})"
            )
    workload_scale = 10 ** _places([*(a.workload for a in accounts), *(t.capacity or Decimal(0) for t in territories)])
    workload = [_scaled(a.workload, workload_scale) for a in accounts]
    cap = [None if t.capacity is None else math.floor(Fraction(t.capacity) * workload_scale) for t in territories]
    current = [index[a.current] if a.current is not None else -1 for a in accounts]
    cost: list[list[float]] = []
    icost: list[list[int]] = []
    icost_scale = 1
    if objective == "moved_potential":
        icost_scale = 10 ** _places(a.potential for a in accounts)
    elif objective == "distance":
        icost_scale = CPSAT_DISTANCE_SCALE
    for i, account in enumerate(accounts):
        row: list[float] = []
        irow: list[int] = []
        for t in cand[i]:
            if objective == "distance":
                weight = float(_measure(account, options.distance_weight))
                d = weight * math.hypot(account.x - territories[t].x, account.y - territories[t].y)
                row.append(d)
                irow.append(math.floor(d * icost_scale))
            else:
                moved = current[i] >= 0 and t != current[i]
                unit = account.potential if objective == "moved_potential" else Decimal(1)
                row.append(float(unit) if moved else 0.0)
                irow.append(_scaled(unit, icost_scale) if moved else 0)
        cost.append(row)
        icost.append(irow)
    problems.extend(_reach_problems(territories, measures, cand, values, lo, hi, scales))
    return _Problem(
        accounts=list(accounts),
        territories=list(territories),
        measures=measures,
        objective=objective,
        cand=cand,
        cost=cost,
        icost=icost,
        icost_scale=icost_scale,
        values=values,
        scales=scales,
        lo=lo,
        hi=hi,
        mean=mean,
        cap=cap,
        workload=workload,
        workload_scale=workload_scale,
        current=current,
        problems=problems,
    )


def _reach_problems(
    territories: Sequence[Territory],
    measures: Sequence[str],
    cand: Sequence[Sequence[int]],
    values: Sequence[Sequence[int]],
    lo: Sequence[int],
    hi: Sequence[int],
    scales: Sequence[int],
) -> list[str]:
    """Territories that cannot be balanced whatever the solver does.

    Its reachable accounts (those with it as a candidate) total less than the band's lower edge, or the accounts
    that can go nowhere else (a single candidate) already total more than its upper edge.
    """
    count = len(territories)
    reach = [[0] * len(measures) for _ in range(count)]
    forced = [[0] * len(measures) for _ in range(count)]
    for i, options in enumerate(cand):
        for t in options:
            for k in range(len(measures)):
                reach[t][k] += values[i][k]
                if len(options) == 1:
                    forced[t][k] += values[i][k]
    problems: list[str] = []
    for t in range(count):
        for k, measure in enumerate(measures):
            unit = scales[k]
            if reach[t][k] < lo[k]:
                problems.append(
                    f"territory {territories[t].id} cannot be balanced: the accounts allowed in it total "
                    f"{_text(reach[t][k], unit)} of {measure}, below the band's lower edge {_text(lo[k], unit)}"
                )
            elif forced[t][k] > hi[k]:
                problems.append(
                    f"territory {territories[t].id} cannot be balanced: its locked or single-choice accounts "
                    f"already total {_text(forced[t][k], unit)} of {measure}, above the band's upper edge "
                    f"{_text(hi[k], unit)}"
                )
    return problems


def _text(value: int, scale: int) -> str:
    return _plain(Decimal(value) / Decimal(scale))


def _plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 93.600000 → 93.6, 135.000000 → 135."""
    return format(value.normalize(), "f")


# ---------------------------------------------------------------------------------------------------------------
# Greedy: a start, then repair moves from the most out-of-band territory, then cost-improving moves that keep it


def _violation(p: _Problem, totals: Sequence[int], load: int, t: int) -> float:
    """How far territory t is from its bands and capacity, each measure in units of its mean."""
    v = 0.0
    for k in range(len(p.measures)):
        s = totals[k]
        if s < p.lo[k]:
            v += (p.lo[k] - s) / p.mean[k]
        elif s > p.hi[k]:
            v += (s - p.hi[k]) / p.mean[k]
    cap = p.cap[t]
    if cap is not None and load > cap:
        v += (load - cap) / max(sum(p.workload) / len(p.territories), 1e-9)
    return v


def greedy(p: _Problem, deadline: float | None = None) -> list[int]:
    """A heuristic assignment: territory index per account (-1 for an account without candidates).

    Start: the current territory when it is a candidate, else the cheapest candidate that keeps every measure
    under its upper edge (largest accounts first). Repair: repeatedly the single move that most reduces the
    out-of-band amount of the worst territory. Polish: moves that lower the cost without leaving a band.
    """
    n, count, m = len(p.accounts), len(p.territories), len(p.measures)
    assign = [-1] * n
    totals = [[0] * m for _ in range(count)]
    load = [0] * count
    members: list[set[int]] = [set() for _ in range(count)]
    reachable: list[list[tuple[int, int]]] = [[] for _ in range(count)]  # (account, candidate position)
    for i in range(n):
        for j, t in enumerate(p.cand[i]):
            reachable[t].append((i, j))

    viol = [0.0] * count  # each territory's current violation, kept by place()

    def place(i: int, t: int) -> None:
        old = assign[i]
        if old >= 0:
            members[old].discard(i)
            load[old] -= p.workload[i]
            for k in range(m):
                totals[old][k] -= p.values[i][k]
        assign[i] = t
        members[t].add(i)
        load[t] += p.workload[i]
        for k in range(m):
            totals[t][k] += p.values[i][k]
        viol[t] = _violation(p, totals[t], load[t], t)
        if old >= 0:
            viol[old] = _violation(p, totals[old], load[old], old)

    def size(i: int) -> float:
        return sum(p.values[i][k] / p.mean[k] for k in range(m))

    later: list[int] = []
    for i in range(n):
        if not p.cand[i]:
            continue
        if p.current[i] >= 0 and p.current[i] in p.cand[i]:
            place(i, p.current[i])
        else:
            later.append(i)
    for i in sorted(later, key=size, reverse=True):
        order = sorted(range(len(p.cand[i])), key=lambda j: (p.cost[i][j], j))
        fits = [
            j
            for j in order
            if p.objective == "distance"  # the nearest: repairs then move the cheapest accounts per unit of balance
            or all(totals[p.cand[i][j]][k] + p.values[i][k] <= p.hi[k] for k in range(m))
        ]
        if fits:
            place(i, p.cand[i][fits[0]])
        else:
            place(i, min(p.cand[i], key=lambda t: sum(totals[t][k] / p.mean[k] for k in range(m))))

    cost_of = [dict(zip(p.cand[i], p.cost[i], strict=True)) for i in range(n)]

    def delta(i: int, target: int) -> float:
        source = assign[i]
        before = viol[source] + viol[target]
        s_after = [totals[source][k] - p.values[i][k] for k in range(m)]
        t_after = [totals[target][k] + p.values[i][k] for k in range(m)]
        after = _violation(p, s_after, load[source] - p.workload[i], source) + _violation(
            p, t_after, load[target] + p.workload[i], target
        )
        return after - before

    def best_swap(worst: int) -> tuple[int, int] | None:
        """The exchange of an account of `worst` with one of a neighbour that most reduces the violation."""
        best_key: tuple[float, float] | None = None
        best_pair: tuple[int, int] | None = None
        for i in members[worst]:
            for u in p.cand[i]:
                if u == worst:
                    continue
                before = viol[worst] + viol[u]
                for j in members[u]:
                    if worst not in cost_of[j]:
                        continue
                    w_after = [totals[worst][k] - p.values[i][k] + p.values[j][k] for k in range(m)]
                    u_after = [totals[u][k] + p.values[i][k] - p.values[j][k] for k in range(m)]
                    shift = p.workload[j] - p.workload[i]
                    d = (
                        _violation(p, w_after, load[worst] + shift, worst)
                        + _violation(p, u_after, load[u] - shift, u)
                        - before
                    )
                    if d < -1e-12:
                        key = (d, cost_of[i][u] + cost_of[j][worst] - cost_of[i][worst] - cost_of[j][u])
                        if best_key is None or key < best_key:
                            best_key, best_pair = key, (i, j)
        return best_pair

    stuck: set[int] = set()
    for _ in range(20 * n + 100):
        if deadline is not None and time.monotonic() > deadline:
            break
        worst, worst_v = -1, 0.0
        for t in range(count):
            if t in stuck:
                continue
            v = viol[t]
            if v > worst_v + 1e-12:
                worst, worst_v = t, v
        if worst < 0:
            break
        best: tuple[float, float, int, int] | None = None
        by_ratio = p.objective == "distance"
        moves = [(i, t) for i in members[worst] for t in p.cand[i] if t != worst]
        moves += [(i, worst) for i, _ in reachable[worst] if assign[i] != worst and assign[i] >= 0]
        for i, t in moves:
            d = delta(i, t)
            if d < -1e-12:
                extra = cost_of[i][t] - cost_of[i][assign[i]]
                # distance: the cheapest repair per unit of violation removed; disruption: the largest repair
                key = (extra / -d if by_ratio else d, extra, i, t)
                if best is None or key < best:
                    best = key
        if best is None:
            swap = best_swap(worst)
            if swap is None:
                stuck.add(worst)
                continue
            place(swap[0], assign[swap[1]])
            place(swap[1], worst)
            stuck.clear()
            continue
        stuck.clear()
        place(best[2], best[3])

    # Polish: lower the cost while no territory gets further from its band.
    improved = True
    rounds = 0
    while improved and rounds < 5:
        improved = False
        rounds += 1
        for i in range(n):
            if deadline is not None and time.monotonic() > deadline:
                return assign
            if assign[i] < 0 or len(p.cand[i]) < 2:
                continue
            here = cost_of[i][assign[i]]
            for t in sorted(p.cand[i], key=lambda t: cost_of[i][t]):
                if cost_of[i][t] >= here - 1e-12:
                    break
                if delta(i, t) <= 1e-12:
                    place(i, t)
                    improved = True
                    break
    return assign


def _greedy_bound(p: _Problem) -> float:
    """A valid lower bound for any assignment: each account at its cheapest candidate."""
    return sum(min(row) for row in p.cost if row)


# ---------------------------------------------------------------------------------------------------------------
# Exact solvers


@dataclass
class _Solved:
    assign: list[int] | None
    bound: float | None
    status: str  # optimal | feasible | infeasible | unknown
    solver_status: str


def _columns(p: _Problem) -> list[tuple[int, int]]:
    return [(i, t) for i in range(len(p.accounts)) for t in p.cand[i]]


def _solve_highs(p: _Problem, options: DesignOptions, start: list[int] | None, elastic: bool = False) -> _Solved:
    """HiGHS MIP over the candidate columns; `elastic` adds slack to the bands (minimize the out-of-band amount)."""
    import highspy
    import numpy as np

    n, count, m = len(p.accounts), len(p.territories), len(p.measures)
    cols = _columns(p)
    cap_rows = {t: n + count * m + r for r, t in enumerate(t for t in range(count) if p.cap[t] is not None)}
    num_rows = n + count * m + len(cap_rows)
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    costs: list[float] = []
    for i, row in enumerate(p.cand):
        for j, t in enumerate(row):
            starts.append(len(index))
            index.append(i)
            value.append(1.0)
            for k in range(m):
                if p.values[i][k]:
                    index.append(n + t * m + k)
                    value.append(float(p.values[i][k]))
            if t in cap_rows and p.workload[i]:
                index.append(cap_rows[t])
                value.append(float(p.workload[i]))
            costs.append(0.0 if elastic else p.cost[i][j])
    lower = [1.0] * n
    upper = [1.0] * n
    for _t in range(count):
        for k in range(m):
            lower.append(float(p.lo[k]))
            upper.append(float(p.hi[k]))
    for t in cap_rows:
        lower.append(-highspy.kHighsInf)
        upper.append(float(p.cap[t] or 0))
    num_cols = len(cols)
    col_lower = [0.0] * num_cols
    col_upper = [1.0] * num_cols
    integrality = [1] * num_cols
    if elastic:  # one under and one over slack per band row, costed in units of the mean
        for r in range(n, n + count * m):
            k = (r - n) % m
            for sign in (1.0, -1.0):
                starts.append(len(index))
                index.append(r)
                value.append(sign)
                costs.append(1.0 / p.mean[k])
                col_lower.append(0.0)
                col_upper.append(highspy.kHighsInf)
                integrality.append(0)
        for r in cap_rows.values():
            starts.append(len(index))
            index.append(r)
            value.append(-1.0)
            costs.append(1.0 / max(sum(p.workload) / count, 1e-9))
            col_lower.append(0.0)
            col_upper.append(highspy.kHighsInf)
            integrality.append(0)
    total_cols = len(costs)
    starts.append(len(index))
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", float(options.gap_limit))
    h.setOptionValue("threads", int(options.threads))
    h.setOptionValue("random_seed", int(options.seed))
    h.passModel(
        total_cols,
        num_rows,
        len(index),
        1,  # column-wise
        1,  # minimize
        0.0,
        np.array(costs, dtype=np.float64),
        np.array(col_lower, dtype=np.float64),
        np.array(col_upper, dtype=np.float64),
        np.array(lower, dtype=np.float64),
        np.array(upper, dtype=np.float64),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value, dtype=np.float64),
        np.array(integrality, dtype=np.int32),
    )
    if start is not None and not elastic:
        solution = highspy.HighsSolution()
        solution.col_value = np.array([1.0 if start[i] == t else 0.0 for i, t in cols], dtype=np.float64)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    solver_status = h.modelStatusToString(model_status)
    has_solution = info.primal_solution_status == 2
    assign: list[int] | None = None
    if has_solution:
        col_value = h.getSolution().col_value
        assign = [-1] * n
        best = [-1.0] * n
        for c, (i, t) in enumerate(cols):
            if col_value[c] > best[i]:
                best[i] = col_value[c]
                assign[i] = t
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "unknown"
    return _Solved(assign, bound, status, solver_status)


def _solve_cpsat(p: _Problem, options: DesignOptions, start: list[int] | None) -> _Solved:
    """CP-SAT in a child process.

    The ortools and highspy wheels each ship their own `libhighs.so.1`, of different versions; whichever loads
    second in a process fails with an undefined symbol. CP-SAT therefore always runs in a spawned child, so that
    HiGHS stays usable in this process.
    """
    global _CPSAT_POOL
    from concurrent.futures.process import BrokenProcessPool

    if _CPSAT_POOL is None:
        _CPSAT_POOL = _cpsat_pool()
    try:
        solved: _Solved = _CPSAT_POOL.submit(_solve_cpsat_here, p, options, start).result()
    except BrokenProcessPool:  # the child died (out of memory, killed): one fresh try
        _CPSAT_POOL = _cpsat_pool()
        solved = _CPSAT_POOL.submit(_solve_cpsat_here, p, options, start).result()
    return solved


_CPSAT_POOL: Any = None


def _cpsat_pool() -> Any:
    """One spawned child kept for the process's life (starting one costs about a second)."""
    import atexit
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    atexit.register(pool.shutdown)
    return pool


def _solve_cpsat_here(p: _Problem, options: DesignOptions, start: list[int] | None) -> _Solved:
    """OR-Tools CP-SAT over the candidate columns, with integer costs (floored distances: the bound stays valid)."""
    from ortools.sat.python import cp_model

    n, count, m = len(p.accounts), len(p.territories), len(p.measures)
    model = cp_model.CpModel()
    cols = _columns(p)
    x = [model.new_bool_var(f"x{c}") for c in range(len(cols))]
    by_account: list[list[int]] = [[] for _ in range(n)]
    by_territory: list[list[int]] = [[] for _ in range(count)]
    for c, (i, t) in enumerate(cols):
        by_account[i].append(c)
        by_territory[t].append(c)
    for i in range(n):
        model.add_exactly_one(x[c] for c in by_account[i])
    for t in range(count):
        mine = by_territory[t]
        for k in range(m):
            expr = cp_model.LinearExpr.weighted_sum([x[c] for c in mine], [p.values[cols[c][0]][k] for c in mine])
            model.add_linear_constraint(expr, p.lo[k], p.hi[k])
        cap = p.cap[t]
        if cap is not None:
            expr = cp_model.LinearExpr.weighted_sum([x[c] for c in mine], [p.workload[cols[c][0]] for c in mine])
            model.add(expr <= cap)
    icost = [p.icost[i][p.cand[i].index(t)] for i, t in cols]
    model.minimize(cp_model.LinearExpr.weighted_sum(x, icost))
    if start is not None:
        for c, (i, t) in enumerate(cols):
            model.add_hint(x[c], start[i] == t)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(options.time_limit)
    solver.parameters.num_workers = max(1, int(options.threads))
    solver.parameters.random_seed = int(options.seed)
    solver.parameters.relative_gap_limit = float(options.gap_limit)
    code = solver.solve(model)
    name = solver.status_name(code)
    assign: list[int] | None = None
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assign = [-1] * n
        for c, (i, t) in enumerate(cols):
            if solver.boolean_value(x[c]):
                assign[i] = t
    bound = solver.best_objective_bound / p.icost_scale if assign is not None or code == cp_model.OPTIMAL else None
    if code == cp_model.OPTIMAL:
        status = "optimal"
    elif code == cp_model.INFEASIBLE:
        status = "infeasible"
    else:
        status = "feasible" if assign is not None else "unknown"
    return _Solved(assign, bound, status, name)


# ---------------------------------------------------------------------------------------------------------------
# Report


def _objective_value(p: _Problem, assign: Sequence[int], options: DesignOptions) -> Decimal:
    """The objective of an assignment, exact for moves and moved potential (Decimal), to 6 places for distance."""
    total = Decimal(0)
    for i, t in enumerate(assign):
        if t < 0:
            continue
        account = p.accounts[i]
        if p.objective == "distance":
            d = math.hypot(account.x - p.territories[t].x, account.y - p.territories[t].y)
            total += Decimal(repr(float(_measure(account, options.distance_weight)) * d))
        elif p.current[i] >= 0 and t != p.current[i]:
            total += account.potential if p.objective == "moved_potential" else Decimal(1)
    if p.objective == "distance":
        total = total.quantize(Decimal("0.000001"))
    return total


def band_totals(
    accounts: Sequence[Account],
    territories: Sequence[Territory],
    assignment: Mapping[str, str],
    balance: Sequence[str],
    tolerance: Decimal,
) -> list[TerritoryTotals]:
    """Each territory's totals and band per measure, decided exactly in Decimal.

    In band means count × total within (1 ± τ) × the measure's total over all accounts (no division, no rounding);
    the lower and upper edges shown are rounded to 6 places.
    """
    count = len(territories)
    with localcontext() as ctx:
        ctx.prec = 80
        grand = {m: sum((_measure(a, m) for a in accounts), Decimal(0)) for m in balance}
        sums = {t.id: dict.fromkeys(balance, Decimal(0)) for t in territories}
        loads = {t.id: Decimal(0) for t in territories}
        counts = dict.fromkeys(sums, 0)
        for account in accounts:
            territory = assignment.get(account.id)
            if territory is None or territory not in sums:
                continue
            counts[territory] += 1
            loads[territory] += account.workload
            for m in balance:
                sums[territory][m] += _measure(account, m)
        result = []
        for t in territories:
            lower = {m: ((1 - tolerance) * grand[m] / count).quantize(Decimal("0.000001")) for m in balance}
            upper = {m: ((1 + tolerance) * grand[m] / count).quantize(Decimal("0.000001")) for m in balance}
            in_band = {
                m: (1 - tolerance) * grand[m] <= count * sums[t.id][m] <= (1 + tolerance) * grand[m] for m in balance
            }
            result.append(
                TerritoryTotals(
                    territory=t.id,
                    accounts=counts[t.id],
                    totals=sums[t.id],
                    lower=lower,
                    upper=upper,
                    in_band=in_band,
                    capacity=t.capacity,
                    within_capacity=t.capacity is None or loads[t.id] <= t.capacity,
                )
            )
    return result


def _explain(p: _Problem, options: DesignOptions, start: list[int]) -> tuple[list[str], list[int]]:
    """Why no in-band assignment exists: a relaxed HiGHS solve (slack on the bands) names the territories it
    cannot bring into band, with the closest assignment it found."""
    relaxed = dataclasses.replace(options, time_limit=min(options.time_limit, 30.0))
    solved = _solve_highs(p, relaxed, None, elastic=True)
    assign = solved.assign or start
    totals = band_totals(
        p.accounts,
        p.territories,
        {p.accounts[i].id: p.territories[t].id for i, t in enumerate(assign) if t >= 0},
        p.measures,
        options.tolerance,
    )
    lines = []
    for row in totals:
        for measure, ok in row.in_band.items():
            if not ok:
                lines.append(
                    f"territory {row.territory} cannot be balanced on {measure}: the closest assignment gives "
                    f"{row.totals[measure]}, the band is [{_plain(row.lower[measure])}, {_plain(row.upper[measure])}]"
                )
        if not row.within_capacity:
            lines.append(f"territory {row.territory} cannot stay within its capacity {row.capacity}")
    return lines, assign


def design(
    accounts: Sequence[Account],
    territories: Sequence[Territory],
    options: DesignOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> DesignResult:
    """Design (or rebalance) territories.

    Input: accounts, territories, options. Output: a DesignResult with the assignment, moves, per-territory totals
    and bands (checked in Decimal), objective, bound, gap, status, time and, when infeasible, the reasons.
    """
    options = options or DesignOptions()
    began = time.monotonic()
    deadline = began + options.time_limit
    p = prepare(accounts, territories, options)
    say = progress or (lambda _text: None)
    say("greedy")
    share = 1.0 if options.solver == "greedy" else 0.5  # the rest of the time limit is the exact solver's
    start = greedy(p, began + share * options.time_limit)
    greedy_objective = _objective_value(p, start, options)
    status, solver_status, bound, assign = "", "", None, start
    problems = list(p.problems)
    if problems:
        status, solver_status = "infeasible", "presolve checks"
        bound = None
    elif options.solver == "greedy":
        solver_status = "heuristic"
        bound = _greedy_bound(p)
    else:
        remaining = max(0.1, deadline - time.monotonic())
        timed = dataclasses.replace(options, time_limit=remaining)
        say(options.solver)
        solved = (_solve_highs if options.solver == "highs" else _solve_cpsat)(p, timed, start)
        solver_status = solved.solver_status
        bound = solved.bound
        if solved.assign is not None:
            assign = solved.assign
        if solved.status == "infeasible":
            status = "infeasible"
            say("explain")
            problems, assign = _explain(p, options, start)
            if not problems:
                problems = ["the solver proved that no assignment meets every band, capacity and allowed set"]
        elif solved.status == "optimal":
            status = "optimal"
        elif solved.assign is None:
            solver_status += " (no solution in the time limit: the greedy answer is shown)"
    assignment = {p.accounts[i].id: p.territories[t].id for i, t in enumerate(assign) if t >= 0}
    totals = band_totals(p.accounts, p.territories, assignment, p.measures, options.tolerance)
    balanced = all(row.balanced for row in totals)
    if not status:
        status = "feasible" if balanced else "unbalanced"
    elif status == "optimal" and not balanced:  # solver tolerance let a band slip: never claim it
        status = "unbalanced"
    objective = _objective_value(p, assign, options)
    gap: float | None = None
    bound_decimal: Decimal | None = None
    unit = 1 if p.objective == "moves" else p.icost_scale
    if bound is not None and p.objective != "distance":  # an integral objective (in its units): round the bound up
        bound = math.ceil(bound * unit - 1e-6) / unit
    if bound is not None and status in ("optimal", "feasible"):
        bound = min(bound, float(objective))
        bound_decimal = (
            Decimal(repr(round(bound, 6)))
            if p.objective == "distance"
            else Decimal(round(bound * unit)) / Decimal(unit)
        )
        gap = 0.0 if float(objective) <= 1e-9 else max(0.0, (float(objective) - bound) / abs(float(objective)))
        if status == "feasible" and gap <= options.gap_limit and options.solver != "greedy":
            status = "optimal"
    if status == "unbalanced" and not problems:
        problems = [
            f"territory {row.territory} is out of band: "
            + (", ".join(m for m, ok in row.in_band.items() if not ok) or "over capacity")
            for row in totals
            if not row.balanced
        ]
    moves = [
        Move(a.id, a.current, assignment[a.id], a.potential)
        for a in p.accounts
        if a.id in assignment and assignment[a.id] != a.current
    ]
    return DesignResult(
        solver=options.solver,
        status=status,
        objective_kind=p.objective,
        assignment=assignment,
        moves=moves,
        totals=totals,
        objective=objective,
        bound=bound_decimal,
        gap=gap,
        seconds=time.monotonic() - began,
        solver_status=solver_status,
        problems=problems,
        unassigned=[a.id for a in p.accounts if a.id not in assignment],
        candidates=sum(len(c) for c in p.cand),
        greedy_objective=greedy_objective,
    )


# ---------------------------------------------------------------------------------------------------------------
# Coverage


@dataclass(frozen=True)
class PayeeLoad:
    """A payee's workload across their territories (a shared territory's workload split evenly)."""

    payee: str
    territories: tuple[str, ...]
    workload: Decimal
    capacity: Decimal | None

    @property
    def overloaded(self) -> bool:
        return self.capacity is not None and self.workload > self.capacity


@dataclass(frozen=True)
class CoverageGaps:
    """Accounts nobody owns, territories with no payee, payees with more workload than they can carry."""

    accounts_without_owner: list[str]
    territories_without_payee: list[str]
    overloaded_payees: list[PayeeLoad]
    loads: list[PayeeLoad]


def coverage_gaps(
    accounts: Sequence[Account],
    assignment: Mapping[str, str | None],
    territories: Iterable[str],
    payee_territories: Mapping[str, Iterable[str]],
    capacity: Mapping[str, Decimal] | Decimal | None = None,
) -> CoverageGaps:
    """Where coverage breaks.

    Input: the accounts (their workload), an assignment account → territory (None or missing: none), the
    territory ids, which territories each payee covers, and the workload each payee can carry (one figure for
    all, a figure per payee, or None for no limit). Output: accounts without an owner (no territory, or a
    territory with no payee), territories without a payee, and every payee's load with the overloaded ones.
    """
    territory_ids = list(dict.fromkeys(territories))
    staffed: dict[str, list[str]] = {t: [] for t in territory_ids}
    for payee, covered in payee_territories.items():
        for territory in covered:
            staffed.setdefault(territory, []).append(payee)
    load = dict.fromkeys(staffed, Decimal(0))
    orphans: list[str] = []
    for account in accounts:
        owner = assignment.get(account.id)
        if owner is None or not staffed.get(owner):
            orphans.append(account.id)
        if owner is not None:
            load[owner] = load.get(owner, Decimal(0)) + account.workload
    loads = []
    for payee, covered in payee_territories.items():
        mine = tuple(dict.fromkeys(covered))
        total = sum((load.get(t, Decimal(0)) / len(staffed[t]) for t in mine), Decimal(0))
        limit = capacity.get(payee) if isinstance(capacity, Mapping) else capacity
        loads.append(PayeeLoad(payee, mine, total, limit))
    return CoverageGaps(
        accounts_without_owner=orphans,
        territories_without_payee=[t for t in territory_ids if not staffed.get(t)],
        overloaded_payees=[row for row in loads if row.overloaded],
        loads=loads,
    )


def result_rows(result: DesignResult, accounts: Sequence[Account]) -> list[dict[str, Any]]:
    """The proposal as CSV rows: account, territory, current, moved, potential, workload."""
    rows = []
    for account in accounts:
        target = result.assignment.get(account.id, "")
        rows.append(
            {
                "account": account.id,
                "territory": target,
                "current": account.current or "",
                "moved": "yes" if target and target != account.current else "no",
                "potential": str(account.potential),
                "workload": str(account.workload),
            }
        )
    return rows
