"""Bulk writes: many rows into one table, fast, on SQLite and PostgreSQL.

The importer and the runs service write hundreds of thousands of rows at a time; going through ORM objects or
per-row parameter dicts costs minutes. `insert_columns` takes the rows column by column and converts each
column with its type's own bind processor; `insert_arrow` takes an Arrow table and converts its money and
date columns to their stored text in Arrow, so millions of rows never become Decimal or date objects.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain
from typing import Any, cast
from uuid import uuid4

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import JSON, Date, Engine, Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from openspm.store import columnar
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
    dialect = session.connection().dialect
    data = [_bound(table, name, values, dialect) for name, values in columns.items()]
    _write_rows(session, table, list(columns), list(zip(*data, strict=True)))


def _bound(table: Table, name: str, values: list[Any], dialect: Any) -> list[Any]:
    """One column's Python values as the driver's parameters (the column type's bind processor)."""
    column_type = table.c[name].type
    if isinstance(column_type, JSON):  # most rows carry no attributes: skip the encoder for them
        return [None if v is None else "{}" if not v else json.dumps(v) for v in values]
    if isinstance(column_type, ExactDecimal) and dialect.name == "sqlite":
        return [None if v is None else format(v, "f") for v in values]
    processor = column_type.bind_processor(dialect)
    if processor is None:
        return values
    first = values[0] if values else None
    if len(values) > 1 and all(v is first for v in values):  # one object for every row (a time stamp)
        bound = processor(first)
        if isinstance(bound, datetime) and dialect.name == "sqlite":
            bound = bound.isoformat(" ")  # what sqlite3's default adapter would store for each row
        return [bound] * len(values)
    return [processor(v) for v in values]


def insert_arrow(session: Session, table: Table, data: pa.Table, constants: dict[str, Any] | None = None) -> None:
    """Insert the rows of `data` (Arrow columns named as `table`'s) with `constants` (column → the value of
    every row), the same rows `insert_columns` would store, `ARROW_SLICE` rows at a time.

    Decimal and date columns go to the driver as their canonical text, converted in Arrow (`canonical_text`);
    other columns through their Python values."""
    for offset in range(0, data.num_rows, ARROW_SLICE):
        with paused_gc():
            _insert_slice(session, table, data.slice(offset, ARROW_SLICE), constants or {})


ARROW_SLICE = 500_000  # rows of an Arrow table turned into Python values at a time (bounded memory)


def _insert_slice(session: Session, table: Table, data: pa.Table, constants: dict[str, Any]) -> None:
    """`insert_arrow` for rows few enough to hold as Python values."""
    count = data.num_rows
    dialect = session.connection().dialect
    columns: dict[str, list[Any]] = {}
    for name in data.column_names:
        column = data[name]
        text_type = isinstance(table.c[name].type, ExactDecimal | Date)
        if text_type and (pa.types.is_decimal(column.type) or pa.types.is_date(column.type)):
            columns[name] = canonical_text(column).to_pylist()
        else:
            columns[name] = _bound(table, name, column.to_pylist(), dialect)
    for name, value in constants.items():
        columns[name] = _bound(table, name, [value], dialect) * count
    given = set(columns)
    _with_defaults(table, columns, count)
    for name in columns.keys() - given:
        columns[name] = _bound(table, name, columns[name], dialect)
    _write_rows(session, table, list(columns), list(zip(*columns.values(), strict=True)))


@dataclass(frozen=True)
class Staged:
    """Rows for `table` written ahead into the SQLite staging table `name` (columns `columns`), moved into
    `table` by `insert_staged` inside the caller's transaction."""

    table: Table
    name: str
    columns: list[str]


def stage_arrow(engine: Engine, table: Table, data: pa.Table) -> Staged | None:
    """Write the rows of `data` (Arrow columns named as `table`'s) into a new staging table of the SQLite file
    behind `engine`, through ADBC, committed (outside any transaction of the caller's). The stored values are
    those `insert_arrow` would store: money and dates as their canonical text.

    None (nothing written) when the store is not a SQLite file, there are no rows, a column needs Python's
    bind processing (JSON, time stamps), the table has column defaults to fill, or the ADBC write failed:
    `insert_arrow` then."""
    path = columnar.sqlite_file(engine)
    if path is None or not data.num_rows or not _stageable(table, data):
        return None
    columns = {}
    for name in data.column_names:
        column = data[name]
        plain = pa.types.is_decimal(column.type) or pa.types.is_date(column.type)
        columns[name] = canonical_text(column) if plain else column
    staged = Staged(table, f"staged_{table.name}_{uuid4().hex}", list(data.column_names))
    try:
        columnar.ingest(path, staged.name, pa.table(columns))
    except columnar.WriteError:  # e.g. another writer held the file too long: the driver path writes them
        return None
    return staged


def _stageable(table: Table, data: pa.Table) -> bool:
    """Whether `data` can go to `table` through a staging table: only text, integer, money and date columns,
    and no column left out that has a default to fill."""
    for name in data.column_names:
        kind, column_type = data[name].type, table.c[name].type
        if pa.types.is_decimal(kind) or pa.types.is_date(kind):
            if not isinstance(column_type, ExactDecimal | Date):
                return False
        elif not (pa.types.is_string(kind) or pa.types.is_integer(kind)) or isinstance(column_type, JSON):
            return False
    given = set(data.column_names)
    return all(c.name in given or c.primary_key or c.default is None for c in table.columns)


def insert_staged(session: Session, staged: Staged, constants: dict[str, Any]) -> None:
    """Move staged rows into their table, with `constants` (column → the value of every row), and drop the
    staging table: both in the session's transaction, so they commit (or roll back) with the rest."""
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = [*staged.columns, *constants]
    values = [_bound(staged.table, name, [value], dialect)[0] for name, value in constants.items()]
    selected = ", ".join([*(quote(c) for c in staged.columns), *("?" for _ in constants)])
    connection.exec_driver_sql(
        f"INSERT INTO {quote(staged.table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - our names
        f"SELECT {selected} FROM {quote(staged.name)}",
        tuple(values),
    )
    connection.exec_driver_sql(f"DROP TABLE {quote(staged.name)}")


def drop_staged(engine: Engine, staged: Staged) -> None:
    """Remove a staging table whose rows were never moved in (the run failed)."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {connection.dialect.identifier_preparer.quote(staged.name)}")


def canonical_text(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Arrow decimals or dates as the text the store keeps: `format(Decimal, "f")` ('0.000000000000', never
    Arrow's '0E-12') and ISO dates."""
    text = pc.cast(values, pa.string())
    if not pa.types.is_decimal(values.type):
        return text
    scientific = pc.unique(text.filter(pc.match_substring(text, "E")))
    if not len(scientific):
        return text
    plain = pa.array([format(Decimal(v), "f") for v in scientific.to_pylist()], pa.string())
    found = pc.index_in(text, value_set=scientific)
    return pc.if_else(pc.is_valid(found), pc.take(plain, found), text)


def _write_rows(session: Session, table: Table, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows of driver parameters into `table`: one prepared INSERT on SQLite, COPY on PostgreSQL."""
    connection = session.connection()
    dialect = connection.dialect
    columns = names
    quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    if dialect.name == "postgresql":
        _copy_rows(connection.connection.dbapi_connection, f"COPY {table.name} ({quoted}) FROM STDIN", rows)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    row_marks = f"({', '.join([mark] * len(columns))})"
    per = max(1, MAX_PARAMETERS // len(columns))  # rows per INSERT: fewer statement steps for the driver
    full = len(rows) - len(rows) % per
    insert = f"INSERT INTO {table.name} ({quoted}) VALUES "  # noqa: S608
    with paused_gc():  # millions of parameter tuples and lists: none can be part of a reference cycle
        if full:
            flat = [tuple(chain.from_iterable(rows[i : i + per])) for i in range(0, full, per)]
            connection.exec_driver_sql(insert + ", ".join([row_marks] * per), flat)
        if full < len(rows):
            connection.exec_driver_sql(insert + row_marks, rows[full:])


MAX_PARAMETERS = 999  # SQLite's smallest limit on the parameters of one statement (before 3.32)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector (it rescans every live tuple as millions are made), then restore it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _copy_rows(dbapi: Any, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Stream rows into PostgreSQL with psycopg's COPY."""
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
