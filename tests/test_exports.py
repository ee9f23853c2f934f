"""Payroll files and GL accrual journals (SQLite and PostgreSQL), from real runs, reproducible for closed months.

The company: a 5% commission on bookings, a 500 bonus at 10,000 of bookings in a month, and a recoverable draw
of 1,000 a month. Ann (P1) is paid in USD, Bob (P2) in EUR at 0.9.

    FY2025-M01  Ann: T1 30,000 → commission 1,500.00 + bonus 500.00 = 2,000.00, above the draw: paid 2,000.00
                Bob: T2 4,000 → commission 200.00; draw advance 800.00: paid 1,000.00 USD = 900.00 EUR
    FY2025-M02  Ann: adjustment +50.00 (spiff); draw advance 950.00: paid 1,000.00
                Bob: T3 40,000 → 2,000.00 + 500.00 = 2,500.00; recovers the 800.00: paid 1,700.00 = 1,530.00 EUR
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from openspm.close.adjustments import add_adjustment
from openspm.close.service import approve, close
from openspm.core.errors import InvalidInput, NotFound
from openspm.exports.journal import gl_journal, journal_csv, journal_lines, load_accounts, totals
from openspm.exports.payroll import DEFAULT_CONFIG, load_payroll_config, payroll_csv
from openspm.exports.sources import MonthPayments, PayeeDetails
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.store import models as m
from tests.conftest import WriteFile

D = Decimal

PLAN = """
version: 1
plan: ae
name: AE plan
currency: USD
effective_from: 2025-01-01
measures:
  - {name: bookings, sum: amount, roles: [direct]}
components:
  - {name: commission, kind: flat_rate, measure: bookings, rate: 0.05}
  - {name: bonus, kind: bonus, when: "bookings >= 10000", amount: 500}
pay:
  draw: {kind: recoverable, amount: 1000}
