"""End-to-end run from the store: read the inputs, compute, write the results (issue 4, part b).

    .venv/bin/python benchmarks/run_bench.py --scale 1M [--postgres postgresql+psycopg://postgres@127.0.0.1/db]

Uses the large company's SQLite store (`benchmarks/out/<scale>/store.sqlite`; built by `company_store.py` when
missing), copied to a scratch file, and runs `run_period(engine, "FY2025-M12")` once: every plan, the fiscal
year to date read from the store, the paid month's credits, the monthly measures, the earnings and the live
state written back. With `--postgres URL` it fills that (empty) database too and runs there. Prints the run's
own stage timings, the total, peak memory (`ru_maxrss`) and transactions per second, with a baseline
measured in the same run: the database driver alone fetching every transaction row (`SELECT *`). On SQLite a
second floor line times ADBC alone fetching the run's transaction columns into Arrow (how the run reads a
SQLite file, `openspm.store.columnar`), without the type conversions.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent
MONTH = "FY2025-M12"
GIB = 1024**3


def driver_floor(engine: Engine) -> float:
    """Seconds for the driver to fetch every transaction row, nothing else."""
    started = time.perf_counter()
    with engine.connect() as conn:
        result = conn.exec_driver_sql("SELECT * FROM transactions")
        while result.fetchmany(250_000):  # in batches, so the floor does not set the peak memory
            pass
    return time.perf_counter() - started


def adbc_floor(engine: Engine) -> float | None:
    """Seconds for ADBC to fetch the run's transaction columns into Arrow, nothing else (None off SQLite)."""
    from openspm.runs.service import TRANSACTION_COLUMNS
    from openspm.store import columnar

    path = columnar.sqlite_file(engine)
    if path is None:
        return None
    columns = ", ".join(f"ifnull({c}, '')" if c == "list_amount" else c for c in TRANSACTION_COLUMNS)
    started = time.perf_counter()
    for _batch in columnar.batches(path, f"SELECT {columns} FROM transactions"):
        pass
    return time.perf_counter() - started


def run(engine: Engine, label: str) -> None:
    from openspm.runs.service import run_period
    from openspm.store import models as m

    with Session(engine) as session:
        transactions = session.scalar(select(func.count()).select_from(m.Transaction)) or 0
    floor = driver_floor(engine)
    arrow_floor = adbc_floor(engine)
    started = time.perf_counter()
    summary = run_period(engine, MONTH, actor="bench")
    total = time.perf_counter() - started
    print(f"\n{label}: {transactions:,} transactions, run of {MONTH} end to end")
    header = f"{'step':<40}{'seconds':>10}{'× floor':>10}"
    print(header)
    print("-" * len(header))
    print(f"{'floor: driver fetches every transaction':<40}{floor:>10.2f}{1:>10.1f}")
    if arrow_floor is not None:
        print(f"{'floor: ADBC fetch into Arrow':<40}{arrow_floor:>10.2f}{arrow_floor / floor:>10.1f}")
    for stage, seconds in summary.timings.items():
        print(f"{'  ' + stage:<40}{seconds:>10.2f}{seconds / floor:>10.1f}")
    print(f"{'total (call to committed run)':<40}{total:>10.2f}{total / floor:>10.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
    print(f"peak memory {peak:.2f} GiB; {transactions / total:,.0f} transactions/s; {summary.credits:,} credits stored")
    print("digests (the stored run, to compare across commits): " + ", ".join(digests(engine, summary.run_id)))


DIGESTED = {  # stored rows of a run → the columns hashed, in a fixed order
    "run_credits": 'plan, "transaction", original, payee, role, role_class, source, level, share, amount, currency, '
    "date, month, measures",
    "run_earnings": "plan, payee, period, component, measure_period, base, quota, attainment, rate, amount, currency, "
    "trace",
    "run_measures": "plan, payee, period, measure, value",
}


def _text(value: object) -> str:
    """A stored value as text the same on SQLite and PostgreSQL: JSON (a trace) as sorted-key JSON text."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def digests(engine: Engine, run_id: int) -> list[str]:
    """A short SHA-256 of each table's rows of the run, sorted (ids and time stamps left out)."""
    found = []
    for table, columns in DIGESTED.items():
        digest = hashlib.sha256()
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT {columns} FROM {table} WHERE run_id = {int(run_id)}")
            for row in sorted(tuple(_text(v) for v in r) for r in rows):
                digest.update(repr(row).encode())
        found.append(f"{table} {digest.hexdigest()[:16]}")
    return found


def main() -> None:
    from openspm.store.db import make_engine, migrate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="1M")
    parser.add_argument("--postgres", help="an empty PostgreSQL database to fill and run on as well")
    args = parser.parse_args()
    source = ROOT / "out" / args.scale / "store.sqlite"
    if not source.exists():
        subprocess.run([sys.executable, str(ROOT / "company_store.py"), "--scale", args.scale], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.sqlite"
        shutil.copy(source, path)
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)  # a store filled before the newest migration
        run(engine, "SQLite")
        engine.dispose()
    if args.postgres:
        fill = importlib.import_module("company_store").fill  # benchmarks/ is sys.path[0]

        engine = make_engine(args.postgres)
        migrate(engine)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        started = time.perf_counter()
        fill(engine, ROOT / "out" / args.scale)
        print(f"\nPostgreSQL filled in {time.perf_counter() - started:.0f}s (COPY)")
        run(engine, "PostgreSQL")
        engine.dispose()


if __name__ == "__main__":
    main()
