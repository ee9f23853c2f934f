"""Import benchmark: load N transaction rows from CSV into a fresh store.

    .venv/bin/python benchmarks/import_bench.py --rows 1000000 [--database-url URL]

Writes a seeded CSV (N rows over 2025, 5,000 accounts, 20 products, 1% returns),
then times, on a fresh store: the first import (all inserts), a re-import of
the same file (all unchanged), and, as a floor measured in the same run, a bare
`csv.reader` pass over the file (reading only, no validation or writes). Prints
a table with wall time, rows per second and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.store.db import make_engine, migrate

ACCOUNTS = 5_000
PRODUCTS = 20


def write_inputs(folder: Path, rows: int, seed: int) -> dict[str, Path]:
    """Reference data and a transactions file of `rows` lines."""
    rng = random.Random(seed)
    paths = {name: folder / f"{name}.csv" for name in ("accounts", "products", "transactions")}
    with paths["accounts"].open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "industry"])
        writer.writerows([f"A{i}", f"Account {i}", "Tech"] for i in range(ACCOUNTS))
    with paths["products"].open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "family", "list_price"])
        writer.writerows([f"SKU{i}", f"Product {i}", f"F{i % 4}", f"{100 + i}.00"] for i in range(PRODUCTS))
    start = date(2025, 1, 1)
    with paths["transactions"].open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "date", "type", "account", "product", "quantity", "amount", "currency", "original"])
        for i in range(rows):
            day = start + timedelta(days=rng.randrange(360))
            if i > 100 and rng.random() < 0.01:
                original = rng.randrange(i)
                writer.writerow(
                    [
                        f"T{i}",
                        day.isoformat(),
                        "return",
                        f"A{rng.randrange(ACCOUNTS)}",
                        "SKU1",
                        "-1",
                        "-100.00",
                        "USD",
                        f"T{original}",
                    ]
                )
                continue
            quantity = rng.randint(1, 20)
            cents = quantity * rng.randint(1_000, 500_000)
            writer.writerow(
                [
                    f"T{i}",
                    day.isoformat(),
                    "sale",
                    f"A{rng.randrange(ACCOUNTS)}",
                    f"SKU{rng.randrange(PRODUCTS)}",
                    str(quantity),
                    f"{cents // 100}.{cents % 100:02d}",
                    "USD",
                    "",
                ]
            )
    return paths


def floor_seconds(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as stream:
        for _ in csv.reader(stream):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = write_inputs(folder, args.rows, args.seed)
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f}s "
            f"({paths['transactions'].stat().st_size / 1e6:.0f} MB)"
        )
        engine = make_engine(args.database_url or f"sqlite:///{folder / 'bench.db'}")
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        migrate(engine)
        create_calendar(engine, "fiscal", 1, [2025], actor="bench")
        for kind in ("accounts", "products"):
            import_file(engine, kind, paths[kind], actor="bench")

        floor = floor_seconds(paths["transactions"])
        results = []
        for label in ("first import (inserts)", "re-import (unchanged)"):
            report = import_file(engine, "transactions", paths["transactions"], actor="bench")
            assert report.rejected == 0, report.issues[:5]
            results.append((label, report.seconds, report))

        print(f"\nstore: {engine.dialect.name}, rows: {args.rows:,}")
        print(f"{'step':<26}{'seconds':>10}{'rows/s':>12}{'× floor':>10}   counts")
        print(f"{'csv.reader only (floor)':<26}{floor:>10.2f}{args.rows / floor:>12,.0f}{1:>10.1f}")
        for label, seconds, report in results:
            counts = f"{report.inserted} inserted, {report.unchanged} unchanged"
            print(f"{label:<26}{seconds:>10.2f}{args.rows / seconds:>12,.0f}{seconds / floor:>10.1f}   {counts}")
            for stage, stage_seconds in report.timings.items():
                print(f"    {stage:<22}{stage_seconds:>10.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
