"""The input tables of a run, as Arrow tables with fixed schemas.

The runs service fills `Inputs` from the store (or a scenario folder, or
Parquet); stages see them as Ibis tables. Money, rates and shares are
`decimal128(38, 12)`; dates are `date32`; ids are int64; free attributes a plan
uses are extra text columns named `attr_<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from openspm.engine.duckdb import ARROW_MONEY

ID = pa.int64()
TEXT = pa.string()
DATE = pa.date32()

SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "transactions": [
        ("id", ID),
        ("external_id", TEXT),
        ("date", DATE),
        ("type", TEXT),
        ("account_id", ID),
        ("product_id", ID),
        ("quantity", ARROW_MONEY),
        ("amount", ARROW_MONEY),
        ("currency", TEXT),
        ("list_amount", ARROW_MONEY),
        ("original_id", ID),
        ("owner_id", ID),
    ],
    "products": [("id", ID), ("external_id", TEXT), ("name", TEXT), ("family", TEXT)],
    "accounts": [
        ("id", ID),
        ("external_id", TEXT),
        ("name", TEXT),
        ("industry", TEXT),
        ("size", TEXT),
        ("segment", TEXT),
        ("country", TEXT),
        ("region", TEXT),
        ("city", TEXT),
    ],
    "payees": [
        ("id", ID),
        ("external_id", TEXT),
        ("name", TEXT),
        ("region", TEXT),
        ("role", TEXT),
        ("seniority", TEXT),
        ("hire_date", DATE),
        ("termination_date", DATE),
        ("pay_currency", TEXT),
    ],
    "splits": [("transaction_id", ID), ("payee_id", ID), ("role", TEXT), ("share", ARROW_MONEY)],
    "account_assignments": [
        ("account_id", ID),
        ("payee_id", ID),
        ("role", TEXT),
        ("share", ARROW_MONEY),
        ("effective_from", DATE),
        ("effective_to", DATE),
    ],
    "account_territories": [("account_id", ID), ("territory_id", ID), ("effective_from", DATE), ("effective_to", DATE)],
    "territory_assignments": [
        ("territory_id", ID),
        ("payee_id", ID),
        ("role", TEXT),
        ("share", ARROW_MONEY),
        ("effective_from", DATE),
        ("effective_to", DATE),
    ],
    "reporting_lines": [("payee_id", ID), ("manager_id", ID), ("effective_from", DATE), ("effective_to", DATE)],
    "fx_rates": [("from_currency", TEXT), ("to_currency", TEXT), ("effective_date", DATE), ("rate", ARROW_MONEY)],
    "plan_assignments": [
        ("payee_id", ID),
        ("plan", TEXT),
        ("effective_from", DATE),
        ("effective_to", DATE),
        ("target_incentive", ARROW_MONEY),
        ("parameters", TEXT),
    ],
    "quotas": [("payee_id", ID), ("measure", TEXT), ("period", TEXT), ("amount", ARROW_MONEY)],
}

ATTRIBUTE_TABLES = {"transaction": "transactions", "product": "products", "account": "accounts", "payee": "payees"}


def empty(name: str) -> pa.Table:
    """An empty input table with its schema."""
    return pa.table({c: pa.array([], type=t) for c, t in SCHEMAS[name]})


def table(name: str, columns: dict[str, list[Any]], attributes: dict[str, list[str | None]] | None = None) -> pa.Table:
    """An input table from Python columns (plus `attr_<name>` text columns)."""
    arrays = {c: pa.array(columns[c], type=t) for c, t in SCHEMAS[name]}
    for attr, values in (attributes or {}).items():
        arrays[f"attr_{attr}"] = pa.array(values, type=TEXT)
    return pa.table(arrays)


@dataclass
class Inputs:
    """Every table a run reads: Arrow tables in memory, or Parquet files (or folders) the engine reads itself.

    A Parquet input never passes through Python: the engine scans it (DuckDB streams it; Spark reads it on
    the cluster). `get` reads one whole into Arrow, for the small tables the rules read row by row.
    """

    tables: dict[str, pa.Table | Path] = field(default_factory=dict)

    def get(self, name: str) -> pa.Table:
        """The input as Arrow (an empty table with its schema when missing)."""
        value = self.tables.get(name)
        if value is None:
            return empty(name)
        if isinstance(value, pa.Table):
            return value
        return pq.read_table(value)

    def source(self, name: str) -> pa.Table | Path:
        """The input as given (Arrow or a Parquet path), or an empty Arrow table."""
        value = self.tables.get(name)
        return empty(name) if value is None else value

    def rows(self, name: str) -> int:
        value = self.tables.get(name)
        if value is None:
            return 0
        if isinstance(value, pa.Table):
            return int(value.num_rows)
        counted: int = ds.dataset(str(value), format="parquet").count_rows()
        return counted
