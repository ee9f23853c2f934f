"""Engine benchmark: the calculation pipeline on a large company in Parquet, against a hand-written floor.

    .venv/bin/python benchmarks/engine_bench.py --scale 1M [--month FY2025-M12] [--generate] [--timeout 900]

Reads `benchmarks/out/<scale>/` (written by `generate_company.py`; `--generate`, or a missing folder, writes it
first), then, each in its own process so that peak memory is its own:

- engine: loads the Parquet files into `Inputs` (Arrow), builds a `RunContext` for the month with the fiscal
  calendar of 2025 and `bench_plan.yaml`, runs `run_pipeline` and reports its stage timings
  (`Results.timings`), total, peak RSS (`ru_maxrss`) and transactions per second;
- floor: `floor.sql`, the same core calculation (effective-dated credit + 2 roll-up levels + FX + marginal
  tiers on YTD attainment + cap, true-up for the month) in DuckDB SQL straight on the Parquet files.

Prints a table with the ratio engine / floor, and whether the engine's `commission` earnings equal the floor's
to the cent, in total and payee by payee. While the engine runs, a line on stderr every 10 s says which
pipeline function it is in and how much memory it holds; `--timeout` or
`--max-memory` stops it and says where it was.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PLAN_FILE = ROOT / "bench_plan.yaml"
FLOOR_FILE = ROOT / "floor.sql"
SCALES = {"1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}
GIB = 1024**3


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def current_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def scale_rows(scale: str) -> int:
    if scale in SCALES:
        return SCALES[scale]
    if scale.endswith("k"):
        return int(scale[:-1]) * 1_000
    if scale.endswith("M"):
        return int(scale[:-1]) * 1_000_000
    return int(scale)


# --- the engine (child process) ---------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every `every` seconds, print to stderr where the main thread is in openspm and the memory it holds."""

    def __init__(self, every: float = 10.0, limit: int | None = None) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.limit = limit
        self.main = threading.main_thread().ident
        self.started = time.perf_counter()
        self.done = threading.Event()

    def where(self) -> str:
        frame = sys._current_frames().get(self.main or 0)
        chain = []
        while frame is not None:
            name = frame.f_code.co_filename
            if "openspm" in name and "benchmarks" not in name:
                module = Path(name).stem
                chain.append(f"{module}.{frame.f_code.co_name}:{frame.f_lineno}")
            frame = frame.f_back
        return " > ".join(reversed(chain[:4])) or "(outside openspm)"

    def run(self) -> None:
        ticks = 0
        while not self.done.wait(1.0):
            ticks += 1
            rss = current_bytes()
            over = self.limit is not None and rss > self.limit
            if over or ticks % round(self.every) == 0:
                print(
                    f"  [engine {time.perf_counter() - self.started:6.0f}s  rss {rss / GIB:5.2f} GiB  "
                    f"peak {peak_bytes() / GIB:5.2f} GiB]  {self.where()}",
                    file=sys.stderr,
                    flush=True,
                )
            if over:
                print(
                    f"  engine stopped: over the memory limit (--max-memory); it was in {self.where()}", file=sys.stderr
                )
                os._exit(3)


