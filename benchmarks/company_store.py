"""Fill an openspm store with the large generated company (`generate_company.py`'s Parquet files), fast.

    .venv/bin/python benchmarks/company_store.py --scale 1M [--url sqlite:///...]   # → benchmarks/out/1M/store.sqlite

The rows go straight in with the importer's bulk write path (`ingest.repository.insert_rows`: one prepared
INSERT on SQLite, COPY on PostgreSQL), keeping the generator's ids; this is a benchmark fixture, not an
import (the import is measured by `import_bench.py`). The store also gets the FY2025 calendar and the plan
`bench_plan.yaml`, with the generator's plan assignments and quotas.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent
PLAN_FILE = ROOT / "bench_plan.yaml"
DIRECT = {  # store kind ← Parquet file, with the columns copied as they are
    "payees": ["id", "external_id", "name", "region", "role", "seniority", "hire_date", "termination_date",
               "pay_currency"],
    "accounts": ["id", "external_id", "name", "industry", "size", "segment", "country", "region", "city"],
    "products": ["id", "external_id", "name", "family"],
    "reporting_lines": ["payee_id", "manager_id", "effective_from", "effective_to"],
    "account_assignments": ["account_id", "payee_id", "role", "share", "effective_from", "effective_to"],
    "fx_rates": ["from_currency", "to_currency", "effective_date", "rate"],
    "transactions": ["id", "external_id", "date", "type", "account_id", "product_id", "quantity", "amount",
                     "currency", "list_amount", "original_id", "owner_id"],
}  # fmt: skip
CHUNK = 500_000


def _columns(path: Path, names: list[str], start: int, stop: int) -> dict[str, list[Any]]:
    table = pq.read_table(path, columns=names).slice(start, stop - start)
    return {name: table[name].to_pylist() for name in names}


def fill(engine: Engine, folder: Path) -> dict[str, float]:
    """Load the company in `folder` into the migrated, empty store `engine`; seconds per table."""
    from openspm.ingest.kinds import KINDS
    from openspm.ingest.repository import insert_rows
    from openspm.periods.service import create_calendar
    from openspm.plans.service import add_plan
    from openspm.store import models as m

    timings: dict[str, float] = {}
    create_calendar(engine, "fiscal", 1, [2025], actor="bench")
    for kind, names in DIRECT.items():
        started = time.perf_counter()
        path = folder / f"{kind}.parquet"
        rows = pq.read_metadata(path).num_rows
        for start in range(0, rows, CHUNK):
            with Session(engine) as session, session.begin():
                insert_rows(session, KINDS[kind], _columns(path, names, start, min(rows, start + CHUNK)))
        timings[kind] = time.perf_counter() - started
    add_plan(engine, PLAN_FILE, actor="bench")
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        plans = dict(session.execute(select(m.Plan.external_id, m.Plan.id)).tuples().all())
        periods = dict(session.execute(select(m.Period.name, m.Period.id)).tuples().all())
        assignments = pq.read_table(folder / "plan_assignments.parquet").to_pylist()
        insert_rows(
            session,
            KINDS["plan_assignments"],
            {
                "payee_id": [a["payee_id"] for a in assignments],
                "plan_id": [plans[a["plan"]] for a in assignments],
                "effective_from": [a["effective_from"] for a in assignments],
                "effective_to": [a["effective_to"] for a in assignments],
                "target_incentive": [a["target_incentive"] for a in assignments],
                "parameters": [json.loads(a["parameters"]) if a["parameters"] else {} for a in assignments],
            },
        )
        quotas = pq.read_table(folder / "quotas.parquet").to_pylist()
        insert_rows(
            session,
            KINDS["quotas"],
            {
                "payee_id": [q["payee_id"] for q in quotas],
                "measure": [q["measure"] for q in quotas],
                "period_id": [periods[q["period"]] for q in quotas],
                "amount": [q["amount"] for q in quotas],
            },
        )
    timings["plan, assignments, quotas"] = time.perf_counter() - started
    return timings


def main() -> None:
    from openspm.store.db import make_engine, migrate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="1M")
    parser.add_argument("--url", help="store URL (default: a new SQLite file benchmarks/out/<scale>/store.sqlite)")
    args = parser.parse_args()
    folder = ROOT / "out" / args.scale
    if not (folder / "transactions.parquet").exists():
        raise SystemExit(f"{folder} has no company: run benchmarks/generate_company.py first")
    target = folder / "store.sqlite"
    if args.url is None:
        target.unlink(missing_ok=True)
    engine = make_engine(args.url or f"sqlite:///{target}")
    migrate(engine)
    started = time.perf_counter()
    timings = fill(engine, folder)
    for name, seconds in timings.items():
        print(f"  {name:<28}{seconds:8.1f}s")
    print(f"filled {args.url or target} in {time.perf_counter() - started:.0f}s")
    engine.dispose()


if __name__ == "__main__":
    main()
