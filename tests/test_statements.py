"""Statements (SQLite and PostgreSQL): totals equal the stored run to the cent, the drill-down lists exactly the
run's credits, HTML and PDF are byte-identical when made again, and the CLI writes the files."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.core.errors import NotFound
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.statements.bulk import statements_for_period
from openspm.statements.render import money, percent, render_html, render_pdf
from openspm.statements.service import StatementData, statement
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
  - name: commission
    kind: tiered_rate
    measure: bookings
    method: marginal
    tiers:
      - {from: 0, to: 10000, rate: 0.05}
      - {from: 10000, rate: 0.10}
    multipliers:
      - {when: "bookings >= 12000", factor: 1.1}
    cap: {amount: 700}
  - {name: bonus, kind: bonus, when: "bookings >= 10000", amount: 500}
pay:
  draw: {kind: recoverable, amount: 1000, periods: 2}
"""


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    """Two reps on a tiered plan with a multiplier, a cap, a bonus and a recoverable draw; January and
    February run (payments stored by each run)."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,pay_currency\nP1,Ann,USD\nP2,Bob,USD\nP3,Cy,USD\n",
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
    run_period(engine, "FY2025-M01", actor="test")
    run_period(engine, "FY2025-M02", actor="test")
    return engine


def _read(engine: Engine, period: str, payee: str) -> StatementData:
    with Session(engine) as session:
        return statement(session, period, payee)


def _fields(html: str, name: str) -> list[Decimal]:
    """The amounts the page shows in `data-field="name"` cells, read back as Decimals."""
    found = re.findall(rf'data-field="{name}"><span class="amt">([^<]*)</span>|data-field="{name}">([^<]*)<', html)
    return [Decimal((a or b).replace(",", "").replace("\u2212", "-")) for a, b in found]


def test_money_is_formatted_exactly_never_rounded() -> None:
    assert money(Decimal("1234.5")) == "1,234.50"
    assert money(Decimal("1015342.211637")) == "1,015,342.211637"
    assert money(Decimal("14880.000000000000")) == "14,880.00"
    assert money(Decimal("-850")) == "\u2212850.00"
    assert money(Decimal("-0.00")) == "0.00"
    assert percent(Decimal("0.128")) == "12.8%"
    assert percent(Decimal("0.8849487179"), 2) == "88.49%"


def test_statement_totals_equal_the_stored_run_to_the_cent(company: Engine) -> None:
    data = _read(company, "FY2025-M02", "P2")
    with Session(company) as session:
        run = session.scalars(select(m.Run).where(m.Run.period == "FY2025-M02").order_by(m.Run.id.desc())).first()
        assert run is not None and data.run_id == run.id
        stored = session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id, m.RunEarning.payee == "P2"))
        earnings = {(e.component, e.amount, e.cut) for e in stored}
        payment = session.scalars(select(m.Payment).where(m.Payment.run_id == run.id, m.Payment.payee == "P2")).one()
    assert {(e.component, e.amount, e.cut) for e in data.earnings} == earnings
    # February: 12,000 → 500 + 200 = 700 × 1.1 = 770, capped at 700 (cut 70); bonus 500; draw recovery 200.
    commission = next(e for e in data.earnings if e.component == "commission")
    assert (commission.raw, commission.unrounded, commission.amount, commission.cut) == (
        Decimal("700.00"),
        Decimal("700"),
        Decimal("700.00"),
        Decimal("70.00"),
    )
    assert [(s.portion, s.rate, s.amount) for s in commission.tiers] == [
        (Decimal(10000), Decimal("0.05"), Decimal(500)),
        (Decimal(2000), Decimal("0.1"), Decimal(200)),
    ]
    [p] = data.payments
    assert (p.earned, p.amount, p.pay_amount) == (payment.earned, payment.amount, payment.pay_amount)
    assert [line.kind for line in p.lines] == [x["kind"] for x in payment.lines]
    assert "draw_recovery" in p.by_kind
    html = render_html(data)
    assert _fields(html, "earned") == [payment.earned]
    assert _fields(html, "amount") == [payment.amount]
    assert _fields(html, "earning") == [e.amount for e in data.earnings]
    assert _fields(html, "earnings_total") == [sum((e.amount for e in data.earnings), Decimal(0))]
    assert _fields(html, "draw_recovery") == [p.by_kind["draw_recovery"]]
    assert "0.00–10,000.00: 10,000.00 at 5% = <b>500.00</b>" in html
    assert "10,000.00–∞: 2,000.00 at 10% = <b>200.00</b>" in html
    assert "Cap 700.00 per period" in html and "cut 70.00" in html
    # Year to date: each month from its own run.
    january, february = _read(company, "FY2025-M01", "P2"), _read(company, "FY2025-M02", "P2")
    assert february.ytd.months == ("FY2025-M01", "FY2025-M02")
    assert february.ytd.earned == {"USD": january.earned["USD"] + february.earned["USD"]}
    assert february.ytd.paid == {"USD": january.paid["USD"] + february.paid["USD"]}
    # January: 3,000 × 5% = 150 earned, topped up to the 1,000 draw; February repays part of the advance.
    assert january.paid == {"USD": Decimal("1000.00")}
    html = render_html(february)
    assert _fields(html, "ytd_earned") == [february.ytd.earned["USD"]]
    assert _fields(html, "ytd_paid") == [february.ytd.paid["USD"]]


def test_drill_down_lists_exactly_the_runs_credits_and_nothing_else(company: Engine) -> None:
    data = _read(company, "FY2025-M01", "P1")
    with Session(company) as session:
        rows = session.scalars(
            select(m.RunCredit).where(m.RunCredit.run_id == data.run_id, m.RunCredit.payee == "P1")
        ).all()
        expected = sorted((c.transaction, c.role, c.share, c.amount) for c in rows)
    assert (
        sorted((c.transaction, c.role, c.share, c.amount) for c in data.credits)
        == expected
        == [
            ("T1", "owner", Decimal(1), Decimal(8000)),
            ("T2", "owner", Decimal(1), Decimal("4000.5")),
        ]
    )
    assert {(c.account_name, c.product_name, c.transaction_amount) for c in data.credits} == {
        ("Acme", "Seat", Decimal("8000.00")),
        ("Acme", "Seat", Decimal("4000.50")),
    }
    html = render_html(data)
    assert html.count('<td class="nowrap">T1') == 1 and html.count('<td class="nowrap">T2') == 1
    commission = next(e for e in data.earnings if e.component == "commission")
    assert (commission.month_credits, commission.month_credits_value) == (2, Decimal("12000.50"))
    # A payee with nothing in the run, an unknown payee, a month without a run: one clear error each.
    with pytest.raises(NotFound, match="P3 has no earnings, payments or credits in FY2025-M01"):
        _read(company, "FY2025-M01", "P3")
    with pytest.raises(NotFound, match="unknown payee 'NOBODY'"):
        _read(company, "FY2025-M01", "NOBODY")
    with pytest.raises(NotFound, match="no completed run for FY2025-M05"):
        _read(company, "FY2025-M05", "P1")


def test_html_and_pdf_are_byte_identical_when_made_again(company: Engine) -> None:
    first, again = _read(company, "FY2025-M02", "P2"), _read(company, "FY2025-M02", "P2")
    assert render_html(first) == render_html(again)
    pdf = render_pdf(first)
    assert pdf.startswith(b"%PDF-") and pdf == render_pdf(again)
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf


def test_a_run_made_before_payments_existed_shows_earnings_only(company: Engine) -> None:
    with Session(company) as session, session.begin():
        run = session.scalars(select(m.Run).where(m.Run.period == "FY2025-M02").order_by(m.Run.id.desc())).one()
        for payment in session.scalars(select(m.Payment).where(m.Payment.run_id == run.id)):
            session.delete(payment)
    data = _read(company, "FY2025-M02", "P2")
    assert not data.payments_stored and not data.payments
    assert data.earned == {"USD": sum((e.amount for e in data.earnings), Decimal(0))}
    html = render_html(data)
    assert "made before payments existed: this statement shows earnings only" in html
    assert "FY2025-M02" in data.ytd.without_payments


def test_bulk_and_cli_write_one_file_per_payee_and_format(
    company: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    progress: list[tuple[int, int]] = []
    result = statements_for_period(
        company, "FY2025-M01", tmp_path / "bulk", ("html", "pdf"), lambda _s, d, t: progress.append((d, t))
    )
    names = sorted(p.name for p in (tmp_path / "bulk").iterdir())
    assert names == [
        "FY2025-M01_P1.html", "FY2025-M01_P1.pdf", "FY2025-M01_P2.html", "FY2025-M01_P2.pdf",
        "index.csv", "index.html",
    ]  # fmt: skip
    assert result.payees == 2 and progress[-1] == (2, 2)
    index = (tmp_path / "bulk" / "index.csv").read_text().splitlines()
    assert index[0] == "payee,name,currency,earned,paid,pay_currency,pay_amount,files"
    assert index[2].startswith("P2,Bob,USD,150.00,1000.00,USD,1000.00,")
    url = company.url.render_as_string(hide_password=False)
    monkeypatch.setenv("OPENSPM_DATABASE_URL", url)
    runner = CliRunner()
    from openspm.cli.main import app

    out = tmp_path / "one"
    out.mkdir()
    done = runner.invoke(
        app,
        ["statement", "--period", "FY2025-M02", "--payee", "P2", "--pdf", str(out / "s.pdf"), "--html",
         str(out / "s.html")],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (out / "s.pdf").read_bytes().startswith(b"%PDF-")
    assert (out / "s.html").read_text() == render_html(_read(company, "FY2025-M02", "P2"))
    done = runner.invoke(
        app, ["statements", "--period", "FY2025-M02", "--out", str(tmp_path / "cli"), "--format", "html"]
    )
    assert done.exit_code == 0, done.output
    assert "2 statements for FY2025-M02 (html)" in done.output
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [
        "FY2025-M02_P1.html", "FY2025-M02_P2.html", "index.csv", "index.html",
    ]  # fmt: skip
    bad = runner.invoke(app, ["statement", "--period", "FY2025-M01", "--payee", "P3"])
    assert bad.exit_code == 3 and "error: payee P3 has no earnings" in bad.output
    bad = runner.invoke(app, ["statements", "--period", "FY2025-M01", "--out", str(tmp_path / "x"), "--format", "doc"])
    assert bad.exit_code == 2 and "unknown format 'doc'" in bad.output
