"""Engine parity: every golden scenario gives exactly the same outputs on Spark as on DuckDB.

Each scenario folder runs twice through the scenario runner, once per engine; credits.csv,
measures.csv, earnings.csv and issues.csv must be identical byte for byte, and the Spark output
must also match the folder's hand-worked expected/ CSVs. One local SparkSession serves the whole
test session (`openspm.engine.backends.spark_session`); each run gets a child session of it.

Skipped, with one line, when pyspark or Java is missing; CI sets OPENSPM_REQUIRE_SPARK=1 so a
missing Spark fails there instead of passing silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

_REQUIRED = os.environ.get("OPENSPM_REQUIRE_SPARK") == "1"


def _skip_or_fail(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"{reason} (OPENSPM_REQUIRE_SPARK=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import pyspark  # noqa: F401
except ImportError:
    _skip_or_fail("Spark parity: pyspark is not installed (pip install -e '.[dev,spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    _skip_or_fail("Spark parity: no Java (install Java 17 and put java on PATH or set JAVA_HOME)")

import ibis  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from openspm.calc.context import RunContext  # noqa: E402
from openspm.calc.inputs import Inputs  # noqa: E402
from openspm.calc.pipeline import Results, attributes_used, run_pipeline  # noqa: E402
from openspm.engine import backends  # noqa: E402
from openspm.engine.duckdb import ARROW_MONEY, as_money, mul  # noqa: E402
from openspm.runs.service import load_inputs, run_context  # noqa: E402
from openspm.scenarios.service import OUTPUTS, compare_expected, load_store, run_scenario  # noqa: E402

SCENARIOS = sorted(p.parent for p in (Path(__file__).parent / "scenarios").glob("*/scenario.yaml"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The process's shared local SparkSession, started once for every test of the session."""
    yield backends.spark_session()


@pytest.fixture
def engines(spark: Any) -> Iterator[dict[str, Any]]:
    """A fresh connection on each engine (the Spark one on a child session, released after the test)."""
    cons = {"duckdb": backends.connect("duckdb"), "spark": backends.connect("spark")}
    yield cons
    cons["spark"].disconnect()


# Awkward factors: digits at the 12th place, exact halves at the 13th, large amounts, negatives, NULL.
FACTORS = [
    ("0.123456789012", "1.5"),
    ("99999999999.99", "0.333333333333"),
    ("-0.123456789012", "1.5"),
    ("1.000000000005", "0.5"),
    ("0.000000000001", "0.499999999999"),  # 4.99999999999e-13 → 0 (Spark with precision loss: 1e-12)
    ("-0.000000000001", "0.5"),  # −5e-13 → −1e-12 (half away from zero)
    ("999999999999.999999999999", "99.5"),
    (None, "2"),
]