def run_engine(folder: Path, month: str, result: Path, limit: int | None = None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from openspm.calc.context import PlanInForce, RunContext
    from openspm.calc.inputs import SCHEMAS, Inputs
    from openspm.calc.pipeline import run_pipeline
    from openspm.core.period import PeriodKind, fiscal_periods
    from openspm.plan.load import parse_plan

    sampler = Sampler(limit=limit)
    sampler.start()
    started = time.perf_counter()
    big = {"transactions"}  # read by the engine straight from Parquet; the small tables are loaded into Arrow
    tables: dict[str, Any] = {
        name: (folder / f"{name}.parquet") if name in big else pq.read_table(folder / f"{name}.parquet")
        for name in SCHEMAS
    }
    load = time.perf_counter() - started
    load_peak = peak_bytes()
    periods = fiscal_periods(2025)
    paid = next(p for p in periods if p.kind is PeriodKind.MONTH and p.name == month)
    document = parse_plan(PLAN_FILE.read_text(encoding="utf-8"), str(PLAN_FILE))
    from openspm.engine.duckdb import connect

    con = connect()
    plan = PlanInForce("bench", 1, document, document.effective_from, document.effective_to)
    ctx = RunContext(period=paid, periods=periods, plans=[plan], con=con)
    started = time.perf_counter()
    results = run_pipeline(ctx, Inputs(tables))
    total = time.perf_counter() - started
    peak = peak_bytes()  # before the digests and the result file below
    sampler.done.set()
    commission: dict[int, Decimal] = {}
    totals: dict[str, Decimal] = {}
    for e in results.earnings:
        totals[e.component] = totals.get(e.component, Decimal(0)) + e.amount
        if e.component == "commission":
            commission[e.payee_id] = commission.get(e.payee_id, Decimal(0)) + e.amount
    pq.write_table(
        pa.table(
            {
                "payee_id": pa.array(list(commission), pa.int64()),
                "amount": pa.array([str(v) for v in commission.values()], pa.string()),
            }
        ),
        result,
    )
    return {
        "digests": digests(results),
        "load": load,
        "load_peak": load_peak,
        "timings": {k.split(": ", 1)[-1]: v for k, v in results.timings.items()},
        "total": total,
        "peak": peak,
        "credits": results.credit_count,
        "earnings": len(results.earnings),
        "issues": len(ctx.issues),
        "component_totals": {k: str(v) for k, v in totals.items()},
    }


def digests(results: Any) -> dict[str, str]:
    """SHA-256 digests of what a run produced, to check that a change to the engine leaves results identical:
    every earning with its trace (JSON with sorted keys), the measure values, the monthly measures, and the
    paid month's credits (Arrow IPC of the table sorted by every column)."""
    import hashlib

    import pyarrow as pa

    def digest(lines: list[str]) -> str:
        h = hashlib.sha256()
        for line in sorted(lines):
            h.update(line.encode())
            h.update(b"\n")
        return h.hexdigest()[:16]

    def row(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    earnings = [
        row([e.plan, e.payee, e.period, e.component, e.measure_period, e.base, e.quota, e.attainment, e.rate,
             e.amount, e.cut, e.currency, e.trace])
        for e in results.earnings
    ]  # fmt: skip
    found = {
        "earnings": digest(earnings),
        "measures": digest([row(m) for m in results.measures]),
        "monthly": digest([row(m) for m in results.monthly]),
    }
    credits = results.credits
    if credits is not None:
        ordered = credits.sort_by([(c, "ascending") for c in credits.column_names]).combine_chunks()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, ordered.schema) as writer:
            writer.write_table(ordered)
        found["credits"] = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]
    return found


# --- the floor (child process) ----------------------------------------------------------------------


def floor_statements(folder: Path, month: str) -> list[str]:
    from openspm.core.period import PeriodKind, fiscal_periods

    periods = fiscal_periods(2025)
    paid = next(p for p in periods if p.kind is PeriodKind.MONTH and p.name == month)
    year = next(p for p in periods if p.kind is PeriodKind.YEAR)
    text = FLOOR_FILE.read_text(encoding="utf-8").format(
        dir=folder.as_posix(), year_start=year.start, month_start=paid.start, month_end=paid.end
    )
    return [s.strip() for s in text.split("\n;\n") if s.strip()]


def run_floor(folder: Path, month: str, result: Path, limit: int | None = None) -> dict[str, Any]:
    import duckdb
    import pyarrow.parquet as pq

    con = duckdb.connect()
    statements = floor_statements(folder, month)
    started = time.perf_counter()
    for statement in statements[:-1]:
        con.execute(statement)
    table = con.execute(statements[-1]).to_arrow_table()
    total = time.perf_counter() - started
    pq.write_table(table, result)
    amounts = [Decimal(v) for v in table["amount"].to_pylist()]
    return {"total": total, "peak": peak_bytes(), "commission": str(sum(amounts, Decimal(0)))}


# --- the parent -------------------------------------------------------------------------------------


def child(kind: str, folder: Path, month: str, result: Path, timeout: float, limit: float) -> dict[str, Any] | None:
    """Run the engine or the floor in a fresh process; None when it ran out of time or memory, or failed."""
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--month", month]
    command += ["--result", str(result), "--max-memory", str(limit)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"{kind}: stopped after {time.perf_counter() - started:.0f}s (--timeout); see the last line above")
        return None
    if done.returncode != 0:
        print(f"{kind}: failed with exit code {done.returncode} after {time.perf_counter() - started:.0f}s")
        return None
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def amounts(path: Path) -> dict[int, Decimal]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {int(p): Decimal(a) for p, a in zip(table["payee_id"].to_pylist(), table["amount"].to_pylist(), strict=True)}


