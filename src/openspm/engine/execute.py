"""Running Ibis expressions on the run's backend, whichever it is (DuckDB, PySpark).

Stages build expressions over `ibis.memtable`s (Arrow inputs) or tables the
backend reads itself (Parquet); these helpers execute them on the connection
the run was given, never on a global default:

- `fetch(con, expr)` → an Arrow table;
- `materialize(con, expr)` → a table held by the backend (DuckDB: a temporary
  table; Spark: a cached DataFrame), so later queries read it instead of
  recomputing it;
- `source(con, name, value)` → an Ibis table for an Arrow table or a Parquet path.
"""

from __future__ import annotations

import itertools
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
