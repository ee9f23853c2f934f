"""The columnar store paths: the ADBC read of transactions and the Arrow bulk write give what the driver paths give."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openspm.demo.service import load_demo
from openspm.runs import service as runs
from openspm.store import columnar
from openspm.store import models as m
from openspm.store.bulk import canonical_text, insert_arrow, insert_columns
from openspm.store.db import make_engine

WINDOWS = [
    (date(2025, 1, 1), date(2026, 1, 1)),
    (date(2025, 3, 1), date(2025, 4, 1)),
    (date(2031, 1, 1), date(2031, 2, 1)),
]
ATTRIBUTES = [[], ["channel"], ["channel", "region", "absent"]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The demo company in a SQLite file, with edge-case transactions added: attributes, more than 12 decimal
    places, zero amounts, and a March return of a January sale (an original outside a March window)."""
    folder = tmp_path_factory.mktemp("demo")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    load_demo(engine, folder / "files", seed=7, scale=0.05)
    with Session(engine) as session, session.begin():
        account, product = session.scalars(select(m.Account.id)).first(), session.scalars(select(m.Product.id)).first()
        assert account is not None and product is not None

        def add(external_id: str, day: date, amount: str, **values: object) -> m.Transaction:
            row = m.Transaction(external_id=external_id, date=day, account_id=account, product_id=product,
                                quantity=Decimal("1"), amount=Decimal(amount), currency="USD", **values)  # fmt: skip
            session.add(row)
            session.flush()
            return row

        sale = add("EDGE-1", date(2025, 1, 5), "100.1234567890125", attributes={"channel": "web", "region": ""})
        add("EDGE-2", date(2025, 3, 7), "-100.1234567890125", type="return", original_id=sale.id,
            attributes={"channel": "Zürich ☃"})  # fmt: skip
        add("EDGE-3", date(2025, 3, 8), "0", list_amount=Decimal("0.000000000001"), attributes={})
        add("EDGE-4", date(2025, 3, 9), "-0.0000001", list_amount=Decimal("12.5"), attributes={"channel": None})
    return engine


@pytest.mark.parametrize("attributes", ATTRIBUTES)
@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_the_adbc_read_equals_the_driver_read(demo: Engine, start: date, end: date, attributes: list[str]) -> None:
    path = columnar.sqlite_file(demo)
    assert path is not None
    with Session(demo) as session:
        expected = runs.driver_transactions(session, start, end, attributes)
        chosen = runs.read_transactions(session, start, end, attributes)
    found = runs.adbc_transactions(path, start, end, attributes)
    assert found.schema == expected.schema
    assert found.num_rows == expected.num_rows == chosen.num_rows
    # The same rows; the ADBC read joins its date ranges in date order, the driver keeps the table's order.
    assert by_id(found).equals(by_id(expected)) and by_id(chosen).equals(by_id(expected))
    if start == date(2025, 3, 1):
        assert "EDGE-1" in found["external_id"].to_pylist()  # the original of the March return


def by_id(table: pa.Table) -> pa.Table:
    return table.sort_by("id").combine_chunks()


def test_the_window_is_read_in_parts_that_cover_it_once() -> None:
    parts = runs.date_parts(date(2025, 1, 1), date(2026, 1, 1), 2)
    assert parts == [(date(2025, 1, 1), date(2025, 7, 2)), (date(2025, 7, 2), date(2026, 1, 1))]
    assert runs.date_parts(date(2025, 3, 1), date(2025, 3, 3), 4) == [
        (date(2025, 3, 1), date(2025, 3, 2)),
        (date(2025, 3, 2), date(2025, 3, 3)),
    ]
    assert runs.date_parts(date(2025, 3, 1), date(2025, 3, 1), 2) == [(date(2025, 3, 1), date(2025, 3, 1))]


def test_the_adbc_read_rounds_more_than_12_places_half_up(demo: Engine) -> None:
    path = columnar.sqlite_file(demo)
    assert path is not None
    found = runs.adbc_transactions(path, date(2025, 1, 1), date(2025, 2, 1), ["channel"])
    (edge,) = [r for r in found.to_pylist() if r["external_id"] == "EDGE-1"]
    assert (edge["amount"], edge["attr_channel"]) == (Decimal("100.123456789013"), "web")


