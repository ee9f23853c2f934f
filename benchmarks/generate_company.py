"""A seeded large company for the engine benchmark, as Parquet files in the engine's input schemas.

    .venv/bin/python benchmarks/generate_company.py [--transactions 10000000] [--payees 10000] [--out DIR]

Writes one Parquet file per input table of `openspm.calc.inputs.SCHEMAS` (default folder
`benchmarks/out/<scale>/`, e.g. `benchmarks/out/10M/`):

- payees in a 3-level hierarchy: 1% directors, 9% managers, 90% reps (10 reps per manager, 9 managers per
  director); reporting_lines effective-dated, 1% of reps move to another manager mid-year (old line closed,
  new line opened on the same day);
- 200,000 accounts, each owned by one rep (account_assignments, role `owner`, share 1); 10% change owner on a
  day in FY2025 (the old assignment is closed and the new one opened that day);
- 50 products in 5 families; 3 currencies (USD 60%, EUR 30%, GBP 10% of accounts) with FX rates to USD on the
  1st of every month of 2025;
- transactions over the 12 months of FY2025 (calendar year), 1% of them returns of an earlier sale of the same
  chunk (same account and currency, negative amount, dated 0-30 days after the sale);
- plan_assignments of every payee to plan `bench` with a target incentive, and yearly FY2025 quotas for the
  measures `bookings` and `bookings_ytd` (the same amount).

Money is made from integer cents (and FX rates from integer millionths), never from floats: the unscaled
integers are reinterpreted as decimal128 with 2 (or 6) places and then widened to decimal128(38, 12).
Transactions are generated and written in chunks, so memory stays bounded whatever the count.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openspm.calc.inputs import SCHEMAS
from openspm.engine.duckdb import ARROW_MONEY

ACCOUNTS = 200_000
FAMILIES = ("Cloud", "Hardware", "Services", "Software", "Support")
PRODUCTS_PER_FAMILY = 10
CURRENCIES = ("USD", "EUR", "GBP")
YEAR_START = date(2025, 1, 1)
DAYS = 365
EPOCH = date(1970, 1, 1)
CHUNK = 1_000_000
PLAN = "bench"
MEAN_DEAL_CENTS = 500_000  # unit price × quantity averages about 5,000 (in the deal's currency)
#: EUR and GBP → USD, in millionths, one per month of 2025.
FX_MICROS = {
    "EUR": [1_080_000 + 2_500 * m for m in range(12)],
    "GBP": [1_270_000 - 1_500 * m for m in range(12)],
}
ROOT = Path(__file__).resolve().parent


def scale_name(transactions: int) -> str:
    """`1M`, `10M`, `250k`, ... for a folder name."""
    if transactions % 1_000_000 == 0:
        return f"{transactions // 1_000_000}M"
    if transactions % 1_000 == 0:
        return f"{transactions // 1_000}k"
    return str(transactions)


def schema(name: str) -> pa.Schema:
    return pa.schema([pa.field(column, kind) for column, kind in SCHEMAS[name]])


def money(units: np.ndarray[Any, Any], places: int) -> pa.Array:
    """Integers in units of 10^-places (cents: places=2) as exact decimal128(38, 12)."""
    whole = pa.array(units.astype(np.int64), type=pa.int64()).cast(pa.decimal128(38, 0))
    scaled = pa.Array.from_buffers(pa.decimal128(38, places), len(whole), whole.buffers())
    return scaled.cast(ARROW_MONEY)


def dates(days_since_year_start: np.ndarray[Any, Any]) -> pa.Array:
    offset = (YEAR_START - EPOCH).days
    values = (days_since_year_start.astype(np.int32) + offset).astype(np.int32)
    return pa.Array.from_buffers(pa.date32(), len(values), [None, pa.py_buffer(values)])


def day(offset: int) -> date:
    return YEAR_START + timedelta(days=int(offset))


def write(folder: Path, name: str, columns: dict[str, Any]) -> None:
    table = pa.table({c: columns[c] for c, _ in SCHEMAS[name]}, schema=schema(name))
    pq.write_table(table, folder / f"{name}.parquet")


class Company:
    """The reference data of the company; transactions are drawn against it."""

    def __init__(self, payees: int, transactions: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.directors = max(1, payees // 100)
        self.managers = max(1, payees * 9 // 100)
        self.reps = payees - self.directors - self.managers
        self.payees = payees
        self.transactions = transactions
        # payee ids: directors 1.., managers next, reps last
        self.director_ids = np.arange(1, self.directors + 1)
        self.manager_ids = np.arange(self.directors + 1, self.directors + self.managers + 1)
        self.rep_ids = np.arange(self.directors + self.managers + 1, payees + 1)
        self.account_currency = self.rng.choice(3, size=ACCOUNTS, p=[0.6, 0.3, 0.1])

    # --- reference tables ---------------------------------------------------------------

    def write_reference(self, folder: Path) -> None:
        rng = self.rng
        n = ACCOUNTS
        products = np.arange(1, len(FAMILIES) * PRODUCTS_PER_FAMILY + 1)
        write(
            folder,
            "products",
            {
                "id": pa.array(products, pa.int64()),
                "external_id": pa.array([f"SKU{i}" for i in products]),
                "name": pa.array([f"Product {i}" for i in products]),
                "family": pa.array([FAMILIES[(i - 1) // PRODUCTS_PER_FAMILY] for i in products]),
            },
        )
        regions = np.array(["NA", "EMEA", "UK"])[self.account_currency]
        write(
            folder,
            "accounts",
            {
                "id": pa.array(np.arange(1, n + 1), pa.int64()),
                "external_id": pa.array([f"A{i}" for i in range(1, n + 1)]),
                "name": pa.array([f"Account {i}" for i in range(1, n + 1)]),
                "industry": pa.array(np.array(["Tech", "Retail", "Finance", "Health"])[rng.integers(0, 4, n)]),
                "size": pa.array(np.array(["S", "M", "L"])[rng.integers(0, 3, n)]),
                "segment": pa.array(np.array(["SMB", "MM", "ENT"])[rng.integers(0, 3, n)]),
                "country": pa.array(np.array(["US", "DE", "GB"])[self.account_currency]),
                "region": pa.array(regions),
                "city": pa.array(np.array(["New York", "Berlin", "London"])[self.account_currency]),
            },
        )
        ids = np.arange(1, self.payees + 1)
        roles = np.where(
            ids <= self.directors, "Director", np.where(ids <= self.directors + self.managers, "Manager", "Rep")
        )
        write(
            folder,
            "payees",
            {
                "id": pa.array(ids, pa.int64()),
                "external_id": pa.array([f"P{i:06d}" for i in ids]),
                "name": pa.array([f"Payee {i}" for i in ids]),
                "region": pa.array(np.array(["NA", "EMEA", "UK"])[ids % 3]),
                "role": pa.array(roles),
                "seniority": pa.array(np.array(["junior", "senior"])[ids % 2]),
                "hire_date": pa.array([date(2020, 1, 1)] * self.payees, pa.date32()),
                "termination_date": pa.nulls(self.payees, pa.date32()),
                "pay_currency": pa.array(["USD"] * self.payees),
            },
        )
        self._write_reporting_lines(folder)
        self._write_account_assignments(folder)
        self._write_fx(folder)
        self._write_plan_and_quotas(folder)

    def _write_reporting_lines(self, folder: Path) -> None:
        rng = self.rng
        payee: list[int] = []
        manager: list[int] = []
        start: list[date] = []
        end: list[date | None] = []
        since = date(2024, 1, 1)
        for i, m in enumerate(self.manager_ids):
            payee.append(int(m))
            manager.append(int(self.director_ids[i % self.directors]))
            start.append(since)
            end.append(None)
        movers = set(rng.choice(self.rep_ids, size=max(1, self.reps // 100), replace=False).tolist())
        for i, r in enumerate(self.rep_ids):
            boss = int(self.manager_ids[i % self.managers])
            if int(r) in movers:
                moved = day(int(rng.integers(30, 330)))
                new_boss = int(self.manager_ids[(i + 1) % self.managers])
                payee += [int(r), int(r)]
                manager += [boss, new_boss]
                start += [since, moved]
                end += [moved, None]
            else:
                payee.append(int(r))
                manager.append(boss)
                start.append(since)
                end.append(None)
        write(
            folder,
            "reporting_lines",
            {
                "payee_id": pa.array(payee, pa.int64()),
                "manager_id": pa.array(manager, pa.int64()),
                "effective_from": pa.array(start, pa.date32()),
                "effective_to": pa.array(end, pa.date32()),
            },
        )

    def _write_account_assignments(self, folder: Path) -> None:
        rng = self.rng
        owner = self.rep_ids[rng.integers(0, self.reps, ACCOUNTS)]
        changes = rng.random(ACCOUNTS) < 0.10
        change_day = rng.integers(1, DAYS, ACCOUNTS)
        new_owner = self.rep_ids[rng.integers(0, self.reps, ACCOUNTS)]
        accounts = np.arange(1, ACCOUNTS + 1)
        since = (date(2024, 1, 1) - YEAR_START).days
        a_account = np.concatenate([accounts, accounts[changes]])
        a_payee = np.concatenate([owner, new_owner[changes]])
        a_from = np.concatenate([np.full(ACCOUNTS, since), change_day[changes]])
        to_days = np.where(changes, change_day, 0)
        n_new = int(changes.sum())
        a_to = pa.array(
            [int(d) if c else None for d, c in zip(to_days.tolist(), changes.tolist(), strict=True)] + [None] * n_new,
            pa.int32(),
        )
        offset = (YEAR_START - EPOCH).days
        a_to = pc.add(a_to, pa.scalar(offset, pa.int32())).cast(pa.date32())
        write(
            folder,
            "account_assignments",
            {
                "account_id": pa.array(a_account, pa.int64()),
                "payee_id": pa.array(a_payee, pa.int64()),
                "role": pa.array(["owner"] * len(a_account)),
                "share": money(np.full(len(a_account), 1), 0),
                "effective_from": dates(a_from),
                "effective_to": a_to,
            },
        )

    def _write_fx(self, folder: Path) -> None:
        rows = [(c, date(2025, m + 1, 1), FX_MICROS[c][m]) for c in ("EUR", "GBP") for m in range(12)]
        write(
            folder,
            "fx_rates",
            {
                "from_currency": pa.array([r[0] for r in rows]),
                "to_currency": pa.array(["USD"] * len(rows)),
                "effective_date": pa.array([r[1] for r in rows], pa.date32()),
                "rate": money(np.array([r[2] for r in rows]), 6),
            },
        )

    def expected_rep_bookings_cents(self) -> float:
        """Roughly what a rep books in a year in USD (for quotas around 100% attainment)."""
        mean_rate = 0.6 + 0.3 * 1.09 + 0.1 * 1.26
        return self.transactions * 0.98 * MEAN_DEAL_CENTS * mean_rate / self.reps

    def _write_plan_and_quotas(self, folder: Path) -> None:
        rng = self.rng
        ids = np.arange(1, self.payees + 1)
        rep = self.expected_rep_bookings_cents() / 100
        team = np.where(
            ids <= self.directors,
            self.reps / self.directors,
            np.where(ids <= self.directors + self.managers, self.reps / self.managers, 1.0),
        )
        # whole dollars, so attainment bands (bounds × quota) are exact
        quota_dollars = np.maximum(1, np.round(rep * team * rng.uniform(0.75, 1.25, self.payees))).astype(np.int64)
        target_dollars = np.round(quota_dollars * 0.045).astype(np.int64)
        write(
            folder,
            "plan_assignments",
            {
                "payee_id": pa.array(ids, pa.int64()),
                "plan": pa.array([PLAN] * self.payees),
                "effective_from": pa.array([YEAR_START] * self.payees, pa.date32()),
                "effective_to": pa.nulls(self.payees, pa.date32()),
                "target_incentive": money(target_dollars, 0),
                "parameters": pa.nulls(self.payees, pa.string()),
            },
        )
        write(
            folder,
            "quotas",
            {
                "payee_id": pa.array(np.concatenate([ids, ids]), pa.int64()),
                "measure": pa.array(["bookings"] * self.payees + ["bookings_ytd"] * self.payees),
                "period": pa.array(["FY2025"] * (2 * self.payees)),
                "amount": money(np.concatenate([quota_dollars, quota_dollars]), 0),
            },
        )

    # --- transactions -------------------------------------------------------------------

    def transaction_chunk(self, first_id: int, n: int) -> pa.Table:
        rng = self.rng
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        account = rng.integers(1, ACCOUNTS + 1, n)
        product = rng.integers(1, len(FAMILIES) * PRODUCTS_PER_FAMILY + 1, n)
        quantity = rng.integers(1, 11, n)
        unit_cents = np.maximum(100, np.round(rng.lognormal(np.log(MEAN_DEAL_CENTS / 5.5) - 0.32, 0.8, n)))
        amount = quantity * unit_cents.astype(np.int64)
        list_amount = amount + amount // 10
        days = rng.integers(0, DAYS, n)
        kind = np.full(n, "sale", dtype=object)
        original = np.full(n, -1, dtype=np.int64)
        # 1% returns: of an earlier sale of this chunk, same account (currency), 0-30 days later
        returns = np.nonzero(rng.random(n) < 0.01)[0]
        returns = returns[returns > 0]
        sources = (rng.random(len(returns)) * returns).astype(np.int64)
        keep = ~np.isin(sources, returns)  # a return's original is a sale
        returns, sources = returns[keep], sources[keep]
        kind[returns] = "return"
        original[returns] = ids[sources]
        account[returns] = account[sources]
        product[returns] = product[sources]
        quantity[returns] = -1
        amount[returns] = -(amount[sources] // np.maximum(quantity[sources], 1))
        list_amount[returns] = amount[returns] + amount[returns] // 10
        days[returns] = np.minimum(days[sources] + rng.integers(0, 31, len(returns)), DAYS - 1)
        currency = np.array(CURRENCIES)[self.account_currency[account - 1]]
        original_ids = pa.array(original, pa.int64())
        original_ids = pc.if_else(pc.equal(original_ids, -1), pa.scalar(None, pa.int64()), original_ids)
        return pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "external_id": pa.array(np.char.add("T", ids.astype(str)).tolist(), pa.string()),
                "date": dates(days),
                "type": pa.array(kind.tolist(), pa.string()),
                "account_id": pa.array(account, pa.int64()),
                "product_id": pa.array(product, pa.int64()),
                "quantity": money(quantity, 0),
                "amount": money(amount, 2),
                "currency": pa.array(currency.tolist(), pa.string()),
                "list_amount": money(list_amount, 2),
                "original_id": original_ids,
                "owner_id": pa.nulls(n, pa.int64()),
            },
            schema=schema("transactions"),
        )

    def write_transactions(self, folder: Path, chunk: int = CHUNK) -> None:
        with pq.ParquetWriter(folder / "transactions.parquet", schema("transactions")) as writer:
            done = 0
            while done < self.transactions:
                n = min(chunk, self.transactions - done)
                writer.write_table(self.transaction_chunk(done + 1, n), row_group_size=min(n, 1_000_000))
                done += n


def generate(transactions: int, payees: int, out: Path, seed: int = 2025) -> Path:
    """Write the company to `out` (created); returns the folder."""
    out.mkdir(parents=True, exist_ok=True)
    company = Company(payees, transactions, seed)
    company.write_reference(out)
    company.write_transactions(out)
    for name in ("splits", "account_territories", "territory_assignments"):
        write(out, name, {c: pa.array([], type=t) for c, t in SCHEMAS[name]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--payees", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/out/<scale>/")
    args = parser.parse_args()
    out = args.out or ROOT / "out" / scale_name(args.transactions)
    started = time.perf_counter()
    generate(args.transactions, args.payees, out, args.seed)
    size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    print(
        f"wrote {args.transactions:,} transactions, {args.payees:,} payees, {ACCOUNTS:,} accounts to {out} "
        f"({size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
