"""Incremental recompute latency: one changed transaction, from the call to the stored result.

    .venv/bin/python benchmarks/live_bench.py --scale 1M [--changes 200] [--seed 7]

Uses the large company's SQLite store (`benchmarks/out/<scale>/store.sqlite`, built by `store_bench.py`), copied
to a scratch file because the benchmark writes to it. Runs the plan's newest month in full once (the
incremental recompute starts from the measures and earnings a run stores), prepares a `LiveEngine` (reference
data loaded and the contribution query compiled once, as the web server keeps it), then applies `--changes`
random changes one at a time: a new sale on a random account, an edited amount, or a cancellation of an
existing sale. Each is timed from the call to the committed result (transaction written and audited,
`payee_measures` and `live_earnings` of the touched payees updated). Prints the median, the 90th and 99th
percentile and the maximum, with a baseline measured in the same run: one SQLite transaction that writes one
row and commits (the least any stored change costs on this disk).

Ends by checking the result: a full run of the month must store the same measures and earnings.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent
MONTH = "FY2025-M12"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def snapshot(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from openspm.store import models as m

    with Session(engine) as session:
        measures = sorted(
            (r.plan, r.version, r.payee_id, r.month, r.measure, r.value.normalize(), r.credits)
            for r in session.scalars(select(m.PayeeMeasure))
        )
        earnings = sorted(
            (r.plan, r.payee, r.period, r.component, r.amount.normalize())
            for r in session.scalars(select(m.LiveEarning))
        )
    return measures, earnings


def random_changes(engine: Engine, count: int, seed: int) -> list[Any]:
    """New sales, edited amounts and cancellations on the store's accounts and sales."""
    from openspm.runs.live import TransactionChange
    from openspm.store import models as m

    rng = random.Random(seed)
    with Session(engine) as session:
        accounts = list(session.scalars(select(m.Account.external_id).limit(5000)))
        products = list(session.scalars(select(m.Product.external_id)))
        top = session.scalar(select(func.max(m.Transaction.id))) or 1
        wanted = {rng.randint(1, top) for _ in range(count * 2)}
        sales = list(
            session.scalars(select(m.Transaction).where(m.Transaction.id.in_(wanted), m.Transaction.type == "sale"))
        )[:count]
        rng.shuffle(sales)
        account_names = dict(session.execute(select(m.Account.id, m.Account.external_id)).tuples().all())
        product_names = dict(session.execute(select(m.Product.id, m.Product.external_id)).tuples().all())
    changes = []
    start = date(2025, 1, 1)
    for i, row in enumerate(sales):
        kind = rng.choice(["new", "edit", "cancel"])
        external, day, amount, currency = row.external_id, row.date, row.amount, row.currency
        if kind == "new":
            changes.append(
                TransactionChange(
                    f"LIVE-{seed}-{i}",
                    start + timedelta(days=rng.randint(0, 364)),
                    rng.choice(accounts),
                    rng.choice(products),
                    Decimal(rng.randint(100, 5_000_000)) / 100,
                    "USD",
                )
            )
        elif kind == "edit":
            changes.append(
                TransactionChange(
                    external,
                    day,
                    account_names[row.account_id],
                    product_names[row.product_id],
                    amount + Decimal(rng.randint(-10_000, 10_000)) / 100,
                    currency,
                )
            )
        else:
            changes.append(
                TransactionChange(
                    f"LIVE-{seed}-{i}-X",
                    day,
                    account_names[row.account_id],
                    product_names[row.product_id],
                    -amount,
                    currency,
                    "cancellation",
                    Decimal(-1),
                    original=external,
                )
            )
    return changes


def commit_baseline(path: Path, rounds: int = 50) -> float:
    """Median seconds of one SQLite transaction writing one row, on the same disk."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS bench_probe (x INTEGER)")
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        with con:
            con.execute("INSERT INTO bench_probe VALUES (?)", (i,))
        times.append(time.perf_counter() - started)
    con.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="1M")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-check", action="store_true", help="skip the full run that checks the result")
    args = parser.parse_args()

    from openspm.runs.live import LiveEngine
    from openspm.runs.service import run_period
    from openspm.store import models as m
    from openspm.store.db import make_engine

    source = ROOT / "out" / args.scale / "store.sqlite"
    if not source.exists():
        sys.exit(
            f"{source} is missing: build it with `.venv/bin/python benchmarks/store_bench.py --scale {args.scale}`"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.sqlite"
        shutil.copy(source, path)
        engine = make_engine(f"sqlite:///{path}")
        with Session(engine) as session:
            payees = session.scalar(select(func.count()).select_from(m.Payee))
            transactions = session.scalar(select(func.count()).select_from(m.Transaction))
            ran = session.scalar(select(func.count()).select_from(m.Run).where(m.Run.status == "completed"))
        started = time.perf_counter()
        if not ran:
            run_period(engine, MONTH, actor="bench")
        full = time.perf_counter() - started
        started = time.perf_counter()
        live = LiveEngine(engine, MONTH)
        prepare = time.perf_counter() - started
        changes = random_changes(engine, args.changes, args.seed)
        latencies, touched = [], []
        for change in changes:
            update = live.apply([change], actor="bench")
            latencies.append(update.seconds)
            touched.append(len(update.payees))
        baseline = commit_baseline(Path(tmp) / "probe.sqlite")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        median = statistics.median(latencies)
        print(f"\nincremental recompute: {payees:,} payees, {transactions:,} transactions, month {MONTH}")
        print(f"full run of the month first: {full:.1f}s; LiveEngine prepared in {prepare:.1f}s")
        print(f"{'changes applied':<34}{len(latencies):>10}")
        print(f"{'payees recomputed per change':<34}{statistics.mean(touched):>10.1f} (mean)")
        header = f"{'':<34}{'ms':>10}{'× baseline':>12}"
        print(header)
        print("-" * len(header))
        for label, value in [
            ("median", median),
            ("90th percentile", percentile(latencies, 0.9)),
            ("99th percentile", percentile(latencies, 0.99)),
            ("max", max(latencies)),
            ("baseline: one-row SQLite commit", baseline),
        ]:
            print(f"{label:<34}{value * 1000:>10.1f}{value / baseline:>12.1f}")
        if not args.no_check:
            incremental = snapshot(engine)
            started = time.perf_counter()
            run_period(engine, MONTH, actor="bench")
            verdict = "equal" if snapshot(engine) == incremental else "DIFFERENT"
            print(f"check: a full run after the changes ({time.perf_counter() - started:.1f}s) → {verdict}")
        engine.dispose()


if __name__ == "__main__":
    main()
