"""Finance pages and API (SQLite and PostgreSQL): a month's accruals (earned, held, released, paid, and what stays
accrued unpaid), the payroll file and GL journal as the CLI's own bytes, the commission accounting schedule, and
the role matrix (admin, comp analyst, finance read; manager and rep 403)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from openspm.access.errors import Forbidden
from openspm.access.finance import accounting_for, accruals_csv, accruals_for, journal_for, payroll_for
from openspm.cli.main import app as cli
from openspm.close.adjustments import accept_plan
from openspm.core.errors import NotFound
from openspm.exports.journal import journal_csv
from openspm.exports.payroll import payroll_csv
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from tests.conftest import WriteFile
from tests.test_access import PLAN, build_company, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import signed_in

# Version 2, in force from the same day (it wins the tie): every component held until the payee accepts.
HELD = PLAN + 'pay:\n  holds:\n    - {component: "*", until: plan_accepted}\n'


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    """The test company with pay held until acceptance; R1 accepts on 10 February; both months run again."""
    build_company(engine, write)
    add_plan(engine, write("ae-held.yaml", HELD), actor="test")
    accept_plan(engine, payee="R1", plan="ae", version=2, on=date(2025, 2, 10), actor="r1@x.io")
    run_period(engine, "FY2025-M01", actor="test")
    run_period(engine, "FY2025-M02", actor="test")
    return engine


def test_accruals_show_earned_held_released_paid_and_what_stays_accrued_unpaid(company: Engine) -> None:
    finance = who(company, "finance@x.io")
    january = accruals_for(company, finance, "FY2025-M01")
    [total] = january.totals
    # R1 400.00, R2 200.03, R3 150.00 earned; nobody had accepted by the end of January: all held, nothing paid
    assert (total.currency, total.earned, total.held, total.paid, total.outstanding) == (
        "USD", Decimal("750.03"), Decimal("750.03"), Decimal(0), Decimal("750.03"),
    )  # fmt: skip
    assert [(r.plan, r.component, r.earned) for r in january.rows] == [("ae", "commission", Decimal("750.03"))]
    february = accruals_for(company, finance, "FY2025-M02")
    [feb] = february.totals
    assert feb.earned == Decimal("700.00")  # R1 100.00 (true-up to 500.00), R2 600.00, R3 0
    assert feb.paid == feb.earned - feb.held + feb.released + feb.adjustments + feb.clawbacks + feb.draws
    assert feb.released >= Decimal("400.00")  # R1's January, released by the acceptance of 10 February
    assert feb.outstanding == Decimal("950.03")  # R2's and R3's Jan + Feb, still held
    assert feb.outstanding == total.outstanding + feb.held - feb.released
    assert [(c.cost_center, c.earned) for c in february.by_cost_center] == [("", Decimal("700.00"))]
    text = accruals_csv(february).decode()
    assert text.startswith("period,cost_center,plan,component,currency,earned,held,released,")
    assert "FY2025-M02,,ae,commission,USD,700.00," in text
    for email in ("m1@x.io", "r1@x.io"):
        with pytest.raises(Forbidden, match="finance pages need"):
            accruals_for(company, who(company, email), "FY2025-M02")
    with pytest.raises(NotFound, match="unknown month"):
        accruals_for(company, finance, "FY2099-M01")


def test_files_are_the_cli_bytes_and_the_schedule_sums_by_month(company: Engine, tmp_path: Path) -> None:
    analyst = who(company, "analyst@x.io")
    payroll = payroll_for(company, analyst, "FY2025-M02")
    assert payroll.data == payroll_csv(company, "FY2025-M02")
    assert payroll.header[:2] == ["employee_id", "name"] and {r[0] for r in payroll.rows} == {"R1"}
    journal = journal_for(company, analyst, "FY2025-M02")
    assert journal.data == journal_csv(company, "FY2025-M02") and journal.balanced
    assert journal.debits == journal.credits and journal.debits["USD"] > 0
    runner = CliRunner()
    env = {"OPENSPM_DATABASE_URL": company.url.render_as_string(hide_password=False)}
    out = tmp_path / "schedule.csv"
    done = runner.invoke(cli, ["accounting", "schedule", "--through", "FY2025-M02", "--csv", str(out)], env=env)
    assert done.exit_code == 0, done.output
    book = accounting_for(company, analyst, "FY2025-M02")
    assert book.schedule_csv() == out.read_bytes()
    jan = [x for x in book.months if x.period == "FY2025-M01"]
    # no transaction carries a contract term: every commission is expensed at once, no asset remains
    assert [(x.expensed, x.capitalized, x.remaining) for x in jan] == [(Decimal("750.03"), Decimal(0), Decimal(0))]
    assert [(t, n) for t, n, _ in book.treatments] == [("expensed_no_contract", 5)]


def test_pages_and_api_for_each_role(company: Engine) -> None:
    endpoints = [
        "/api/v1/finance/accruals?period=FY2025-M02",
        "/api/v1/finance/accruals.csv?period=FY2025-M02",
        "/api/v1/finance/payroll?period=FY2025-M02",
        "/api/v1/finance/payroll.csv?period=FY2025-M02",
        "/api/v1/finance/journal?period=FY2025-M02",
        "/api/v1/finance/journal.csv?period=FY2025-M02",
        "/api/v1/finance/accounting/schedule?through=FY2025-M02",
        "/api/v1/finance/accounting/schedule.csv?through=FY2025-M02",
        "/api/v1/finance/accounting/journal?period=FY2025-M02",
        "/api/v1/finance/accounting/journal.csv?period=FY2025-M02&detail=true",
    ]
    finance = client_with_token(company, "finance@x.io", "read")
    for path in endpoints:
        answer = finance.get(path)
        assert answer.status_code == 200, (path, answer.text)
        if ".csv" in path:
            assert answer.headers["content-type"].startswith("text/csv") and "attachment" in answer.headers[
                "content-disposition"]  # fmt: skip
    assert finance.get(endpoints[3]).content == payroll_csv(company, "FY2025-M02")
    assert finance.get(endpoints[5]).content == journal_csv(company, "FY2025-M02")
    body = finance.get(endpoints[0]).json()
    assert body["totals"][0]["earned"] == "700.00" and body["totals"][0]["outstanding"] == "950.03"
    assert finance.get(endpoints[4]).json()["balanced"] is True
    months = finance.get(endpoints[6]).json()["months"]
    assert [m["period"] for m in months] == ["FY2025-M01", "FY2025-M02"]
    for email in ("m1@x.io", "r1@x.io"):
        client = client_with_token(company, email)
        for path in endpoints:
            assert_error(client.get(path), 403, "forbidden")
    for path in endpoints:
        assert_error(TestClient(finance.app).get(path), 401, "unauthorized")
    assert_error(finance.get("/api/v1/finance/accruals?period=FY2099-M01"), 404, "not_found")
    assert_error(finance.get("/api/v1/finance/journal"), 422, "invalid_input")
    pages = {
        "/finance/accruals?period=FY2025-M02": "950.03",
        "/finance/payroll?period=FY2025-M02": "employee_id",
        "/finance/journal?period=FY2025-M02": "balanced",
        "/finance/accounting?through=FY2025-M02": "expensed_no_contract",
    }
    for email in ("finance@x.io", "admin@x.io", "analyst@x.io"):
        client = signed_in(company, email)
        for path, text in pages.items():
            page = client.get(path)
            assert page.status_code == 200 and text in page.text, (email, path)
        assert 'href="/finance"' in client.get("/finance/accruals").text
    staff = signed_in(company, "finance@x.io")
    assert staff.get("/finance/payroll.csv?period=FY2025-M02").content == payroll_csv(company, "FY2025-M02")
    assert staff.get("/finance/journal.csv?period=FY2025-M02").content == journal_csv(company, "FY2025-M02")
    assert 'href="/help/web#finance-accruals"' in staff.get("/finance/accruals").text
    assert staff.get("/finance", follow_redirects=False).headers["location"] == "/finance/accruals"
    guide = staff.get("/help/web").text
    for anchor in ("my-plan", "plan-acceptance", "finance-accruals", "finance-payroll-and-journal",
                   "finance-commission-accounting"):  # fmt: skip
        assert f'id="{anchor}"' in guide, anchor
    for email in ("m1@x.io", "r1@x.io"):
        client = signed_in(company, email)
        for path in [*pages, "/finance", "/finance/payroll.csv?period=FY2025-M02"]:
            assert client.get(path, follow_redirects=False).status_code == 403, (email, path)
