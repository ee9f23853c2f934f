"""Bulk writes: many rows into one table, fast, on SQLite and PostgreSQL.

The importer and the runs service write hundreds of thousands of rows at a time; going through ORM objects or
per-row parameter dicts costs minutes. `insert_columns` takes the rows column by column and converts each
column with its type's own bind processor.
"""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from openspm.store.types import ExactDecimal


def _with_defaults(table: Table, columns: dict[str, list[Any]], count: int) -> None:
    """Add Python-side column defaults (timestamps, flags) that a raw bulk load would skip."""
    for column in table.columns:
        if column.name in columns or column.primary_key or column.default is None:
            continue
        default = column.default
        if isinstance(default, CallableColumnDefault):
            columns[column.name] = [default.arg(cast(Any, None)) for _ in range(count)]
        elif isinstance(default, ScalarElementColumnDefault):
            columns[column.name] = [default.arg] * count


def insert_columns(session: Session, table: Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows given column by column (column → values, all the same length).

    SQLite: one prepared INSERT run by `executemany`; PostgreSQL: `COPY ... FROM STDIN`.
    Values are converted a column at a time with the column type's own bind
    processor, not row by row through the ORM: that is what makes a million-row
    import take seconds instead of minutes.
    """
    count = len(next(iter(columns.values()), []))
    if not count:
        return
    _with_defaults(table, columns, count)
    connection = session.connection()
    dialect = connection.dialect
    data = []
    for name, values in columns.items():
        column_type = table.c[name].type
        if isinstance(column_type, JSON):  # most rows carry no attributes: skip the encoder for them
            data.append([None if v is None else "{}" if not v else json.dumps(v) for v in values])
            continue
        if isinstance(column_type, ExactDecimal) and dialect.name == "sqlite":
            data.append([None if v is None else format(v, "f") for v in values])
            continue
        processor = column_type.bind_processor(dialect)
        data.append(values if processor is None else [processor(v) for v in values])
    rows = list(zip(*data, strict=True))
    quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    if dialect.name == "postgresql":
        _copy_rows(connection.connection.dbapi_connection, f"COPY {table.name} ({quoted}) FROM STDIN", rows)
        return
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", rows)  # noqa: S608


def _copy_rows(dbapi: Any, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Stream rows into PostgreSQL with psycopg's COPY."""
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
