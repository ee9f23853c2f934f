"""Choosing the engine and configuring Spark (no Spark started here; the parity suite runs it)."""

from __future__ import annotations

import sys

import pytest

from openspm.core.errors import InvalidInput
from openspm.engine import backends


def test_the_engine_comes_from_the_argument_then_the_environment_then_duckdb() -> None:
    assert backends.engine_name(None, {}) == "duckdb"
    assert backends.engine_name(None, {"OPENSPM_ENGINE": "Spark"}) == "spark"
    assert backends.engine_name("duckdb", {"OPENSPM_ENGINE": "spark"}) == "duckdb"


def test_an_unknown_engine_is_a_user_error() -> None:
    with pytest.raises(InvalidInput, match="unknown engine 'postgres'; use one of duckdb, spark"):
        backends.engine_name("postgres", {})


def test_spark_conf_parses_pairs_and_lists() -> None:
    text = "spark.executor.memory=8g, spark.jars.packages=a:b:1,c:d:2 ,spark.sql.shuffle.partitions=64"
    assert backends.parse_conf(text) == {
        "spark.executor.memory": "8g",
        "spark.jars.packages": "a:b:1,c:d:2",
        "spark.sql.shuffle.partitions": "64",
    }
    assert backends.parse_conf("") == {}
    with pytest.raises(InvalidInput, match="OPENSPM_SPARK_CONF: 'oops' is not key=value"):
        backends.parse_conf("oops")


def test_spark_defaults_keep_decimals_exact_and_the_user_can_point_at_a_cluster() -> None:
    local = backends.spark_conf({})
    assert local["spark.master"] == "local[2]"
    assert local["spark.sql.decimalOperations.allowPrecisionLoss"] == "false"
    assert local["spark.sql.ansi.enabled"] == "true"
    assert local["spark.sql.session.timeZone"] == "UTC"
    assert local["spark.driver.host"] == "127.0.0.1"
    cluster = backends.spark_conf(
        {"OPENSPM_SPARK_MASTER": "spark://head:7077", "OPENSPM_SPARK_CONF": "spark.driver.memory=4g"}
    )
    assert cluster["spark.master"] == "spark://head:7077"
    assert cluster["spark.driver.memory"] == "4g"
    assert "spark.driver.host" not in cluster  # the cluster must reach the driver by its own name


def test_spark_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(InvalidInput, match=r"install the spark extra: pip install 'openspm\[spark\]'"):
        backends.connect("spark")


def test_the_cli_rejects_an_unknown_engine_in_one_line() -> None:
    from typer.testing import CliRunner

    from openspm.cli.main import app

    folder = "tests/scenarios/flat_rate"
    for args in (["scenario", "run", folder, "--engine", "oracle"], ["scenario", "test", folder, "--engine", "oracle"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "unknown engine 'oracle'; use one of duckdb, spark" in result.output
