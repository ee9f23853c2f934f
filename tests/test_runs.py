"""Runs on the store (SQLite and PostgreSQL): stored atomically, explained to the cent, compared."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.core.errors import NotFound
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs import pay
from openspm.runs import service as runs
from openspm.runs.reports import diff, explain
from openspm.runs.service import run_period
from openspm.store import bulk, columnar
from openspm.store import models as m
from openspm.store.db import make_engine
from tests.conftest import WriteFile

PLAN = """
version: 1
plan: ae
name: AE plan
currency: USD
effective_from: 2025-01-01
measures:
  - {name: bookings, sum: amount, roles: [direct]}
components:
  - name: commission
    kind: tiered_rate
    measure: bookings
    method: marginal
    tiers:
      - {from: 0, to: 10000, rate: 0.05}
      - {from: 10000, rate: 0.10}
"""


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    """Two reps, a 2025 calendar, the AE plan, and January and February sales."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,pay_currency\nP1,Ann,USD\nP2,Bob,USD\n",
        "accounts": "id,name\nA1,Acme\nA2,Globex\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": (
            "id,date,account,product,amount,currency,owner\n"
            "T1,2025-01-10,A1,SKU1,8000.00,USD,P1\n"
            "T2,2025-01-20,A1,SKU1,4000.50,USD,P1\n"
            "T3,2025-01-21,A2,SKU1,3000,USD,P2\n"
            "T4,2025-02-03,A2,SKU1,12000,USD,P2\n"
        ),
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    assignments = "payee,plan,effective_from\nP1,ae,2025-01-01\nP2,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    return engine


def test_a_run_stores_earnings_that_explain_themselves(company: Engine) -> None:
    summary = run_period(company, "FY2025-M01", actor="test")
    assert (summary.payees, summary.earnings) == (2, 2)
    # P1: 12,000.50 → 10,000 × 5% + 2,000.50 × 10% = 500 + 200.05 = 700.05; P2: 3,000 × 5% = 150.
    assert summary.total == {"USD": Decimal("850.05")}
    result = explain(company, "P1", "FY2025-M01")
    (earning,) = result.earnings
    assert earning["amount"] == Decimal("700.05")
    trace = earning["trace"]
    assert [line["amount"] for line in trace["lines"]] == ["500", "200.05"]
    assert trace["credits"] == {"measure": "bookings", "months": ["FY2025-M01"], "count": 2, "value": "12000.5"}
    behind = earning["credits"]  # the run's stored credits that the measure adds up
    assert sum(Decimal(c["amount"]) for c in behind) == Decimal(trace["base"]) == Decimal("12000.5")
    assert {c["transaction"] for c in behind} == {"T1", "T2"}
    with Session(company) as session:
        run = session.get_one(m.Run, summary.run_id)
        assert run.status == "completed" and run.plans == {"ae": 1}
        assert run.inputs["transactions"] == 3  # the run window: January only
        credits = session.scalars(select(m.RunCredit).where(m.RunCredit.run_id == run.id)).all()
    assert sorted((c.transaction, c.payee, c.amount) for c in credits) == [
        ("T1", "P1", Decimal("8000")),
        ("T2", "P1", Decimal("4000.5")),
        ("T3", "P2", Decimal("3000")),
    ]


