"""Which engine runs the pipeline: DuckDB in-process (the default) or Spark, local or on a cluster.

`connect(name)` returns an Ibis backend; the name comes from the argument, else
`OPENSPM_ENGINE`, else "duckdb". Every query of a run executes through that
backend, so the same stages run on both engines and give the same Decimals.

Spark: one SparkSession per process, created on first use (`spark_session()`);
each `connect("spark")` opens a child session of it (`newSession()`: its own
temporary views and SQL settings, the same JVM and cache), so two runs never
see each other's tables, like two DuckDB connections. Settings:

- `OPENSPM_SPARK_MASTER`: the master URL (default `local[2]`), e.g.
  `spark://host:7077`, `yarn`, `k8s://https://host:6443`;
- `OPENSPM_SPARK_CONF`: any Spark settings, `key=value` pairs separated by
  commas (a piece without `=` continues the previous value, so
  `spark.jars.packages=a:b:1,c:d:2` works), applied after the defaults below.

The defaults make Spark's Decimal arithmetic the same as DuckDB's:
`spark.sql.decimalOperations.allowPrecisionLoss=false` (otherwise Spark
rounds a product of two DECIMAL(24, 12) to 13 places before `mul` rounds it
to 12: a double rounding, e.g. 0.000000000001 × 0.499999999999 gives
0.000000000001 instead of 0), and ANSI mode on (an overflow is an error, as in
DuckDB, not a silent NULL).
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openspm.core.errors import InvalidInput

ENGINES = ("duckdb", "spark")
DEFAULT_MASTER = "local[2]"
INSTALL_HINT = "install the spark extra: pip install 'openspm[spark]'"

# Spark settings of every session; SQL_CONF are runtime settings, set again on each child session.
SQL_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
SPARK_CONF: dict[str, str] = {
    "spark.app.name": "openspm",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    **SQL_CONF,
}
LOCAL_CONF: dict[str, str] = {  # only for local masters: no network name lookups, no folders in the working dir
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "openspm-spark-warehouse"),
}

_lock = threading.Lock()
_session: Any = None


def engine_name(name: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The engine to use: `name`, else `OPENSPM_ENGINE`, else "duckdb"; an unknown name is InvalidInput."""
    env = os.environ if environ is None else environ
    chosen = (name or env.get("OPENSPM_ENGINE") or "duckdb").strip().lower()
    if chosen not in ENGINES:
        raise InvalidInput(f"unknown engine {chosen!r}; use one of {', '.join(ENGINES)}")
    return chosen


def connect(name: str | None = None) -> Any:
    """A fresh Ibis backend on the chosen engine (see `engine_name`): DuckDB in memory, or a Spark session."""
    if engine_name(name) == "duckdb":
        from openspm.engine.duckdb import connect as duckdb_connect

        return duckdb_connect()
    return connect_spark()


def parse_conf(text: str) -> dict[str, str]:
    """`OPENSPM_SPARK_CONF` text → settings: "a=1,b=x,y" → {"a": "1", "b": "x,y"}."""
    conf: dict[str, str] = {}
    key: str | None = None
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece:
            key, value = (part.strip() for part in piece.split("=", 1))
            if not key:
                raise InvalidInput(f"OPENSPM_SPARK_CONF: {piece!r} has no key; write key=value,key=value")
            conf[key] = value
        elif key is None:
            raise InvalidInput(f"OPENSPM_SPARK_CONF: {piece!r} is not key=value; write key=value,key=value")
        else:
            conf[key] += "," + piece
    return conf


def spark_conf(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every setting the shared SparkSession starts with: defaults, master, then `OPENSPM_SPARK_CONF`."""
    env = os.environ if environ is None else environ
    master = env.get("OPENSPM_SPARK_MASTER") or DEFAULT_MASTER
    conf = {**SPARK_CONF, "spark.master": master}
    if master.startswith("local"):
        conf |= LOCAL_CONF
    return conf | parse_conf(env.get("OPENSPM_SPARK_CONF", ""))


def _pyspark() -> Any:
    """The pyspark.sql module, or InvalidInput saying how to install it."""
    try:
        import pyspark.sql
        from ibis.backends import pyspark as _ibis_pyspark  # noqa: F401 - ibis's backend needs its extra too
    except ImportError:
        raise InvalidInput(INSTALL_HINT) from None
    return pyspark.sql


def spark_session() -> Any:
    """The process's shared SparkSession, created on first use with `spark_conf()`."""
    global _session
    sql = _pyspark()
    with _lock:
        if _session is None or _session.sparkContext._jsc is None:  # never started, or stopped
            builder = sql.SparkSession.builder
            for key, value in spark_conf().items():
                builder = builder.config(key, value)
            try:
                _session = builder.getOrCreate()
            except Exception as exc:  # Java missing or failing to start: say so in one line
                if "JAVA_GATEWAY_EXITED" in str(exc) or isinstance(exc, FileNotFoundError):
                    raise InvalidInput(
                        "Spark could not start Java: install Java 17 or 21 and put `java` on PATH or set JAVA_HOME "
                        f"({str(exc).splitlines()[0]})"
                    ) from None
                raise
            _quiet(_session)
        return _session


def _quiet(session: Any) -> None:
    """Spark logs errors only (`OPENSPM_SPARK_LOG_LEVEL` to change), and a failed query is raised once, not
    also logged as a page of JSON by PySpark's query-context loggers."""
    from pyspark.logger import PySparkLogger

    session.sparkContext.setLogLevel(os.environ.get("OPENSPM_SPARK_LOG_LEVEL", "ERROR"))
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def connect_spark() -> Any:
    """An Ibis backend on a new child session of the shared SparkSession (its own temporary views)."""
    shared = spark_session()
    try:
        session = shared.newSession()
    except Exception:  # Spark Connect sessions may not offer child sessions: share the one session
        session = shared
    for key, value in {**SQL_CONF, **_sql_overrides()}.items():
        if session.conf.isModifiable(key):  # static settings (spark.sql.extensions ...) hold for every session
            session.conf.set(key, value)
    backend: Any = _spark_backend_class()()
    return backend.connect(session)


def _sql_overrides() -> dict[str, str]:
    """The runtime SQL settings of `OPENSPM_SPARK_CONF`, so a child session keeps what the user asked for."""
    return {k: v for k, v in parse_conf(os.environ.get("OPENSPM_SPARK_CONF", "")).items() if k.startswith("spark.sql.")}


@functools.cache
def _spark_backend_class() -> type:
    """Ibis's PySpark backend with exact Arrow in and out and temporary tables (see `SparkBackend`)."""
    _pyspark()
    from ibis.backends.pyspark import Backend as PySparkBackend

    from openspm.engine import spark

    return type("SparkBackend", (spark.SparkExtensions, PySparkBackend), {"__module__": spark.__name__})
