"""`fetch_batches` streams the same rows, typed the same way, as `fetch`."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pyarrow as pa

from openspm.engine.duckdb import ARROW_MONEY, MONEY, connect
from openspm.engine.execute import fetch, fetch_batches, materialize


def test_batches_hold_the_rows_and_types_of_one_fetch() -> None:
    con = connect()
    rows = 5_000
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "name": pa.array([f"T-{i:05d}" if i % 7 else None for i in range(rows)], pa.string()),
            "amount": pa.array([Decimal(i).scaleb(-2) for i in range(rows)], ARROW_MONEY),
        }
    )
    held = materialize(con, ibis.memtable(table))  # a table held by DuckDB, as the pipeline reads
    view = held.mutate(level=ibis.literal(1), doubled=(held.amount * 2).cast(MONEY)).order_by("id")
    whole = fetch(con, view)
    parts = list(fetch_batches(con, view, rows=2_048))
    assert len(parts) > 1 and all(p.num_rows <= 2_048 for p in parts)
    assert all(p.schema == whole.schema for p in parts)
    assert pa.concat_tables(parts).equals(whole)
    # The connection is still usable afterwards (the cursor DuckDB streams from is the connection itself).
    assert fetch(con, held.count().as_table()).num_rows == 1


def test_an_empty_result_yields_no_batch() -> None:
    con = connect()
    t = ibis.memtable(pa.table({"id": pa.array([1, 2], pa.int64())}))
    assert list(fetch_batches(con, t.filter(t.id > 5))) == []
