"""Pay and close on the store (SQLite and PostgreSQL): payments with draws, holds, adjustments and pay currency;
the period lifecycle; closed months that never change and prior-period adjustments in the next open month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.cli.main import app
from openspm.close import adjustments as adj
from openspm.close import service as close
from openspm.close.documents import month_documents
from openspm.core.errors import Conflict, InvalidInput
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.pay import payments_of
from openspm.runs.service import run_period
from openspm.store import models as m
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
  - {name: commission, kind: flat_rate, measure: bookings, rate: 0.10}
"""

DRAW = """
pay:
  draw: {kind: KIND, amount: 1500, periods: 12}
"""


def _company(engine: Engine, write: WriteFile, plan: str, sales: str, payees: str | None = None) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025, 2026], actor="test")
    files = {
        "payees": payees or "id,name,pay_currency\nP1,Ann,USD\nP2,Bob,USD\n",
        "accounts": "id,name\nA1,Acme\nA2,Globex\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "fx_rates": "from_currency,to_currency,effective_date,rate\nEUR,USD,2025-01-01,1.25\n",
        "transactions": "id,date,account,product,amount,currency,owner\n" + sales,
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", plan), actor="test")
    assignments = "payee,plan,effective_from\nP1,ae,2025-01-01\nP2,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    return engine


def _paid(engine: Engine, period: str) -> dict[str, Decimal]:
    with Session(engine) as session:
        return {p.payee: p.amount for p in payments_of(session, period)}


def _lines(engine: Engine, period: str, payee: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        (payment,) = [p for p in payments_of(session, period) if p.payee == payee]
        return [(line["kind"], line["amount"]) for line in payment.lines]


def _statement(engine: Engine, period: str, payee: str) -> tuple[str, bytes]:
    from openspm.statements.render import render_html, render_pdf
    from openspm.statements.service import statement

    with Session(engine) as session:
        data = statement(session, period, payee)
    return render_html(data), render_pdf(data)


# --- golden 1: draws -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "september"), [("recoverable", "2000"), ("non_recoverable", "3000")])
def test_golden_draw_pays_the_draw_then_recovers_it(
    engine: Engine, write: WriteFile, kind: str, september: str
) -> None:
    # Earned 500 in August (5,000 × 10%) and 3,000 in September (30,000 × 10%), with a draw of 1,500 a month.
    sales = "T1,2025-08-10,A1,SKU1,5000,USD,P1\nT2,2025-09-10,A1,SKU1,30000,USD,P1\n"
    _company(engine, write, PLAN + DRAW.replace("KIND", kind), sales)
    run_period(engine, "FY2025-M08", actor="test")
    run_period(engine, "FY2025-M09", actor="test")
    assert _paid(engine, "FY2025-M08")["P1"] == Decimal("1500")
    assert _paid(engine, "FY2025-M09")["P1"] == Decimal(september)
    with Session(engine) as session:
        (payment,) = [p for p in payments_of(session, "FY2025-M09") if p.payee == "P1"]
        assert Decimal(payment.balance["draw_owed"]) == 0
        assert Decimal(payment.balance["forgiven_to_date"]) == (0 if kind == "recoverable" else 1000)
    # P2 earned nothing: the guarantee pays the draw, owed back only when recoverable.
    assert _paid(engine, "FY2025-M08")["P2"] == Decimal("1500")


def test_a_payment_lists_each_part_and_adds_up(engine: Engine, write: WriteFile) -> None:
    sales = "T1,2025-08-10,A1,SKU1,5000,USD,P1\n"
    _company(engine, write, PLAN + DRAW.replace("KIND", "recoverable"), sales)
    run_period(engine, "FY2025-M08", actor="test")
    lines = _lines(engine, "FY2025-M08", "P1")
    assert lines == [("earning", "500.00"), ("draw_advance", "1000.00")]
    assert sum(Decimal(a) for _, a in lines) == _paid(engine, "FY2025-M08")["P1"]


# --- pay currency ---------------------------------------------------------------------------------------------


def test_pay_currency_converts_at_the_months_rate(engine: Engine, write: WriteFile) -> None:
    payees = "id,name,pay_currency\nP1,Ann,EUR\nP2,Bob,USD\n"
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\n", payees)
    run_period(engine, "FY2025-M03", actor="test")
    with Session(engine) as session:
        (payment,) = [p for p in payments_of(session, "FY2025-M03") if p.payee == "P1"]
    # 100 USD earned; only EUR→USD 1.25 is stored, so USD→EUR is 1/1.25 = 0.8: 80.00 EUR.
    assert (payment.amount, payment.pay_currency, payment.rate) == (Decimal("100"), "EUR", Decimal("0.8"))
    assert payment.pay_amount == Decimal("80.00")


# --- adjustments ----------------------------------------------------------------------------------------------


def test_an_adjustment_needing_approval_is_paid_once_someone_else_approves_it(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\n")
    view = adj.add_adjustment(
        engine,
        payee="P1",
        plan="ae",
        period="FY2025-M03",
        amount=Decimal("250"),
        reason_code="missed_credit",
        actor="analyst",
        note="deal T9 credited to the wrong rep",
        needs_approval=True,
    )
    run_period(engine, "FY2025-M03", actor="test")
    assert _paid(engine, "FY2025-M03")["P1"] == Decimal("100")  # pending: not paid
    with pytest.raises(Conflict, match="someone else"):
        adj.decide(engine, view.id, "analyst", approve=True)
    adj.decide(engine, view.id, "manager", approve=True, note="ok")
    assert close.status(engine, "FY2025")[2].status == "open"  # its results are stale until it runs again
    run_period(engine, "FY2025-M03", actor="test")
    assert _paid(engine, "FY2025-M03")["P1"] == Decimal("350")
    assert ("adjustment", "250") in _lines(engine, "FY2025-M03", "P1")
    with Session(engine) as session:
        audited = session.scalars(select(m.AuditEntry.action).where(m.AuditEntry.entity == "adjustments")).all()
    assert sorted(audited) == ["approve", "insert"]


def test_adjustments_refuse_bad_codes_and_closed_months(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\n")
    args = {"payee": "P1", "plan": "ae", "period": "FY2025-M03", "amount": Decimal(10), "actor": "a"}
    with pytest.raises(InvalidInput, match="unknown reason code"):
        adj.add_adjustment(engine, reason_code="because", **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="needs a note"):
        adj.add_adjustment(engine, reason_code="other", **args)  # type: ignore[arg-type]
    run_period(engine, "FY2025-M03", actor="test")
    close.approve(engine, "FY2025-M03", "admin")
    close.close(engine, "FY2025-M03", "admin", month_documents)
    with pytest.raises(Conflict, match="closed"):
        adj.add_adjustment(engine, reason_code="correction", **args)  # type: ignore[arg-type]


# --- holds ----------------------------------------------------------------------------------------------------


def test_a_manual_hold_pays_in_the_month_it_is_released(engine: Engine, write: WriteFile) -> None:
    plan = PLAN + "pay:\n  holds: [{component: commission, until: manual}]\n"
    _company(engine, write, plan, "T1,2025-03-10,A1,SKU1,1000,USD,P1\nT2,2025-04-10,A1,SKU1,500,USD,P1\n")
    run_period(engine, "FY2025-M03", actor="test")
    assert _paid(engine, "FY2025-M03")["P1"] == Decimal("0")
    assert _lines(engine, "FY2025-M03", "P1") == [("earning", "100.00"), ("hold", "-100.00")]
    adj.release_hold(
        engine, plan="ae", payee="P1", component="commission", origin="FY2025-M03", into="FY2025-M04", actor="a",
        note="invoice confirmed",
    )  # fmt: skip
    run_period(engine, "FY2025-M04", actor="test")
    # April's own 50 is held; March's 100 is released into April.
    assert _lines(engine, "FY2025-M04", "P1") == [("earning", "50.00"), ("hold", "-50.00"), ("release", "100.00")]
    assert _paid(engine, "FY2025-M04")["P1"] == Decimal("100")


def test_a_plan_acceptance_hold_releases_everything_held_once_accepted(engine: Engine, write: WriteFile) -> None:
    plan = PLAN + "pay:\n  holds: [{component: '*', until: plan_accepted}]\n"
    _company(engine, write, plan, "T1,2025-03-10,A1,SKU1,1000,USD,P1\nT2,2025-04-10,A1,SKU1,500,USD,P1\n")
    run_period(engine, "FY2025-M03", actor="test")
    assert _paid(engine, "FY2025-M03")["P1"] == Decimal("0")
    adj.accept_plan(engine, payee="P1", plan="ae", version=None, on=date(2025, 4, 2), actor="P1")
    run_period(engine, "FY2025-M04", actor="test")
    assert _paid(engine, "FY2025-M04")["P1"] == Decimal("150")  # April's 50 at once and March's 100 released


def test_a_payment_hold_waits_for_the_customer(engine: Engine, write: WriteFile) -> None:
    plan = PLAN + "pay:\n  holds: [{component: commission, until: payment_received}]\n"
    sales = "id,date,account,product,amount,currency,owner,attr.paid_on\nT1,2025-03-10,A1,SKU1,1000,USD,P1,2025-05-03\n"
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    _company_files = {
        "payees": "id,name,pay_currency\nP1,Ann,USD\nP2,Bob,USD\n",
        "accounts": "id,name\nA1,Acme\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": sales,
    }
    for kind, body in _company_files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", plan), actor="test")
    pa = "payee,plan,effective_from\nP1,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", pa), actor="test").rejected == 0
    for month in ("FY2025-M03", "FY2025-M04", "FY2025-M05"):
        run_period(engine, month, actor="test")
    assert [_paid(engine, p).get("P1") for p in ("FY2025-M03", "FY2025-M04", "FY2025-M05")] == [
        Decimal(0),
        Decimal(0),
        Decimal(100),
    ]


# --- the lifecycle ---------------------------------------------------------------------------------------------


def test_a_closed_month_never_changes_and_a_later_change_is_paid_as_a_prior_period_adjustment(
    engine: Engine, write: WriteFile
) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\nT2,2025-04-10,A1,SKU1,500,USD,P1\n")
    run_period(engine, "FY2025-M03", actor="test")
    with pytest.raises(Conflict, match="approve it first"):
        close.close(engine, "FY2025-M03", "admin", month_documents)
    close.approve(engine, "FY2025-M03", "admin")
    closed = close.close(engine, "FY2025-M03", "admin", month_documents)
    assert closed.documents == 4  # payment and earning registers, payroll file, GL journal
    before = month_documents(engine, "FY2025-M03")
    statement_before = _statement(engine, "FY2025-M03", "P1")
    with pytest.raises(Conflict, match="is closed"):
        run_period(engine, "FY2025-M03", actor="test")

    # T1 is corrected after the close: 1,000 → 1,300 (30 more commission in March).
    fix = "id,date,account,product,amount,currency,owner\nT1,2025-03-10,A1,SKU1,1300,USD,P1\n"
    assert import_file(engine, "transactions", write("fix.csv", fix), actor="test").updated == 1
    run_period(engine, "FY2025-M04", actor="test")
    assert _lines(engine, "FY2025-M04", "P1") == [("earning", "50.00"), ("prior_period_adjustment", "30.00")]
    assert month_documents(engine, "FY2025-M03") == before  # byte-identical
    assert _statement(engine, "FY2025-M03", "P1") == statement_before
    assert all(close.verify(engine, "FY2025-M03", month_documents).values())

    run_period(engine, "FY2025-M04", actor="test")  # running April again pays the difference once, not twice
    assert _paid(engine, "FY2025-M04")["P1"] == Decimal("80")
    close.approve(engine, "FY2025-M04", "admin")
    close.close(engine, "FY2025-M04", "admin", month_documents)
    run_period(engine, "FY2025-M05", actor="test")  # already paid in April: nothing more for March
    assert _paid(engine, "FY2025-M05").get("P1", Decimal(0)) == Decimal(0)


def test_months_close_in_order_and_only_the_newest_reopens(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\nT2,2025-04-10,A1,SKU1,500,USD,P1\n")
    for month in ("FY2025-M03", "FY2025-M04"):
        run_period(engine, month, actor="test")
        close.approve(engine, month, "admin")
    with pytest.raises(Conflict, match="close FY2025-M03 first"):
        close.close(engine, "FY2025-M04", "admin", month_documents)
    close.close(engine, "FY2025-M03", "admin", month_documents)
    close.close(engine, "FY2025-M04", "admin", month_documents)
    with pytest.raises(Conflict, match="reopen FY2025-M04 first"):
        close.reopen(engine, "FY2025-M03", "admin", "wrong quota")
    with pytest.raises(InvalidInput, match="say why"):
        close.reopen(engine, "FY2025-M04", "admin", " ")
    close.reopen(engine, "FY2025-M04", "admin", "wrong quota")
    run_period(engine, "FY2025-M04", actor="test")  # open again
    with Session(engine) as session:
        note = session.scalars(select(m.AuditEntry.note).where(m.AuditEntry.action == "reopen")).one()
    assert note == "wrong quota"


def test_a_second_run_of_a_month_being_calculated_refuses(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\n")
    with Session(engine) as session, session.begin():
        session.add(m.PeriodLock(period="FY2025-M03", run_id=None, actor="other"))
    with pytest.raises(Conflict, match=r"being calculated .* by other"):
        run_period(engine, "FY2025-M03", actor="test")
    with Session(engine) as session:  # nothing was written
        assert session.scalars(select(m.Run)).all() == []
    assert close.unlock(engine, "FY2025-M03", "admin")
    assert run_period(engine, "FY2025-M03", actor="test").earnings == 2


def test_the_cli_closes_a_year_and_lists_payments(
    engine: Engine, write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    _company(engine, write, PLAN, "T1,2025-03-10,A1,SKU1,1000,USD,P1\n")
    monkeypatch.setenv("OPENSPM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    assert runner.invoke(app, ["run", "--period", "FY2025-M03"]).exit_code == 0
    result = runner.invoke(app, ["period", "close", "--year", "FY2025", "--approve"])
    assert result.exit_code == 0, result.output
    assert "FY2025-M03: closed" in result.output
    result = runner.invoke(app, ["run", "--year", "FY2025"])
    assert "skipped 1 closed months" in result.output
    result = runner.invoke(app, ["payments", "--period", "FY2025-M03", "--payee", "P1"])
    assert result.exit_code == 0 and "earning" in result.output and "100.00" in result.output
    result = runner.invoke(app, ["run", "--period", "FY2025-M03"])
    assert result.exit_code == 4 and "is closed" in result.output
