"""Territory design: exact optima against brute force, disruption, locks, allowed sets, infeasibility, gaps."""

from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openspm.core.errors import InvalidInput
from openspm.planning.coverage import coverage_gaps
from openspm.planning.generate import instance
from openspm.planning.territory import (
    Account,
    DesignOptions,
    Territory,
    band_totals,
    design,
)

pytest.importorskip("highspy")
pytest.importorskip("ortools")

D = Decimal
EXACT = ("highs", "cpsat")


def _allowed(account: Account, territories: list[Territory]) -> list[str]:
    if account.locked:
        return [account.current] if account.current else []
    if account.allowed is not None:
        return [t.id for t in territories if t.id in account.allowed]
    return [t.id for t in territories]


def _balanced(accounts: list[Account], territories: list[Territory], chosen: dict[str, str], tau: Decimal) -> bool:
    """In band for potential and workload, decided with a division at 80 digits (not the solver's own check)."""
    with localcontext() as ctx:
        ctx.prec = 80
        for measure in ("potential", "workload"):
            mean = sum(getattr(a, measure) for a in accounts) / len(territories)
            for t in territories:
                total = sum((getattr(a, measure) for a in accounts if chosen[a.id] == t.id), D(0))
                if not (1 - tau) * mean <= total <= (1 + tau) * mean:
                    return False
        for t in territories:
            if (
                t.capacity is not None
                and sum((a.workload for a in accounts if chosen[a.id] == t.id), D(0)) > t.capacity
            ):
                return False
    return True


def _cost(accounts: list[Account], territories: list[Territory], chosen: dict[str, str], objective: str) -> Decimal:
    if objective == "moves":
        return D(sum(1 for a in accounts if a.current is not None and chosen[a.id] != a.current))
    if objective == "moved_potential":
        return sum((a.potential for a in accounts if a.current is not None and chosen[a.id] != a.current), D(0))
    where = {t.id: t for t in territories}
    return D(
        repr(
            sum(
                float(a.workload) * math.hypot(a.x - where[chosen[a.id]].x, a.y - where[chosen[a.id]].y)
                for a in accounts
            )
        )
    )


def brute_force(accounts: list[Account], territories: list[Territory], tau: Decimal, objective: str) -> Decimal | None:
    """The optimum by enumerating every assignment (None: none is in band)."""
    best: Decimal | None = None
    for combo in itertools.product(*(_allowed(a, territories) for a in accounts)):
        chosen = dict(zip((a.id for a in accounts), combo, strict=True))
        if _balanced(accounts, territories, chosen, tau):
            value = _cost(accounts, territories, chosen, objective)
            best = value if best is None or value < best else best
    return best


def random_instance(seed: int, n: int, k: int, rebalance: bool) -> tuple[list[Account], list[Territory]]:
    rng = random.Random(seed)
    territories = [Territory(f"T{t}", rng.uniform(0, 100), rng.uniform(0, 100)) for t in range(k)]
    accounts = [
        Account(
            f"A{i}",
            potential=D(rng.randint(500, 5000)).scaleb(-1),
            workload=D(rng.randint(10, 40)),
            x=rng.uniform(0, 100),
            y=rng.uniform(0, 100),
            current=f"T{rng.randrange(k)}" if rebalance else None,
        )
        for i in range(n)
    ]
    return accounts, territories


def _options(solver: str, objective: str, tau: str = "0.25", **more: object) -> DesignOptions:
    return DesignOptions(tolerance=D(tau), solver=solver, objective=objective, gap_limit=0.0, time_limit=30, **more)  # type: ignore[arg-type]


# --- exact solvers reach the brute-force optimum ------------------------------------------------------------------

CASES = [
    (seed, n, k, obj)
    for seed, n, k in ((1, 7, 2), (2, 8, 3), (1, 7, 3), (1, 8, 2))
    for obj in ("moves", "moved_potential")
]


