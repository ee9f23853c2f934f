"""What Ibis's PySpark backend needs to run the pipeline exactly as DuckDB does.

`SparkExtensions` is mixed into `ibis.backends.pyspark.Backend` by
`openspm.engine.backends.connect("spark")` (this module imports no pyspark, so
it loads without the spark extra). What it changes:

- Arrow in: an Arrow table (an `ibis.memtable` or `create_table(name, arrow)`)
  becomes a Spark DataFrame straight from Arrow. Ibis goes through pandas,
  which fails on a NULL decimal and turns a NULL id into a float.
- Arrow out: `to_pyarrow` collects with Spark's `toArrow()` (decimal128 and
  date32 as they are), not through pandas.
- Temporary tables: `create_table(name, obj, temp=True)` registers a
  temporary view (of the Arrow data, or of the query, cached), as DuckDB's
  temporary tables; `drop_table` drops it. Ibis's PySpark backend refuses
  `temp=True`.
- Types of what is held: a temporary table, a view and a `.cache()` keep the
  column types Ibis gave the expression, as DuckDB's tables do (Spark would
  type `row_number()` as int32 and a literal 0 as int32, not int64 and int8).
- `.cache()` registers the in-memory tables its query reads first (Ibis
  compiles it without them), and `disconnect()` releases this connection's
  views and cached data without stopping the process's shared SparkSession.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa


class SparkExtensions:
    """Mixin for `ibis.backends.pyspark.Backend` (see the module docstring)."""

    _session: Any
    _temp_frames: dict[str, Any]
    _cached_dataframes: dict[str, Any]  # Ibis's PySpark backend: `.cache()` results by view name

    def _frames(self) -> dict[str, Any]:
        """Views this connection created with `create_table(temp=True)` → their cached DataFrames (or None)."""
        if not hasattr(self, "_temp_frames"):
            self._temp_frames = {}
        return self._temp_frames

    def _register_in_memory_table(self, op: Any) -> None:
        """An `ibis.memtable` as a temporary view, built from its Arrow data (exact decimals, NULLs kept)."""
        arrow = op.data.to_pyarrow(op.schema)
        self._session.createDataFrame(arrow).createOrReplaceTempView(op.name)

    def _dataframe(self, obj: Any, schema: Any) -> tuple[Any, bool]:
        """(Spark DataFrame, computed by a query?) for an Arrow table, an Ibis expression, other data or a schema."""
        if obj is None:
            arrow = ibis.schema(schema).to_pyarrow().empty_table()
            return self._session.createDataFrame(arrow), False
        if isinstance(obj, pa.Table):
            return self._session.createDataFrame(obj), False
        if not isinstance(obj, ir.Expr):
            obj = ibis.memtable(obj)
        table: Any = obj
        self._run_pre_execute_hooks(table)  # type: ignore[attr-defined]
        df = self._session.sql(self.compile(table))  # type: ignore[attr-defined]
        return self._typed(df, table.schema()), True

    @staticmethod
    def _typed(df: Any, schema: Any) -> Any:
        """The DataFrame with the column types Ibis gave the expression, as DuckDB stores them.

        A materialised table's types come from the engine, and Spark types some results differently
        (`row_number()` is int32 in Spark, int64 in DuckDB); casting keeps later expressions typed alike.
        """
        from ibis.backends.pyspark.datatypes import PySparkSchema

        wanted = PySparkSchema.from_ibis(schema)
        actual = {f.name: f.dataType for f in df.schema.fields}
        if all(actual.get(f.name) == f.dataType for f in wanted.fields):
            return df
        return df.select(
            *[df[f.name] if actual[f.name] == f.dataType else df[f.name].cast(f.dataType).alias(f.name) for f in wanted]
        )

    def create_table(
        self,
        name: str,
        /,
        obj: Any = None,
        *,
        schema: Any = None,
        database: Any = None,
        temp: bool | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A table; with `temp=True` a temporary view of this connection (a query's result is cached)."""
        if not temp:
            return super().create_table(  # type: ignore[misc]
                name, obj, schema=schema, database=database, overwrite=overwrite, **kwargs
            )
        if obj is None and schema is None:
            raise ValueError("create_table needs obj or schema")
        if not overwrite and self._session.catalog.tableExists(name):
            raise ValueError(f"table {name!r} already exists; pass overwrite=True to replace it")
        df, computed = self._dataframe(obj, schema)
        self._release(name)
        if computed:
            df = df.cache()
        df.createOrReplaceTempView(name)
        self._frames()[name] = df if computed else None
        return self.table(name)  # type: ignore[attr-defined]

    def create_view(self, name: str, /, obj: Any, *, database: Any = None, overwrite: bool = False) -> Any:
        """A temporary view of the query, its columns typed as Ibis typed the expression (see `_typed`).

        Spark would type the view itself: `ibis.literal(0)` becomes int32 where DuckDB keeps int8, and a
        later union with the same literal then fails ("Table schemas must be equal for set operations").
        """
        if database is not None:
            return super().create_view(name, obj, database=database, overwrite=overwrite)  # type: ignore[misc]
        if not overwrite and self._session.catalog.tableExists(name):
            raise ValueError(f"view {name!r} already exists; pass overwrite=True to replace it")
        self._dataframe(obj, None)[0].createOrReplaceTempView(name)
        return self.table(name)  # type: ignore[attr-defined]

    def _release(self, name: str) -> None:
        """Drop a temporary view this connection made and unpersist its data (no-op when unknown)."""
        if name not in self._frames():
            return
        frame = self._frames().pop(name)
        self._session.catalog.dropTempView(name)
        if frame is not None:
            frame.unpersist()

    def drop_table(self, name: str, /, *, database: Any = None, force: bool = False) -> None:
        """Drop a table, or a temporary view made by `create_table(temp=True)`."""
        if database is None and name in self._frames():
            self._release(name)
            return
        super().drop_table(name, database=database, force=force)  # type: ignore[misc]

    def _create_cached_table(self, name: str, expr: Any) -> Any:
        """`expr.cache()`: the query's result, typed as Ibis says, cached under `name` (released by Ibis)."""
        df = self._dataframe(expr, None)[0].cache()
        df.createTempView(name)
        self._cached_dataframes[name] = df
        return self.table(name)  # type: ignore[attr-defined]

    def to_pyarrow(
        self, expr: Any, /, *, params: Mapping[Any, Any] | None = None, limit: int | str | None = None, **kwargs: Any
    ) -> Any:
        """The expression's result as Arrow, collected by Spark's `toArrow()` and typed as Ibis says."""
        from ibis.formats.pyarrow import PyArrowData

        self._run_pre_execute_hooks(expr)  # type: ignore[attr-defined]
        table_expr = expr.as_table()
        sql = self.compile(table_expr, params=params, limit=limit)  # type: ignore[attr-defined]
        arrow = self._session.sql(sql).toArrow()
        return expr.__pyarrow_result__(PyArrowData.convert_table(arrow, table_expr.schema()))

    def disconnect(self) -> None:
        """Release this connection's temporary views and cached tables; the shared SparkSession stays up."""
        for name in list(self._frames()):
            self._release(name)
        entries: dict[str, Any] = getattr(self, "_cache_name_to_entry", {})
        for name in list(entries):  # what `.cache()` made, through Ibis so its finalizers are detached
            self._finalize_cached_table(name)  # type: ignore[attr-defined]
