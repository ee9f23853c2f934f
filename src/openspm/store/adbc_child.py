"""The child process of `openspm.store.columnar`: one read-only ADBC query, streamed as Arrow IPC.

    echo '{"path": "store.db", "sql": "SELECT ...", "parameters": []}' | python -m openspm.store.adbc_child

Reads the request (JSON) from stdin and writes the result's record batches to stdout as an Arrow IPC stream.
Imports nothing that loads Python's own SQLite library: only ADBC's copy of SQLite opens the file here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import adbc_driver_sqlite
import adbc_driver_sqlite.dbapi
import pyarrow as pa

BATCH_ROWS = 65_536  # rows per record batch (and the rows the driver looks at to infer the column types)


def main() -> None:
    """Run the request on stdin; the batches to stdout, or the error on one line of stderr (exit status 1)."""
    try:
        query(json.loads(sys.stdin.read()))
    except Exception as exc:  # reported to the parent, which falls back to the driver
        sys.stderr.write(" ".join(f"{type(exc).__name__}: {exc}".split()))
        sys.exit(1)


def query(request: dict[str, Any]) -> None:
    """Run one request (path, sql, parameters) and stream its record batches to stdout."""
    with adbc_driver_sqlite.dbapi.connect(request["path"]) as connection, connection.cursor() as cursor:
        with connection.cursor() as pragma:
            pragma.execute("PRAGMA query_only = ON")
        cursor.adbc_statement.set_options(**{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(BATCH_ROWS)})
        cursor.execute(request["sql"], tuple(request["parameters"]))
        reader = cursor.fetch_record_batch()
        with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)


if __name__ == "__main__":
    main()