@pytest.mark.parametrize(("seed", "n", "k", "objective"), CASES)
@pytest.mark.parametrize("solver", EXACT)
def test_exact_solvers_reach_the_brute_force_optimum(seed: int, n: int, k: int, objective: str, solver: str) -> None:
    accounts, territories = random_instance(seed, n, k, rebalance=True)
    optimum = brute_force(accounts, territories, D("0.25"), objective)
    assert optimum is not None, "the case must be feasible"
    result = design(accounts, territories, _options(solver, objective))
    assert result.status == "optimal"
    assert result.objective == optimum
    assert result.bound is not None and abs(result.bound - optimum) <= D("0.000001")
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.all_in_band


@pytest.mark.parametrize("solver", EXACT)
def test_from_scratch_distance_reaches_the_brute_force_optimum(solver: str) -> None:
    accounts, territories = random_instance(4, 8, 2, rebalance=False)
    optimum = brute_force(accounts, territories, D("0.25"), "distance")
    assert optimum is not None
    result = design(accounts, territories, _options(solver, "distance"))
    assert result.objective_kind == "distance"
    assert result.status == "optimal"
    # CP-SAT works on distances floored to 1/1000 unit: equal to the optimum within that rounding
    assert float(result.objective) == pytest.approx(float(optimum), abs=0.001 * len(accounts) * 40)
    assert result.bound is not None and result.bound <= result.objective


def test_greedy_never_beats_the_optimum_and_says_so() -> None:
    for seed in range(1, 6):
        accounts, territories = random_instance(seed, 7, 3, rebalance=True)
        optimum = brute_force(accounts, territories, D("0.25"), "moves")
        result = design(accounts, territories, _options("greedy", "moves"))
        if result.status == "feasible":
            assert optimum is not None and result.objective >= optimum
            assert result.bound is not None and result.bound <= optimum
        else:
            assert result.status == "unbalanced" and result.problems


# --- rebalancing ------------------------------------------------------------------------------------------------


def worked_example() -> tuple[list[Account], list[Territory]]:
    """The module docstring's example: a has grown from 60 to 100."""
    accounts = [
        Account("a", D("100"), current="T1"),
        Account("b", D("40"), current="T1"),
        Account("c", D("50"), current="T2"),
        Account("d", D("30"), current="T2"),
        Account("e", D("20"), current="T2"),
    ]
    return accounts, [Territory("T1"), Territory("T2")]


@pytest.mark.parametrize("solver", [*EXACT, "greedy"])
def test_worked_example_swaps_b_and_e(solver: str) -> None:
    accounts, territories = worked_example()
    options = DesignOptions(balance=("potential",), tolerance=D("0.10"), objective="moved_potential", solver=solver)
    result = design(accounts, territories, options)
    assert result.status in ("optimal", "feasible")
    assert {(m.account, m.source, m.target) for m in result.moves} == {("b", "T1", "T2"), ("e", "T2", "T1")}
    assert result.objective == D("60")
    assert [row.totals["potential"] for row in result.totals] == [D("120"), D("120")]


@pytest.mark.parametrize("solver", [*EXACT, "greedy"])
def test_a_rebalance_already_in_band_changes_nothing(solver: str) -> None:
    accounts = [
        Account("a", D("60.00"), D(10), current="T1"),
        Account("b", D("40.00"), D(10), current="T1"),
        Account("c", D("50.00"), D(10), current="T2"),
        Account("d", D("50.00"), D(10), current="T2"),
    ]
    result = design(accounts, [Territory("T1"), Territory("T2")], _options(solver, "moves", "0.05"))
    assert result.moves == []
    assert result.objective == 0
    assert result.assignment == {"a": "T1", "b": "T1", "c": "T2", "d": "T2"}
    assert result.all_in_band


def test_band_edges_are_exact() -> None:
    """110.00 | 90.00 around a mean of 100.00 is exactly on the ±10% edges: in band, and nothing moves."""
    accounts = [Account("a", D("110.00"), current="T1"), Account("b", D("90.00"), current="T2")]
    territories = [Territory("T1"), Territory("T2")]
    on_edge = design(accounts, territories, DesignOptions(balance=("potential",), tolerance=D("0.10")))
    assert on_edge.status == "optimal" and on_edge.moves == [] and on_edge.all_in_band
    inside = design(accounts, territories, DesignOptions(balance=("potential",), tolerance=D("0.0999")))
    assert inside.status == "infeasible"
    assert any("T1" in line for line in inside.problems)


