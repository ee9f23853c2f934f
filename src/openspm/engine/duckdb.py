"""The DuckDB engine: an in-process Ibis connection and exact decimal helpers.

Amounts, rates and shares travel as `DECIMAL(38, 12)` (`MONEY`). Products are
computed exactly and rounded half-up at the 12th decimal place (`mul`): exact
whenever the decimal places of the factors add up to 12 or fewer, and identical
on every engine because the casts are explicit. Ibis infers the product of two
decimals as the operands' type while DuckDB widens the scale, so `mul` always
spells both casts out.
"""

from __future__ import annotations

import os
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

MONEY = dt.Decimal(38, 12)
ARROW_MONEY = pa.decimal128(38, 12)
_FACTOR = dt.Decimal(24, 12)
_PRODUCT = dt.Decimal(38, 24)
_QUANTUM = Decimal(1).scaleb(-12)


def connect() -> Any:
    """A fresh in-memory DuckDB connection through Ibis.

    `OPENSPM_ENGINE_MEMORY` (e.g. `1.5GB`) caps DuckDB's memory; beyond it, tables, joins and aggregations
    spill to `OPENSPM_ENGINE_TEMP` (default: `openspm-duckdb` in the system's temporary folder).
    `OPENSPM_ENGINE_THREADS` sets threads.
    """
    # The pipeline orders every result it reads, so DuckDB need not keep insertion order: without it,
    # materialised tables and aggregates can spill to disk under a memory cap.
    settings: dict[str, Any] = {"preserve_insertion_order": False}
    if os.environ.get("OPENSPM_ENGINE_MEMORY"):
        settings["memory_limit"] = os.environ["OPENSPM_ENGINE_MEMORY"]
    if os.environ.get("OPENSPM_ENGINE_TEMP") or "memory_limit" in settings:  # an in-memory database spills here
        settings["temp_directory"] = os.environ.get("OPENSPM_ENGINE_TEMP") or str(
            Path(tempfile.gettempdir()) / "openspm-duckdb"
        )
    if os.environ.get("OPENSPM_ENGINE_THREADS"):
        settings["threads"] = int(os.environ["OPENSPM_ENGINE_THREADS"])
    return ibis.duckdb.connect(**settings)


def memory_capped() -> bool:
    """Whether `OPENSPM_ENGINE_MEMORY` caps the engine's memory: stages then prefer plans that pin less
    memory over plans that run faster."""
    return bool(os.environ.get("OPENSPM_ENGINE_MEMORY"))


def mul(a: Any, b: Any) -> Any:
    """a × b, exact, rounded half-up at 12 decimal places, typed MONEY."""
    return (a.cast(_FACTOR) * b.cast(_FACTOR)).cast(_PRODUCT).cast(MONEY)


def scale(a: Any, factor: Any) -> Any:
    """a × factor like `mul`, but a factor of exactly 1 passes `a` through: rescaling a 24-place product to
    12 places is the dearest step of the engine's arithmetic (a 128-bit division per row), and most shares
    and same-currency FX rates are 1."""
    return ibis.ifelse(factor == 1, a.cast(MONEY), mul(a, factor))


def as_money(value: Any) -> Any:
    """Any numeric expression as MONEY (exact to 12 places, half-up), whatever type Ibis infers for it; a
    MONEY expression is returned as it is (a round trip through 24 places costs a division per row)."""
    kind = value.type()
    if kind.is_decimal() and (kind.precision, kind.scale) == (MONEY.precision, MONEY.scale):
        return value
    return value.cast(_PRODUCT).cast(MONEY)


def money(value: Decimal | None) -> Decimal | None:
    """A Python Decimal at the engine's 12-place scale (half-up), for building Arrow inputs."""
    return None if value is None else value.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