"""


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "fx_rates": "from_currency,to_currency,effective_date,rate\nUSD,EUR,2024-12-01,0.9\n",
        "payees": "id,name,email,pay_currency,cost_center\nP1,Ann,ann@example.com,USD,CC-EAST\n"
        "P2,Bob,bob@example.com,EUR,CC-WEST\n",
        "accounts": "id,name\nA1,Acme\nA2,Globex\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": "id,date,account,product,amount,currency,owner\n"
        "T1,2025-01-10,A1,SKU1,30000,USD,P1\n"
        "T2,2025-01-20,A2,SKU1,4000,USD,P2\n"
        "T3,2025-02-05,A2,SKU1,40000,USD,P2\n",
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0, kind
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    assignments = "payee,plan,effective_from\nP1,ae,2025-01-01\nP2,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    run_period(engine, "FY2025-M01", actor="test")
    add_adjustment(
        engine, payee="P1", plan="ae", period="FY2025-M02", amount=D("50"), reason_code="spiff", actor="test"
    )
    run_period(engine, "FY2025-M02", actor="test")
    return engine


def test_payroll_rows_per_payee_and_earning_code(company: Engine) -> None:
    assert payroll_csv(company, "FY2025-M01").decode() == (
        "employee_id,name,cost_center,period,earning_code,amount,pay_currency,plan_amount,plan_currency,rate\n"
        "P1,Ann,CC-EAST,FY2025-M01,BON,500.00,USD,500.00,USD,1\n"
        "P1,Ann,CC-EAST,FY2025-M01,COMM,1500.00,USD,1500.00,USD,1\n"
        "P2,Bob,CC-WEST,FY2025-M01,COMM,180.00,EUR,200.00,USD,0.9\n"
        "P2,Bob,CC-WEST,FY2025-M01,DRAW,720.00,EUR,800.00,USD,0.9\n"
    )
    february = payroll_csv(company, "FY2025-M02").decode().splitlines()
    assert february[1:] == [
        "P1,Ann,CC-EAST,FY2025-M02,ADJ,50.00,USD,50.00,USD,1",
        "P1,Ann,CC-EAST,FY2025-M02,DRAW,950.00,USD,950.00,USD,1",
        "P2,Bob,CC-WEST,FY2025-M02,BON,450.00,EUR,500.00,USD,0.9",
        "P2,Bob,CC-WEST,FY2025-M02,COMM,1800.00,EUR,2000.00,USD,0.9",
        "P2,Bob,CC-WEST,FY2025-M02,DRAWREC,-720.00,EUR,-800.00,USD,0.9",
    ]


def test_payroll_configuration_chooses_columns_and_codes(company: Engine, write: WriteFile) -> None:
    config = load_payroll_config(
        write(
            "payroll.yaml",
            """
            columns:
              - {field: email, header: Work Email}
              - earning_code
              - {field: amount, header: Amount}
            earning_codes:
              default: C100
              components: {ae/bonus: B200}
              lines: {draw_advance: D300}
            delimiter: ";"
            """,
        )
    )
    assert payroll_csv(company, "FY2025-M01", config).decode() == (
        "Work Email;earning_code;Amount\n"
        "ann@example.com;B200;500.00\n"
        "ann@example.com;C100;1500.00\n"
        "bob@example.com;C100;180.00\n"
        "bob@example.com;D300;720.00\n"
    )
    # Same code for the bonus and the commission: one row, summed.
    merged = DEFAULT_CONFIG.model_copy(update={"earning_codes": DEFAULT_CONFIG.earning_codes.model_copy(
        update={"component_kinds": {}})})  # fmt: skip
    assert "P1,Ann,CC-EAST,FY2025-M01,COMM,2000.00,USD" in payroll_csv(company, "FY2025-M01", merged).decode()


def test_payroll_configuration_mistakes_are_named(write: WriteFile) -> None:
    with pytest.raises(InvalidInput, match=r"payroll.yaml @ columns.0"):
        load_payroll_config(write("payroll.yaml", "columns: [salary]\n"))
    with pytest.raises(InvalidInput, match=r"payroll.yaml @ earning_codes.lines.bonus"):
        load_payroll_config(write("payroll.yaml", "earning_codes: {lines: {bonus: X}}\n"))
    with pytest.raises(InvalidInput, match=r"payroll.yaml @ colums: Extra inputs are not permitted"):
        load_payroll_config(write("payroll.yaml", "colums: [amount]\n"))
    with pytest.raises(InvalidInput, match="payroll configuration file not found"):
        load_payroll_config(Path("/nonexistent/payroll.yaml"))


def test_journal_accrues_pays_and_balances_by_cost_center(company: Engine) -> None:
    january = gl_journal(company, "FY2025-M01")
    got = [(x.entry, x.kind, x.payee, x.account, x.debit, x.credit) for x in january]
    assert got == [
        (1, "accrual", "P1", "Commission expense", D("2000.00"), D(0)),
        (1, "accrual", "P1", "Accrued commissions", D(0), D("2000.00")),
        (2, "payment", "P1", "Accrued commissions", D("2000.00"), D(0)),
        (2, "payment", "P1", "Payroll clearing", D(0), D("2000.00")),
        (3, "accrual", "P2", "Commission expense", D("200.00"), D(0)),
        (3, "accrual", "P2", "Accrued commissions", D(0), D("200.00")),
        (4, "draw_advance", "P2", "Draw receivable", D("800.00"), D(0)),
        (4, "draw_advance", "P2", "Payroll clearing", D(0), D("800.00")),
        (5, "payment", "P2", "Accrued commissions", D("200.00"), D(0)),
        (5, "payment", "P2", "Payroll clearing", D(0), D("200.00")),
    ]
    february = gl_journal(company, "FY2025-M02")
    bob = [(x.kind, x.account, x.debit, x.credit) for x in february if x.payee == "P2"]
    assert bob == [
        ("accrual", "Commission expense", D("2500.00"), D(0)),
        ("accrual", "Accrued commissions", D(0), D("2500.00")),
        ("draw_recovery", "Accrued commissions", D("800.00"), D(0)),
        ("draw_recovery", "Draw receivable", D(0), D("800.00")),
        ("payment", "Accrued commissions", D("1700.00"), D(0)),
        ("payment", "Payroll clearing", D(0), D("1700.00")),
    ]
    by_account = {(t.account, t.cost_center): (t.debit, t.credit) for t in totals(january + february)}
    assert journal_csv(company, "FY2025-M02").decode().splitlines()[-1] == (
        "FY2025-M02,6,payment,Payroll clearing,CC-WEST,P2,ae,USD,,1700.00,commissions paid in FY2025-M02 (draw recovered 800.00)"
    )
    assert by_account[("Draw receivable", "CC-WEST")] == (D("800.00"), D("800.00"))  # advanced, then recovered
    assert by_account[("Accrued commissions", "CC-WEST")] == (D("2700.00"), D("2700.00"))
    assert sum(t.debit for t in totals(february)) == sum(t.credit for t in totals(february))
    header, first = journal_csv(company, "FY2025-M01").decode().splitlines()[:2]
    assert header == "period,entry,kind,account,cost_center,payee,plan,currency,debit,credit,memo"
    assert (
        first
        == "FY2025-M01,1,accrual,Commission expense,CC-EAST,P1,ae,USD,2000.00,,commissions earned in FY2025-M01: bonus; commission"
    )


def _payment(lines: list[tuple[str, str]], amount: str) -> m.Payment:
    return m.Payment(
        run_id=1, plan="ae", payee_id=1, payee="P9", period="FY2025-M03", currency="USD", earned=D(0),
        amount=D(amount), pay_currency="USD", rate=D(1), rate_date=None, pay_amount=D(amount), balance={},
        lines=[{"kind": k, "amount": a, "pay_amount": a, "source": {"component": "commission"}, "reason": ""}
               for k, a in lines],
    )  # fmt: skip


def test_journal_keeps_held_earnings_accrued_and_books_clawbacks_and_guarantees() -> None:
    payment = _payment(
        [("earning", "1000"), ("hold", "-400"), ("release", "150"), ("clawback", "-100"),
         ("guarantee_forgiven", "350")],
        "1000",
    )  # fmt: skip
    month = MonthPayments("FY2025-M03", 1, False, [payment], {"P9": PayeeDetails("P9", "Cy", "", "CC-9", "USD")})
    lines = journal_lines(month)
    got = [(x.kind, x.account, x.debit, x.credit) for x in lines]
    assert got == [
        ("accrual", "Commission expense", D("1000"), D(0)),
        ("accrual", "Accrued commissions", D(0), D("1000")),
        ("clawback", "Accrued commissions", D("100"), D(0)),
        ("clawback", "Commission expense", D(0), D("100")),
        ("guarantee_forgiven", "Draw guarantee expense", D("350"), D(0)),
        ("guarantee_forgiven", "Payroll clearing", D(0), D("350")),
        ("payment", "Accrued commissions", D("650"), D(0)),  # 1,000 − 400 held + 150 released − 100 clawed
        ("payment", "Payroll clearing", D(0), D("650")),
    ]
    accrued = {t.account: t.debit - t.credit for t in totals(lines)}
    assert -accrued["Accrued commissions"] == D("250")  # still held: 400 − 150 released
    assert -accrued["Payroll clearing"] == D("1000")  # the payment
    assert lines[-1].memo == "commissions paid in FY2025-M03 (held 400.00, released 150.00)"


def test_journal_account_names_come_from_a_file(write: WriteFile) -> None:
    accounts = load_accounts(write("gl.yaml", "accounts: {clearing: '2100 Payroll clearing'}\n"))
    assert accounts.clearing == "2100 Payroll clearing" and accounts.expense == "Commission expense"
    with pytest.raises(InvalidInput, match=r"gl.yaml @ accounts.cash: Extra inputs are not permitted"):
        load_accounts(write("gl.yaml", "accounts: {cash: Bank}\n"))


def test_a_closed_month_exports_the_same_bytes_after_later_changes(company: Engine, write: WriteFile) -> None:
    approve(company, "FY2025-M01", actor="test")
    close(company, "FY2025-M01", actor="test")
    payroll, journal = payroll_csv(company, "FY2025-M01"), journal_csv(company, "FY2025-M01")
    # Later: Bob's January deal grows, a new February deal, and Bob moves cost center.
    changed = "id,date,account,product,amount,currency,owner\nT2,2025-01-20,A2,SKU1,14000,USD,P2\n" \
              "T4,2025-02-25,A1,SKU1,1000,USD,P1\n"  # fmt: skip
    assert import_file(company, "transactions", write("later.csv", changed), actor="test").rejected == 0
    moved = "id,name,email,pay_currency,cost_center\nP2,Bob,bob@example.com,EUR,CC-NORTH\n"
    assert import_file(company, "payees", write("moved.csv", moved), actor="test").updated == 1
    run_period(company, "FY2025-M02", actor="test")
    assert payroll_csv(company, "FY2025-M01") == payroll
    assert journal_csv(company, "FY2025-M01") == journal
    assert b"CC-WEST" in journal and b"CC-NORTH" not in journal
    # The change is paid in February as a prior-period adjustment: T2 14,000 → 700 + bonus 500 = 1,200 (was 200).
    february = payroll_csv(company, "FY2025-M02").decode()
    assert "P2,Bob,CC-NORTH,FY2025-M02,PPA,900.00,EUR,1000.00,USD,0.9" in february
    ppa = [x for x in gl_journal(company, "FY2025-M02") if x.kind == "prior_period_adjustment"]
    assert [(x.account, x.debit, x.credit) for x in ppa] == [
        ("Commission expense", D("1000.00"), D(0)),
        ("Accrued commissions", D(0), D("1000.00")),
    ]
    assert ppa[0].memo == "prior-period adjustment for FY2025-M01"


def test_exports_name_a_month_without_a_run(company: Engine) -> None:
    with pytest.raises(NotFound, match="no completed run for FY2025-M05"):
        payroll_csv(company, "FY2025-M05")


def test_cli_export_payroll_and_journal(company: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    runner = CliRunner()
    out = tmp_path / "payroll.csv"
    result = runner.invoke(app, ["export", "payroll", "--period", "FY2025-M01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == payroll_csv(company, "FY2025-M01")
    assert "FY2025-M01: 4 payroll rows" in result.stderr
    shown = runner.invoke(app, ["export", "journal", "--period", "FY2025-M02"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.encode() == journal_csv(company, "FY2025-M02")
    written = runner.invoke(app, ["export", "journal", "-p", "FY2025-M02", "-o", str(tmp_path / "gl.csv")])
    assert "balanced" in written.stderr
    missing = runner.invoke(app, ["export", "payroll", "--period", "FY2025-M09"])
    assert missing.exit_code == 3 and "no completed run for FY2025-M09" in missing.stderr


def test_payee_details_are_read_as_they_stood_at_a_time(company: Engine, write: WriteFile) -> None:
    from sqlalchemy.orm import Session

    from openspm.core.dates import utc_now
    from openspm.exports.sources import payee_details

    before = utc_now()
    for center in ("CC-NORTH", "CC-SOUTH"):
        moved = f"id,name,email,pay_currency,cost_center\nP2,Robert,bob@example.com,EUR,{center}\n"
        assert import_file(company, "payees", write("moved.csv", moved), actor="test").updated == 1
    with Session(company) as session:
        now, then = payee_details(session, None), payee_details(session, before)
    assert (now["P2"].cost_center, now["P2"].name) == ("CC-SOUTH", "Robert")
    assert (then["P2"].cost_center, then["P2"].name) == ("CC-WEST", "Bob")  # both changes undone
    assert then["P1"] == now["P1"]


def test_the_documented_default_payroll_configuration_is_the_default() -> None:
    import yaml

    text = (Path(__file__).resolve().parents[1] / "docs" / "exports.md").read_text(encoding="utf-8")
    block = text.split("The default configuration:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    from openspm.exports.payroll import PayrollConfig

    assert PayrollConfig.model_validate(yaml.safe_load(block)) == DEFAULT_CONFIG
