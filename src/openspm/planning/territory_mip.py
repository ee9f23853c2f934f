"""Territory design, the exact solvers: HiGHS MIP (`highspy`) and OR-Tools CP-SAT on the candidate columns.

Both get the greedy answer as a start, report their best bound, and stop at the time limit or the gap limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from openspm.planning.territory import DesignOptions, Problem


@dataclass
class Solved:
    assign: list[int] | None
    bound: float | None
    status: str  # optimal | feasible | infeasible | unknown
    solver_status: str


def _columns(p: Problem) -> list[tuple[int, int]]:
    return [(i, t) for i in range(len(p.accounts)) for t in p.cand[i]]


def solve_highs(p: Problem, options: DesignOptions, start: list[int] | None, elastic: bool = False) -> Solved:
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
    return Solved(assign, bound, status, solver_status)


def solve_cpsat(p: Problem, options: DesignOptions, start: list[int] | None) -> Solved:
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
        solved: Solved = _CPSAT_POOL.submit(_solve_cpsat_here, p, options, start).result()
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


def _solve_cpsat_here(p: Problem, options: DesignOptions, start: list[int] | None) -> Solved:
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
    return Solved(assign, bound, status, name)