@pytest.mark.parametrize(
    ("when", "module", "name"), [("calculating", runs, "run_pipeline"), ("storing", pay, "store_payments")]
)
def test_a_failed_run_leaves_earlier_results_intact(
    company: Engine, monkeypatch: pytest.MonkeyPatch, when: str, module: object, name: str
) -> None:
    """A run that fails while calculating or while storing leaves the earlier run as it was. On a SQLite file
    the month's credits are staged (written ahead by an ADBC child) while the run goes on: a failure in the
    run's own transaction rolls their move back, and the staging table is dropped."""
    good = run_period(company, "FY2025-M01", actor="test")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"disk full while {when}")

    monkeypatch.setattr(module, name, explode)
    with pytest.raises(RuntimeError, match=f"disk full while {when}"):
        run_period(company, "FY2025-M01", actor="test")
    with Session(company) as session:
        statuses = [(r.id, r.status) for r in session.scalars(select(m.Run).order_by(m.Run.id))]
        assert statuses == [(good.run_id, "completed"), (good.run_id + 1, "failed")]
        assert runs.latest_run(session, "FY2025-M01").id == good.run_id
        failed = session.get_one(m.Run, good.run_id + 1)
        assert failed.error == f"disk full while {when}"
        assert session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == failed.id)).all() == []
        stored = session.execute(select(m.RunCredit.run_id, func.count()).group_by(m.RunCredit.run_id)).tuples()
        assert list(stored) == [(good.run_id, 3)]
        if company.dialect.name == "sqlite":
            tables = session.scalars(sql("SELECT name FROM sqlite_master WHERE name LIKE 'staged%'")).all()
            assert tables == []
    assert explain(company, "P1", "FY2025-M01").total == {"USD": Decimal("700.05")}
    monkeypatch.undo()
    assert run_period(company, "FY2025-M01", actor="test").credits == good.credits == 3


def test_staged_credits_are_stored_as_the_driver_stores_them(company: Engine) -> None:
    """The staged write (ADBC) keeps the same text and storage classes as the driver's executemany."""
    path = columnar.sqlite_file(company)
    if path is None:
        pytest.skip("staging is for SQLite files")
    summary = run_period(company, "FY2025-M01", actor="test")
    with Session(company) as session:
        _ctx, results, _counts = runs.compute(session, "FY2025-M01")
        run = m.Run(period="FY2025-M01", actor="test", status="completed")
        session.add(run)
        session.flush()
        assert results.credits is not None
        bulk.insert_arrow(session, runs.RUN_CREDITS, results.credits, {"run_id": run.id})
        session.commit()
        driver_run = run.id
    columns = ", ".join(f'"{c}", typeof("{c}")' for c in results.credits.column_names)
    query = sql(f"SELECT {columns} FROM run_credits WHERE run_id = :run ORDER BY id")
    with Session(company) as session:
        staged = session.execute(query, {"run": summary.run_id}).all()
        driver = session.execute(query, {"run": driver_run}).all()
    assert staged == driver and len(staged) == 3
    assert bulk.stage_arrow(make_engine("sqlite://"), runs.RUN_CREDITS, results.credits) is None


def test_diff_shows_who_changed_and_which_component(company: Engine, write: WriteFile) -> None:
    before = run_period(company, "FY2025-M01", actor="test")
    corrected = "id,date,account,product,amount,currency,owner\nT3,2025-01-21,A2,SKU1,13000,USD,P2\n"
    assert import_file(company, "transactions", write("fix.csv", corrected), actor="test").updated == 1
    after = run_period(company, "FY2025-M01", actor="test")
    result = diff(company, before.run_id, after.run_id)
    assert result.payees_compared == 2
    ((payee, change, parts),) = result.by_payee()
    # P2: 3,000 → 13,000: 150 → 500 + 300 = 800.
    assert (payee, change) == ("P2", Decimal("650.00"))
    assert [(d.component, d.before, d.after) for d in parts] == [("commission", Decimal("150.00"), Decimal("800.00"))]
    assert (result.total_before, result.total_after) == (Decimal("850.05"), Decimal("1500.05"))


def test_run_errors_are_clear(company: Engine) -> None:
    with pytest.raises(
        NotFound, match=r"unknown period 'FY2031-M01'; the calendar's months are FY2025-M01 \.\. FY2025-M12"
    ):
        run_period(company, "FY2031-M01")
    with pytest.raises(Exception, match="FY2025-Q1 is a quarter; runs pay a month"):
        run_period(company, "FY2025-Q1")
    with pytest.raises(NotFound, match="unknown payee 'P9'"):
        run_period(company, "FY2025-M01", payees=["P9"])
    with pytest.raises(NotFound, match="no completed run for FY2025-M02"):
        explain(company, "P1", "FY2025-M02")


