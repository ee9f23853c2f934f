"""Running Ibis expressions on the run's backend, whichever it is (DuckDB, PySpark).

Stages build expressions over `ibis.memtable`s (Arrow inputs) or tables the
backend reads itself (Parquet); these helpers execute them on the connection
the run was given, never on a global default:

- `fetch(con, expr)` → an Arrow table;
- `materialize(con, expr)` → a table held by the backend (DuckDB: a temporary
  table; Spark: a cached DataFrame), so later queries read it instead of
  recomputing it;
- `fetch_batches(con, expr)` → the same rows as Arrow tables of at most `rows` rows each, streamed (DuckDB
  converts one batch at a time instead of the whole result at once);
- `source(con, name, value)` → an Ibis table for an Arrow table or a Parquet path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

_names = itertools.count(1)


def backend_name(con: Any) -> str:
    """'duckdb', 'pyspark', ..."""
    return str(getattr(con, "name", "duckdb"))


def fetch(con: Any, expr: Any) -> pa.Table:
    """The expression's rows as an Arrow table, computed on `con`."""
    return con.to_pyarrow(expr)


def fetch_batches(con: Any, expr: Any, rows: int = 262_144) -> Iterator[pa.Table]:
    """The expression's rows as a stream of Arrow tables of at most `rows` rows, typed as `fetch` types them.

    On DuckDB the result is converted one batch at a time: `fetch` converts the whole result while DuckDB
    still holds it (the converted buffers grow by doubling), which at 10M transactions was the run's peak of
    memory. Other backends yield `fetch`'s table whole."""
    if backend_name(con) != "duckdb":
        yield fetch(con, expr)
        return
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    table = expr.as_table()
    con._run_pre_execute_hooks(table)  # registers the Arrow inputs (memtables) the query reads, as fetch does
    cursor = con.raw_sql(con.compile(table))
    for batch in cursor.to_arrow_reader(rows):  # the cursor is the connection itself: not closed
        yield table.__pyarrow_result__(pa.Table.from_batches([batch]), data_mapper=DuckDBPyArrowData)


def materialize(con: Any, expr: Any, prefix: str = "openspm") -> Any:
    """The expression computed once and held by the backend; returns a table expression reading it."""
    name = f"{prefix}_{next(_names)}"
    if backend_name(con) == "duckdb":
        return con.create_table(name, expr, temp=True)
    cached = con.create_view(name, expr, overwrite=True) if hasattr(con, "create_view") else expr
    return cached.cache()


def source(con: Any, name: str, value: pa.Table | Path | str) -> Any:
    """An Ibis table over an input: an Arrow table (in memory) or a Parquet file or folder the backend reads."""
    if isinstance(value, pa.Table):
        return ibis.memtable(value)
    return con.read_parquet(str(value), table_name=f"input_{name}_{next(_names)}")
