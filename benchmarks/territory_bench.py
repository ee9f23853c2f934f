"""Territory design benchmark: each solver on an annual refresh and on a build from scratch.

(1) refresh: 2,000 accounts in 40 territories, balanced on potential and workload within ±5%, from a current
    assignment where most territories are already in band; minimize moved accounts; candidates: the 6 nearest
    territories and the current one.
(2) build: 10,000 accounts into 100 territories from scratch, ±5%, minimize workload-weighted distance;
    candidates: the 5 nearest territories (the full MIP has a million binaries).

Each solver gets the same time limit; the table gives time, moves, objective, the best bound proved, the gap and
how many territories end in band. `make bench-territory` runs it; `--quick` runs smaller instances.
"""

from __future__ import annotations

import argparse
import dataclasses
from decimal import Decimal

from openspm.planning.generate import instance
from openspm.planning.territory import DesignOptions, DesignResult, band_totals, design


def _row(case: str, solver: str, result: DesignResult) -> str:
    moved = sum(1 for m in result.moves if m.source is not None)
    placed = sum(1 for m in result.moves if m.source is None)
    gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
    bound = "-" if result.bound is None else f"{result.bound:,.1f}"
    return (
        f"{case:<8} {solver:<7} {result.status:<10} {result.seconds:>8.2f} {moved:>6} {placed:>6} "
        f"{result.objective:>16,.1f} {bound:>16} {gap:>8} {result.in_band_count:>4}/{len(result.totals):<4}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per solver and case")
    parser.add_argument("--solvers", default="greedy,highs,cpsat")
    parser.add_argument("--cases", default="refresh,build")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="500 × 10 and 2,000 × 20 instead")
    parser.add_argument("--drift", type=float, default=1.0, help="refresh: scale of the year's change in potential")
    parser.add_argument("--new-share", type=float, default=0.01, help="refresh: share of new accounts (no territory)")
    args = parser.parse_args()
    solvers = args.solvers.split(",")
    sizes = {"refresh": (2000, 40), "build": (10000, 100)}
    if args.quick:
        sizes = {"refresh": (500, 10), "build": (2000, 20)}
    header = (
        f"{'case':<8} {'solver':<7} {'status':<10} {'seconds':>8} {'moves':>6} {'new':>6} "
        f"{'objective':>16} {'bound':>16} {'gap':>8} {'in band':>9}"
    )
    for case in args.cases.split(","):
        n, k = sizes[case]
        accounts, territories = instance(
            n, k, seed=args.seed, refresh=case == "refresh", new_share=args.new_share, drift=args.drift
        )
        tau = Decimal("0.05")
        if case == "refresh":
            current = {a.id: a.current for a in accounts if a.current is not None}
            before = band_totals(accounts, territories, current, ("potential", "workload"), tau)
            print(
                f"\n(1) refresh: {n:,} accounts × {k} territories, ±5% on potential and workload; today "
                f"{sum(r.balanced for r in before)}/{k} in band, {n - len(current)} new accounts; objective: moves; "
                f"candidates: 6 nearest + current; time limit {args.time_limit:g} s, {args.threads} thread(s)"
            )
            options = DesignOptions(tolerance=tau, objective="moves", nearest=6)
        else:
            print(
                f"\n(2) build: {n:,} accounts into {k} territories from scratch, ±5% on potential and workload; "
                f"objective: workload × distance; candidates: 5 nearest; time limit {args.time_limit:g} s, "
                f"{args.threads} thread(s)"
            )
            options = DesignOptions(tolerance=tau, objective="distance", nearest=5)
        print(header)
        print("-" * len(header))
        for solver in solvers:
            chosen = dataclasses.replace(options, solver=solver, time_limit=args.time_limit, threads=args.threads)
            result = design(accounts, territories, chosen)
            print(_row(case, solver, result), flush=True)
            for line in result.problems[:3]:
                print(f"         {line}")
        print(f"candidates per account: {result.candidates / n:.1f}; greedy start {result.greedy_objective:,.1f}")


if __name__ == "__main__":
    main()