def report(scale: str, rows: int, month: str, engine: dict[str, Any] | None, floor: dict[str, Any] | None) -> None:
    print(f"\nengine benchmark: {rows:,} transactions ({scale}), paying {month}, plan {PLAN_FILE.name}")
    floor_s = floor["total"] if floor else None
    header = f"{'step':<34}{'seconds':>10}{'× floor':>10}{'tx/s':>13}{'peak GiB':>10}"
    print(header)
    print("-" * len(header))

    def line(label: str, seconds: float, peak: float | None = None) -> None:
        ratio = f"{seconds / floor_s:>10.1f}" if floor_s else f"{'-':>10}"
        mem = f"{peak / GIB:>10.2f}" if peak is not None else f"{'':>10}"
        print(f"{label:<34}{seconds:>10.2f}{ratio}{rows / seconds:>13,.0f}{mem}")

    if floor:
        line("floor: DuckDB SQL on Parquet", floor["total"], floor["peak"])
    if engine:
        line("engine: load Parquet → Arrow", engine["load"], engine["load_peak"])
        for stage, seconds in engine["timings"].items():
            line(f"  engine: {stage}", seconds)
        line("engine: run_pipeline total", engine["total"], engine["peak"])
        counts = f"{engine['credits']:,} credits, {engine['earnings']:,} earnings, {engine['issues']:,} issues"
        print(f"\nengine output: {counts}; totals {engine['component_totals']}")
        print("digests: " + ", ".join(f"{k} {v}" for k, v in engine["digests"].items()))


def compare(engine_result: Path, floor_result: Path) -> None:
    mine, floor = amounts(engine_result), amounts(floor_result)
    engine_total = sum(mine.values(), Decimal(0))
    floor_total = sum(floor.values(), Decimal(0))
    differ = [p for p in set(mine) | set(floor) if mine.get(p, Decimal(0)) != floor.get(p, Decimal(0))]
    verdict = "agree to the cent" if engine_total == floor_total and not differ else "DO NOT agree"
    print(f"commission for the month: engine {engine_total:,.2f}, floor {floor_total:,.2f} → {verdict}")
    print(f"payees compared: {len(set(mine) | set(floor)):,}; payees that differ: {len(differ):,}")
    for p in sorted(differ)[:5]:
        print(f"  payee {p}: engine {mine.get(p)}, floor {floor.get(p)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="1M", help="1M, 10M, 100M (or a count such as 250k)")
    parser.add_argument("--month", default="FY2025-M12")
    parser.add_argument("--generate", action="store_true", help="(re)write the company's Parquet files first")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the engine may take (default 900)")
    parser.add_argument("--max-memory", type=float, default=16, help="GiB the engine may hold (default 16)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run floor and engine this many times, alternating; report the median"
    )
    parser.add_argument("--child", choices=["engine", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        run = run_engine if args.child == "engine" else run_floor
        print(json.dumps(run(args.folder, args.month, args.result, int(args.max_memory * GIB))))
        return

    rows = scale_rows(args.scale)
    folder = ROOT / "out" / args.scale
    if args.generate or not (folder / "transactions.parquet").exists():
        generate = importlib.import_module("generate_company").generate  # benchmarks/ is sys.path[0]

        started = time.perf_counter()
        generate(rows, 10_000, folder)
        print(f"generated {rows:,} transactions in {folder} in {time.perf_counter() - started:.0f}s")

    with tempfile.TemporaryDirectory() as tmp:
        floor_result, engine_result = Path(tmp) / "floor.parquet", Path(tmp) / "engine.parquet"
        ratios = []
        for _ in range(max(args.repeat, 1)):
            floor = child("floor", folder, args.month, floor_result, args.timeout, args.max_memory)
            engine = child("engine", folder, args.month, engine_result, args.timeout, args.max_memory)
            report(args.scale, rows, args.month, engine, floor)
            if engine and floor:
                compare(engine_result, floor_result)
                ratios.append(engine["total"] / floor["total"])
        if len(ratios) > 1:
            shown = ", ".join(f"{r:.2f}" for r in ratios)
            print(f"\nengine / floor in {len(ratios)} runs: {shown}; median {statistics.median(ratios):.2f}")
        print(
            f"machine: {_cores()} cores; each side ran in its own process (peak = that process's max RSS); "
            "the floor's time includes reading Parquet, the engine's run_pipeline time does not"
        )


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
