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

Solvers: `greedy` (`territory_greedy.py`: a start and a repair pass, milliseconds to seconds), `highs` (HiGHS MIP
through `highspy`, warm-started from the greedy answer) and `cpsat` (OR-Tools CP-SAT, hinted with the greedy
answer), both in `territory_mip.py`; coverage gaps are in `coverage.py`. The result
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
class Problem:
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


def prepare(accounts: Sequence[Account], territories: Sequence[Territory], options: DesignOptions) -> Problem:
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
    return Problem(
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
# Report


def _objective_value(p: Problem, assign: Sequence[int], options: DesignOptions) -> Decimal:
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


def _explain(p: Problem, options: DesignOptions, start: list[int]) -> tuple[list[str], list[int]]:
    """Why no in-band assignment exists: a relaxed HiGHS solve (slack on the bands) names the territories it
    cannot bring into band, with the closest assignment it found."""
    from openspm.planning.territory_mip import solve_highs

    relaxed = dataclasses.replace(options, time_limit=min(options.time_limit, 30.0))
    solved = solve_highs(p, relaxed, None, elastic=True)
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
    from openspm.planning.territory_greedy import greedy, greedy_bound
    from openspm.planning.territory_mip import solve_cpsat, solve_highs

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
        bound = greedy_bound(p)
    else:
        remaining = max(0.1, deadline - time.monotonic())
        timed = dataclasses.replace(options, time_limit=remaining)
        say(options.solver)
        solved = (solve_highs if options.solver == "highs" else solve_cpsat)(p, timed, start)
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
