"""The child process of `openspm.store.columnar`: one ADBC query streamed out, or one table ingested.

    echo '{"path": "store.db", "sql": "SELECT ...", "parameters": []}' | python -m openspm.store.adbc_child

Reads the request (JSON, one line) from stdin. A query (read-only) writes its record batches to stdout as an
Arrow IPC stream. An ingest (`{"path": ..., "ingest": "table"}`) reads an Arrow IPC stream from the rest of
stdin into a new table of that name and commits it. Imports nothing that loads Python's own SQLite library:
only ADBC's copy of SQLite opens the file here. It uses ADBC's low-level driver manager, not its DB-API
module, which imports pandas (a third of a second at every start).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa

BATCH_ROWS = 65_536  # rows per record batch (and the rows the driver looks at to infer the column types)
BUSY_TIMEOUT_MS = 60_000  # wait this long for another writer (a run, an import) to commit


def main() -> None:
    """Run the request on stdin; the batches to stdout, or the error on one line of stderr (exit status 1)."""
    try:
        request = json.loads(sys.stdin.buffer.readline())
        if "ingest" in request:
            ingest(request)
        else:
            query(request)
    except Exception as exc:  # reported to the parent, which falls back to the driver
        sys.stderr.write(" ".join(f"{type(exc).__name__}: {exc}".split()))
        sys.exit(1)


@contextmanager
def statement(path: str, autocommit: bool = True) -> Iterator[tuple[adbc.AdbcConnection, adbc.AdbcStatement]]:
    """A connection to the SQLite file `path` and a statement on it, closed afterwards."""
    with adbc_driver_sqlite.connect(path) as database, adbc.AdbcConnection(database) as connection:
        if not autocommit:
            connection.set_autocommit(False)
        with adbc.AdbcStatement(connection) as stmt:
            yield connection, stmt


def _run(stmt: adbc.AdbcStatement, sql: str) -> None:
    stmt.set_sql_query(sql)
    stmt.execute_update()


def query(request: dict[str, Any]) -> None:
    """Run one request (path, sql, parameters) and stream its record batches to stdout."""
    with statement(request["path"]) as (_connection, stmt):
        _run(stmt, "PRAGMA query_only = ON")
        stmt.set_options(**{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(BATCH_ROWS)})
        stmt.set_sql_query(request["sql"])
        parameters = request["parameters"]
        if parameters:
            row = pa.record_batch([pa.array([p]) for p in parameters], names=[str(i) for i in range(len(parameters))])
            schema, array = row.__arrow_c_array__()
            stmt.bind(array, schema)
        handle, _rows = stmt.execute_query()
        reader = pa.RecordBatchReader.from_stream(handle)
        with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)


def ingest(request: dict[str, Any]) -> None:
    """Create the table `request["ingest"]` from the Arrow IPC stream on stdin, in one committed transaction."""
    reader = pa.ipc.open_stream(sys.stdin.buffer)
    with statement(request["path"], autocommit=False) as (connection, stmt):
        _run(stmt, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        stmt.set_options(
            **{
                adbc.StatementOptions.INGEST_TARGET_TABLE.value: request["ingest"],
                adbc.StatementOptions.INGEST_MODE.value: adbc.INGEST_OPTION_MODE_CREATE,
            }
        )
        stmt.bind_stream(reader.__arrow_c_stream__())
        stmt.execute_update()
        connection.commit()


if __name__ == "__main__":
    main()