@pytest.mark.parametrize("solver", EXACT)
def test_disruption_minimizing_rebalance_keeps_what_need_not_change(solver: str) -> None:
    """T1 and T2 are in band; T3 grew and T4 shrank. Only c2 (20) moves: the one move that fixes both."""
    accounts = [
        Account("a1", D("50"), current="T1"),
        Account("a2", D("50"), current="T1"),
        Account("b1", D("70"), current="T2"),
        Account("b2", D("30"), current="T2"),
        Account("c1", D("75"), current="T3"),
        Account("c2", D("20"), current="T3"),
        Account("c3", D("25"), current="T3"),
        Account("d1", D("45"), current="T4"),
        Account("d2", D("35"), current="T4"),
    ]
    territories = [Territory(t) for t in ("T1", "T2", "T3", "T4")]
    options = DesignOptions(balance=("potential",), tolerance=D("0.02"), solver=solver)
    before = band_totals(accounts, territories, {a.id: a.current or "" for a in accounts}, ("potential",), D("0.02"))
    assert [row.balanced for row in before] == [True, True, False, False]
    result = design(accounts, territories, options)
    assert result.status == "optimal" and result.all_in_band
    assert [(m.account, m.target) for m in result.moves] == [("c2", "T4")]
    for account in accounts:
        if account.id != "c2":
            assert result.assignment[account.id] == account.current


@pytest.mark.parametrize("solver", [*EXACT, "greedy"])
def test_locked_accounts_never_move(solver: str) -> None:
    """Moving c2 (30) alone would fix T3 | T4; it is locked, so c3 and c4 (30 together) go instead."""
    accounts = [
        Account("c1", D("80"), current="T3"),
        Account("c2", D("30"), current="T3", locked=True),
        Account("c3", D("20"), current="T3"),
        Account("c4", D("10"), current="T3"),
        Account("d1", D("45"), current="T4"),
        Account("d2", D("15"), current="T4"),
    ]
    territories = [Territory("T3"), Territory("T4")]
    options = DesignOptions(balance=("potential",), tolerance=D("0.10"), objective="moved_potential", solver=solver)
    result = design(accounts, territories, options)
    assert result.assignment["c2"] == "T3"
    assert result.all_in_band
    if solver in EXACT:
        assert {m.account for m in result.moves} == {"c3", "c4"}
        assert result.objective == 30
    unlocked = design(
        [a if a.id != "c2" else Account("c2", D("30"), current="T3") for a in accounts], territories, options
    )
    if solver in EXACT:
        assert [m.account for m in unlocked.moves] == ["c2"]


def allowed_case(restricted: bool) -> list[Account]:
    return [
        Account("big", D("60"), current="T1", allowed=frozenset({"T1", "T3"}) if restricted else None),
        Account("s1", D("45"), current="T1"),
        Account("s2", D("45"), current="T1"),
        Account("m1", D("40"), current="T2"),
        Account("m2", D("55"), current="T3"),
        Account("m3", D("40"), current="T3"),
        Account("t", D("15"), current="T3"),
    ]


@pytest.mark.parametrize("solver", [*EXACT, "greedy"])
def test_allowed_sets_are_hard(solver: str) -> None:
    """The one-move fix sends `big` to T2; allowed only T1 and T3, it stays and s1 and t move instead."""
    territories = [Territory("T1"), Territory("T2"), Territory("T3")]
    options = DesignOptions(balance=("potential",), tolerance=D("0.10"), solver=solver)
    free = design(allowed_case(False), territories, options)
    result = design(allowed_case(True), territories, options)
    assert result.assignment["big"] in {"T1", "T3"}
    assert result.all_in_band
    if solver in EXACT:
        assert [(m.account, m.target) for m in free.moves] == [("big", "T2")]
        assert sorted((m.account, m.target) for m in result.moves) == [("s1", "T2"), ("t", "T2")]