def _factors() -> pa.Table:
    a, b = zip(*FACTORS, strict=True)
    return pa.table(
        {
            "id": pa.array(range(len(FACTORS)), pa.int64()),
            "a": pa.array([None if x is None else Decimal(x) for x in a], ARROW_MONEY),
            "b": pa.array([Decimal(x) for x in b], ARROW_MONEY),
            "day": pa.array([date(2025, 1, 1 + i) for i in range(len(FACTORS))], pa.date32()),
            "team": pa.array(["x", "y"] * (len(FACTORS) // 2), pa.string()),
        }
    )


def _money_query(con: Any) -> pa.Table:
    """Products, sums, a window, a join and a cached table of the awkward factors on `con`."""
    t = con.create_table("factors", _factors(), temp=True)
    products = t.mutate(
        product=mul(t.a, t.b),
        money=as_money(t.a * t.b),
        rank=ibis.row_number().over(group_by=t.team, order_by=ibis.desc(t.day)),
    ).cache()
    totals = products.group_by("team").aggregate(total=products.product.sum(), last=products.day.max())
    joined = products.join(totals, "team").select("id", "product", "money", "rank", "total", "last")
    return con.to_pyarrow(joined.order_by("id"))


def test_decimal_products_are_exact_and_identical_on_both_engines(engines: dict[str, Any]) -> None:
    duck, spark = (_money_query(engines[name]) for name in ("duckdb", "spark"))
    assert spark.equals(duck), f"DuckDB:\n{duck.to_pylist()}\nSpark:\n{spark.to_pylist()}"
    products = duck["product"].to_pylist()
    assert products[0] == Decimal("0.185185183518")  # 0.1851851835180 exact
    assert products[1] == Decimal("33333333333.296666666667")
    assert products[4] == Decimal(0)  # 4.99999999999e-13 rounds once, to 0
    assert products[5] == Decimal("-0.000000000001")
    assert products[7] is None


def test_arrow_inputs_keep_nulls_types_and_dates(engines: dict[str, Any]) -> None:
    table = pa.table(
        {
            "id": pa.array([1, None], pa.int64()),
            "amount": pa.array([None, Decimal("1.5")], ARROW_MONEY),
            "day": pa.array([None, date(2025, 2, 28)], pa.date32()),
        }
    )
    for con in engines.values():
        back = con.to_pyarrow(ibis.memtable(table))
        assert back.equals(table), back


def test_an_overflow_is_an_error_on_both_engines(engines: dict[str, Any]) -> None:
    big = ibis.memtable(pa.table({"a": pa.array([Decimal("12345678901234.5")], ARROW_MONEY)}))
    for con in engines.values():
        with pytest.raises(Exception, match=r"(?i)out of range|cannot be represented"):
            con.to_pyarrow(big.mutate(p=mul(big.a, big.a)))


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_on_spark_equals_duckdb(folder: Path, tmp_path: Path, spark: Any) -> None:
    run_scenario(folder, tmp_path / "duckdb", engine="duckdb")
    on_spark = run_scenario(folder, tmp_path / "spark", engine="spark")
    for name in OUTPUTS:
        want = (tmp_path / "duckdb" / f"{name}.csv").read_text(encoding="utf-8")
        got = (tmp_path / "spark" / f"{name}.csv").read_text(encoding="utf-8")
        assert got == want, f"{folder.name}/{name}.csv differs on Spark"
    check = compare_expected(folder, on_spark)
    assert check.passed, "\n".join(check.differences.values())


def _outcome(results: Results, ctx: RunContext) -> tuple[list[str], ...]:
    """A run's earnings, measures, credits and issues as sorted text, to compare runs exactly."""
    credits = results.credits.to_pylist() if results.credits is not None else []
    parts = (results.earnings, results.measures, credits, ctx.issues)
    return tuple(sorted(map(str, part)) for part in parts)


def test_parquet_inputs_that_never_enter_the_store_give_the_same_run(tmp_path: Path, spark: Any) -> None:
    """docs/spark.md: the engine scans Parquet inputs itself; Spark on Parquet = DuckDB on Arrow."""
    folder = Path(__file__).parent / "scenarios" / "overlay_by_product_family"
    store, _ = load_store(folder, tmp_path)
    with Session(store) as session:
        ctx = run_context(session, "FY2025-M03")
        attributes: dict[str, list[str]] = {}
        for plan in ctx.plans:
            for kind, names in attributes_used(plan.document).items():
                attributes[kind] = sorted(set(attributes.get(kind, [])) | set(names))
        arrow = load_inputs(session, ctx.year.start, ctx.period.end, attributes)
    store.dispose()
    for name, table in arrow.tables.items():
        assert isinstance(table, pa.Table)
        pq.write_table(table, tmp_path / f"{name}.parquet")
    parquet = Inputs({name: tmp_path / f"{name}.parquet" for name in arrow.tables})
    outcomes = {}
    for engine, inputs in (("duckdb", arrow), ("spark", parquet)):
        run = RunContext(period=ctx.period, periods=ctx.periods, plans=ctx.plans, con=backends.connect(engine))
        outcomes[engine] = _outcome(run_pipeline(run, inputs), run)
    assert outcomes["spark"] == outcomes["duckdb"]
    assert len(outcomes["duckdb"][0]) == 4  # the scenario's four earnings, so the comparison is not vacuous