def test_a_failed_adbc_read_falls_back_to_the_driver(demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    path = columnar.sqlite_file(demo)
    assert path is not None
    with pytest.raises(columnar.ReadError, match="no such table"):
        list(columnar.batches(path, "SELECT * FROM no_such_table"))

    def broken(*_args: object) -> list[pa.RecordBatch]:
        raise columnar.ReadError("type changed")

    monkeypatch.setattr(columnar, "batches", broken)
    with Session(demo) as session:
        found = runs.read_transactions(session, date(2025, 1, 1), date(2026, 1, 1), [])
        assert by_id(found).equals(by_id(runs.driver_transactions(session, date(2025, 1, 1), date(2026, 1, 1), [])))


def test_only_sqlite_files_are_read_through_adbc(tmp_path: Path) -> None:
    assert columnar.sqlite_file(make_engine(f"sqlite:///{tmp_path / 'a.db'}")) == str(tmp_path / "a.db")
    assert columnar.sqlite_file(make_engine("sqlite://")) is None
    assert columnar.sqlite_file(make_engine("sqlite:///:memory:")) is None
    assert columnar.sqlite_file(make_engine("postgresql+psycopg://u@localhost/db")) is None


def test_canonical_text_is_decimal_format_f() -> None:
    values = ["0", "1E-12", "-1E-12", "0.0000001", "-0.0000009", "0.000001", "1", "-5.5", "123456.000000000001",
              "99999999999999999999999999.999999999999", "-0.000000123456"]  # fmt: skip
    array = pa.array([Decimal(v) for v in values] + [None], pa.decimal128(38, 12))
    expected = [None if v is None else format(v, "f") for v in array.to_pylist()]
    assert canonical_text(array).to_pylist() == expected
    assert canonical_text(pa.chunked_array([array, array])).to_pylist() == expected * 2
    days = pa.array([date(2025, 1, 2), None, date(999, 12, 31)], pa.date32())
    assert canonical_text(days).to_pylist() == ["2025-01-02", None, "0999-12-31"]


def test_insert_arrow_stores_what_insert_columns_stores(engine: Engine) -> None:
    """Run credits written from Arrow are the same stored values (SQLite: the same text) as from Python columns."""
    credits = pa.table(
        {
            "plan": ["p", "p", "q"],
            "transaction": ["T1", "T2", "T3"],
            "original": [None, "T1", None],
            "payee": ["P1", "P2", "P1"],
            "role": ["owner"] * 3,
            "role_class": ["direct"] * 3,
            "source": ["split"] * 3,
            "level": pa.array([0, 1, 2], pa.int8()),
            "share": pa.array([Decimal("1"), Decimal("0.5"), Decimal("0")], pa.decimal128(38, 12)),
            "amount": pa.array([Decimal("1200.5"), Decimal("-1E-12"), Decimal("0")], pa.decimal128(38, 12)),
            "currency": ["USD"] * 3,
            "date": pa.array([date(2025, 1, 2), date(2025, 1, 31), date(2025, 2, 1)], pa.date32()),
            "month": ["FY2025-M01", "FY2025-M01", "FY2025-M02"],
            "measures": ["bookings", None, "bookings,margin"],
        }
    )
    table = runs.RUN_CREDITS
    with Session(engine) as session, session.begin():
        first, second = m.Run(period="FY2025-M01", actor="t"), m.Run(period="FY2025-M01", actor="t")
        session.add_all([first, second])
        session.flush()
        runs_ = (first.id, second.id)
        columns = {name: credits[name].to_pylist() for name in credits.column_names}
        insert_columns(session, table, {"run_id": [first.id] * 3, **columns})
        insert_arrow(session, table, credits, {"run_id": second.id})
        insert_arrow(session, table, credits.slice(0, 0), {"run_id": second.id})
        as_text = ", ".join(f'CAST("{c}" AS TEXT)' for c in credits.column_names)
        query = text(f"SELECT {as_text} FROM run_credits WHERE run_id = :run ORDER BY id")
        stored = {run: session.execute(query, {"run": run}).all() for run in runs_}
    assert stored[runs_[0]] == stored[runs_[1]] and len(stored[runs_[0]]) == 3


def test_a_time_stamp_for_every_row_is_stored_as_the_driver_would_store_it(tmp_path: Path) -> None:
    """`insert_columns` binds one time stamp repeated on every row once, as text; the stored bytes are the ones
    sqlite3's own datetime adapter writes for each row."""
    import sqlite3

    from openspm.core.dates import utc_now
    from openspm.store.bulk import _bound

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    now = utc_now()
    bound = _bound(runs.PAYEE_MEASURES, "updated_at", [now, now], engine.dialect)
    processor = runs.PAYEE_MEASURES.c["updated_at"].type.bind_processor(engine.dialect)
    assert processor is not None
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (?)", (processor(now),))
    ((stored,),) = connection.execute("SELECT x FROM t").fetchall()
    assert bound == [stored, stored] and isinstance(stored, str)