def test_radius_and_nearest_restrict_candidates() -> None:
    """Compactness is a hard rule: a far territory is never a candidate, even when it would balance."""
    accounts = [
        Account("w1", D("50"), x=0, y=0),
        Account("w2", D("50"), x=1, y=0),
        Account("w3", D("50"), x=2, y=0),
        Account("e1", D("50"), x=100, y=0),
    ]
    territories = [Territory("W", 1, 0), Territory("E", 100, 0)]
    options = DesignOptions(balance=("potential",), tolerance=D("0.10"), radius=10.0)
    result = design(accounts, territories, options)
    assert result.status == "infeasible"
    assert any("territory E cannot be balanced" in line for line in result.problems)
    assert result.assignment == {"w1": "W", "w2": "W", "w3": "W", "e1": "E"}
    loose = design(accounts, territories, DesignOptions(balance=("potential",), tolerance=D("0.10"), nearest=2))
    assert loose.status == "optimal" and loose.all_in_band
    assert result.candidates == 4 and loose.candidates == 8


# --- infeasibility explained --------------------------------------------------------------------------------------


def test_an_account_with_no_allowed_territory_is_named() -> None:
    accounts = [Account("a", D("10"), current="T1"), Account("lost", D("5"), allowed=frozenset())]
    result = design(accounts, [Territory("T1")], DesignOptions(balance=("potential",)))
    assert result.status == "infeasible"
    assert result.unassigned == ["lost"]
    assert any("account lost has no allowed territory" in line for line in result.problems)


def test_a_locked_account_without_territory_is_named() -> None:
    result = design([Account("a", D("10"), locked=True)], [Territory("T1")], DesignOptions(balance=("potential",)))
    assert result.status == "infeasible"
    assert result.problems[0] == "account a is locked but has no current territory"


@pytest.mark.parametrize("solver", EXACT)
def test_solver_proven_infeasibility_names_the_territories(solver: str) -> None:
    """Three accounts of 100 cannot fill two territories within ±10% of 150: 100 | 200 is the closest."""
    accounts = [Account(f"a{i}", D(100), current="T1" if i else "T2") for i in range(3)]
    result = design(
        accounts,
        [Territory("T1"), Territory("T2")],
        DesignOptions(balance=("potential",), tolerance=D("0.10"), solver=solver),
    )
    assert result.status == "infeasible"
    assert result.bound is None and result.gap is None
    assert sorted(line.split(" cannot")[0] for line in result.problems) == ["territory T1", "territory T2"]
    assert "the band is [135, 165]" in result.problems[0]
    assert sorted(result.assignment) == ["a0", "a1", "a2"]


def test_capacity_is_respected() -> None:
    accounts = [
        Account("a", D(50), D(30), current="T1"),
        Account("b", D(50), D(10), current="T1"),
        Account("c", D(50), D(10), current="T2"),
        Account("d", D(50), D(30), current="T2"),
    ]
    territories = [Territory("T1", capacity=D(30)), Territory("T2")]
    result = design(accounts, territories, DesignOptions(balance=("potential",), tolerance=D("0.01")))
    assert result.status == "optimal"
    assert result.totals[0].within_capacity
    assert sorted(a for a, t in result.assignment.items() if t == "T1") == ["b", "c"]


def test_invalid_input_is_refused() -> None:
    with pytest.raises(InvalidInput, match="current territory T9 is not a territory"):
        design([Account("a", D(1), current="T9")], [Territory("T1")])
    with pytest.raises(InvalidInput, match="solver"):
        design([Account("a", D(1))], [Territory("T1")], DesignOptions(solver="cbc"))
    with pytest.raises(InvalidInput, match="appears twice"):
        design([Account("a", D(1)), Account("a", D(2))], [Territory("T1")])
    with pytest.raises(InvalidInput, match="balance measure"):
        design([Account("a", D(1))], [Territory("T1")], DesignOptions(balance=("revenue",)))


# --- a larger instance under a short time limit: the gap is reported -----------------------------------------------


def test_gap_is_reported_on_a_larger_instance_under_a_short_time_limit() -> None:
    accounts, territories = instance(1000, 20, seed=5)
    options = DesignOptions(solver="highs", nearest=4, time_limit=5.0, objective="distance")
    result = design(accounts, territories, options)
    assert result.status in ("feasible", "optimal")
    assert result.bound is not None and result.gap is not None
    assert result.bound <= result.objective
    assert result.gap == pytest.approx(float((result.objective - result.bound) / result.objective), abs=1e-6)
    assert result.seconds < 15
    if result.status == "feasible":
        assert result.gap > options.gap_limit


