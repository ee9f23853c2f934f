"""Columnar reads of a SQLite store file through ADBC: query results straight into Arrow record batches.

Python's SQLite driver builds a Python object per value; the ADBC SQLite driver fills Arrow buffers in C, so
reading millions of rows takes a fraction of the time and memory. The ADBC driver carries its own copy of
SQLite, and two copies of SQLite must never open the same file in one process (their POSIX locks do not see
each other: a reader misses committed WAL frames, and closing one copy's file can drop the other's locks,
see https://sqlite.org/howtocorrupt.html#multiple_copies_of_sqlite_linked_into_the_same_application). So the
query runs in a child process (`openspm.store.adbc_child`) that streams Arrow IPC back through a pipe; that
also overlaps SQLite's scan (child) with the type conversions (parent) on two cores.

The driver infers each column's Arrow type from the values of a result's first batch (an all-NULL column
becomes int64), so queries must make nullable text columns non-NULL (e.g. `ifnull(x, '')`). In-memory
SQLite and PostgreSQL stay on the SQLAlchemy driver.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

import pyarrow as pa
from sqlalchemy import Engine

T = TypeVar("T")


class ReadError(Exception):
    """The ADBC read failed (e.g. a column changing type mid-result); the caller falls back to the driver."""


class WriteError(Exception):
    """The ADBC write failed; nothing was written (the child's transaction did not commit)."""


def sqlite_file(engine: Engine) -> str | None:
    """The SQLite file `engine` points at; None for in-memory SQLite, URI filenames and other databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.query:
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def batches(path: str, sql: str, parameters: Sequence[str | int] = ()) -> Iterator[pa.RecordBatch]:
    """The record batches of one read-only query (`?` parameters) on the SQLite file `path`, streamed.

    Raises ReadError after the last batch when the child failed, so a caller must consume every batch."""
    request = json.dumps({"path": path, "sql": sql, "parameters": list(parameters)})
    command = [sys.executable, "-m", "openspm.store.adbc_child"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe) as child:  # noqa: S603 - our own module
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        child.stdin.write(request.encode())
        child.stdin.close()
        try:
            yield from _stream(child.stdout)
        finally:
            child.stdout.close()
            error = child.stderr.read().decode(errors="replace").strip()
            code = child.wait()
    if code != 0:
        raise ReadError(error or f"the ADBC reader exited with status {code}")


def ingest(path: str, table: str, data: pa.Table) -> None:
    """Write `data` into the new table `table` of the SQLite file `path`, committed, through ADBC in a child
    process (Arrow buffers bound in C: a few times faster than the Python driver's executemany). Raises
    WriteError when the child failed."""
    request = json.dumps({"path": path, "ingest": table}) + "\n"
    command = [sys.executable, "-m", "openspm.store.adbc_child"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe) as child:  # noqa: S603 - our own module
        assert child.stdin is not None and child.stderr is not None
        try:
            child.stdin.write(request.encode())
            with pa.ipc.new_stream(child.stdin, data.schema) as writer:
                writer.write_table(data, max_chunksize=65_536)
            child.stdin.close()
        except BrokenPipeError:  # the child failed before reading it all: its error says why
            pass
        error = child.stderr.read().decode(errors="replace").strip()
        code = child.wait()
    if code != 0:
        raise WriteError(error or f"the ADBC writer exited with status {code}")


def parallel(
    path: str, queries: Sequence[tuple[str, Sequence[str | int]]], convert: Callable[[pa.RecordBatch], T]
) -> list[list[T]]:
    """Several read-only queries (sql, parameters) on the SQLite file `path` at once, each in its own child
    process and read by its own thread, `convert` applied to each record batch as it arrives (Arrow's IPC
    reading and compute release the GIL, so the threads overlap). The converted batches per query, in the
    order of `queries`; the first `ReadError` is raised after every query has ended."""

    def one(query: tuple[str, Sequence[str | int]]) -> list[T]:
        return [convert(batch) for batch in batches(path, *query)]

    if len(queries) <= 1:
        return [one(q) for q in queries]
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        futures = [pool.submit(one, q) for q in queries]
        wait(futures)
        return [f.result() for f in futures]


def _stream(source: Any) -> Iterator[pa.RecordBatch]:
    """Record batches of an Arrow IPC stream; nothing when the stream is empty (the child failed first)."""
    try:
        reader = pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        return
    yield from reader