def test_cli_walkthrough_run_explain_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: WriteFile) -> None:
    from openspm.cli.main import app
    from openspm.store.db import make_engine, migrate

    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENSPM_DATABASE_URL", raising=False)
    engine = make_engine()
    migrate(engine)
    runner = CliRunner()
    assert runner.invoke(app, ["calendar", "create", "2025"]).exit_code == 0
    for kind, body in {
        "payees": "id,name,pay_currency\nP1,Ann,USD\n",
        "accounts": "id,name\nA1,Acme\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": "id,date,account,product,amount,currency,owner\nT1,2025-01-10,A1,SKU1,12000,USD,P1\n",
    }.items():
        assert runner.invoke(app, ["import", kind, str(write(f"{kind}.csv", body))]).exit_code == 0
    added = runner.invoke(app, ["plan", "add", str(write("ae.yaml", PLAN))])
    assert added.exit_code == 0 and "plan ae added as version 1" in added.stdout
    assignments = write("pa.csv", "payee,plan,effective_from\nP1,ae,2025-01-01\n")
    assert runner.invoke(app, ["import", "plan_assignments", str(assignments)]).exit_code == 0

    first = runner.invoke(app, ["run", "--period", "FY2025-M01"])
    assert first.exit_code == 0, first.output
    assert "run 1 FY2025-M01: 1 payees, 1 credits, 1 earnings, total 700.00 USD; 0 issues" in first.stdout
    explained = runner.invoke(app, ["explain", "--payee", "P1", "--period", "FY2025-M01"])
    assert explained.exit_code == 0
    for text in (
        "ae / commission (tiered_rate), measured over FY2025-M01: 700.00 USD",
        "bookings = 12000",
        "band [0, 10000): 10000 × 0.05 = 500",
        "band [10000, ∞): 2000 × 0.1 = 200",
        "1 credits add up to 12000",
        "total 700.00 USD",
    ):
        assert text in explained.stdout, explained.stdout
    second = runner.invoke(app, ["run", "--period", "FY2025-M01", "--json"])
    assert json.loads(second.stdout)["run"] == 2
    compared = runner.invoke(app, ["diff", "1", "2"])
    assert "0 of 1 payees changed" in compared.stdout
    missing = runner.invoke(app, ["run"])
    assert missing.exit_code == 2 and "say which months to run" in missing.stderr


@pytest.mark.parametrize("batch", [2, 250_000])
def test_transactions_are_read_exactly_through_the_driver(
    company: Engine, write: WriteFile, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's fast reader gives what the ORM gives: money to 12 places, dates, attributes, and the
    originals of returns dated before the window."""
    extra = write(
        "more.csv",
        "id,date,type,account,product,amount,currency,quantity,original,attr.channel\n"
        "T5,2025-02-10,return,A1,SKU1,-100.123456789012,USD,-1,T1,web\n"
        "T6,2025-02-11,sale,A2,SKU1,0.000000000001,USD,2.5,,\n",
    )
    assert import_file(company, "transactions", extra, actor="test").rejected == 0
    monkeypatch.setattr(runs, "READ_BATCH", batch)  # rows per fetch: several batches, or one
    with Session(company) as session:
        table = runs.read_transactions(session, date(2025, 2, 1), date(2025, 3, 1), ["channel"])
        expected = {
            r.external_id: (r.date, r.type, r.amount, r.quantity, (r.attributes or {}).get("channel"))
            for r in session.scalars(select(m.Transaction))
        }
    got = {
        r["external_id"]: (r["date"], r["type"], r["amount"], r["quantity"], r["attr_channel"])
        for r in table.to_pylist()
    }
    assert sorted(got) == ["T1", "T4", "T5", "T6"]  # February, and T5's original from January
    assert got == {k: expected[k] for k in got}
    assert table.schema.field("amount").type == pa.decimal128(38, 12)