def test_generated_refresh_has_most_territories_in_band() -> None:
    accounts, territories = instance(2000, 40, seed=3, refresh=True)
    assert instance(2000, 40, seed=3, refresh=True) == (accounts, territories)
    current = {a.id: a.current for a in accounts if a.current is not None}
    rows = band_totals(accounts, territories, current, ("potential", "workload"), D("0.05"))
    assert len(territories) // 2 <= sum(row.balanced for row in rows) < len(territories)
    assert 0 < len(accounts) - len(current) < len(accounts) // 10


# --- properties ---------------------------------------------------------------------------------------------------


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Account], list[Territory]]:
    k = draw(st.integers(1, 3))
    ids = [f"T{t}" for t in range(k)]
    territories = [Territory(t, draw(st.integers(0, 50)), draw(st.integers(0, 50))) for t in ids]
    accounts = []
    for i in range(draw(st.integers(1, 8))):
        current = draw(st.sampled_from([None, *ids]))
        allowed = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(ids), min_size=1)))
        accounts.append(
            Account(
                f"A{i}",
                potential=D(draw(st.integers(0, 100_000))).scaleb(-2),
                workload=D(draw(st.integers(0, 400))).scaleb(-1),
                x=draw(st.integers(0, 50)),
                y=draw(st.integers(0, 50)),
                current=current,
                locked=current is not None and draw(st.booleans()),
                allowed=allowed,
            )
        )
    return accounts, territories


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from(["highs", "greedy"]), st.sampled_from(["0.05", "0.3", "0.9"]))
def test_every_account_once_and_every_band_claim_true(
    case: tuple[list[Account], list[Territory]], solver: str, tau: str
) -> None:
    accounts, territories = case
    result = design(accounts, territories, DesignOptions(solver=solver, tolerance=D(tau), time_limit=10))
    assert set(result.assignment) | set(result.unassigned) == {a.id for a in accounts}
    assert not set(result.assignment) & set(result.unassigned)
    for account in accounts:
        if account.id in result.assignment:
            assert result.assignment[account.id] in _allowed(account, territories)
        else:
            assert result.status == "infeasible" and any(account.id in line for line in result.problems)
    with localcontext() as ctx:
        ctx.prec = 80
        for row in result.totals:
            for measure in ("potential", "workload"):
                mine = [a for a in accounts if result.assignment.get(a.id) == row.territory]
                total = sum((getattr(a, measure) for a in mine), D(0))
                mean = sum(getattr(a, measure) for a in accounts) / len(territories)
                assert row.totals[measure] == total
                assert row.in_band[measure] == ((1 - D(tau)) * mean <= total <= (1 + D(tau)) * mean)
    if result.status in ("optimal", "feasible"):
        assert result.all_in_band
        assert result.bound is not None and result.bound <= result.objective


# --- coverage -----------------------------------------------------------------------------------------------------


def test_coverage_gaps() -> None:
    accounts = [Account(f"a{i}", D(1), D(10)) for i in range(5)]
    assignment: dict[str, str | None] = {"a0": "N", "a1": "N", "a2": "S", "a3": "W", "a4": None}
    gaps = coverage_gaps(
        accounts, assignment, ["N", "S", "W"], {"ann": ["N", "S"], "bob": ["S"]}, {"ann": D(25), "bob": D(5)}
    )
    assert gaps.accounts_without_owner == ["a3", "a4"]
    assert gaps.territories_without_payee == ["W"]
    loads = {row.payee: row.workload for row in gaps.loads}
    assert loads == {"ann": D(25), "bob": D(5)}  # S (10) is shared: 5 each
    assert gaps.overloaded_payees == []
    tighter = coverage_gaps(accounts, assignment, ["N", "S", "W"], {"ann": ["N", "S"], "bob": ["S"]}, D(20))
    assert [row.payee for row in tighter.overloaded_payees] == ["ann"]
