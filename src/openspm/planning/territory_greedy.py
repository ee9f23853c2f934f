"""Territory design, the greedy pass: a start, repairs from the territory furthest out of band, a polish.

Fast (milliseconds to seconds) and never a proof: its answer is the exact solvers' warm start and the fallback
when they find nothing in time. Its bound is every account at its cheapest candidate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from openspm.planning.territory import Problem


def _violation(p: Problem, totals: Sequence[int], load: int, t: int) -> float:
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


def greedy(p: Problem, deadline: float | None = None) -> list[int]:
    """A heuristic assignment: territory index per account (-1 for an account without candidates).

    Start: the current territory when it is a candidate, else (largest accounts first) the cheapest candidate;
    in a rebalance only one that keeps every measure under its upper edge. Repair: for the territory furthest out
    of band, the move (into or out of it) with the least added cost per unit of violation removed, or the best
    swap when no single move helps. Polish: moves that lower the cost without leaving a band.
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
        moves = [(i, t) for i in members[worst] for t in p.cand[i] if t != worst]
        moves += [(i, worst) for i, _ in reachable[worst] if assign[i] != worst and assign[i] >= 0]
        for i, t in moves:
            d = delta(i, t)
            if d < -1e-12:
                extra = cost_of[i][t] - cost_of[i][assign[i]]
                # the least cost per unit of violation removed: a free or homeward move first, else the largest
                key = (extra / -d, extra, i, t)
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


def greedy_bound(p: Problem) -> float:
    """A valid lower bound for any assignment: each account at its cheapest candidate."""
    return sum(min(row) for row in p.cost if row)
