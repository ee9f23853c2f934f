"""Commission accounting on the store (SQLite and PostgreSQL): costs from stored runs, schedules, journals, CLI.

The company: a 5% commission on bookings and a 500 bonus at 10,000 of bookings in a month.

    P1 (CC-EAST), FY2025-M01: T1 60,000 (60 months) → 3,000.00, capitalized, 50.00 a month
                              T2 120,000 (24 months) → 6,000.00, capitalized, 250.00 a month
                              bonus 500.00 → expensed, not incremental
    P2 (CC-WEST), FY2025-M01: T3 3,000 (no term) → 150.00 expensed, no contract
                              T6 60,000 (6 months) → 3,000.00 expensed, practical expedient; bonus 500.00
                  FY2025-M02: T5 300,000 (36 months) → 15,000.00, 416.67 a month; bonus 500.00
                  FY2025-M06: CX5 cancels T5 on 2025-06-10: −15,000.00 reversal in June; T5 amortized
                              4 × 416.67 = 1,666.68 (Feb–May), the remaining 13,333.32 impaired in June
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.accounting.schemas import load_policy
from openspm.accounting.service import book, journal, ledger, schedule_rows, schedules
from openspm.calc.rules.amortization import Treatment
from openspm.core.errors import InvalidInput
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
"""

TRANSACTIONS = (
    "id,date,type,account,product,quantity,amount,currency,owner,original,attr.term_months\n"
    "T1,2025-01-10,sale,A1,SKU1,1,60000,USD,P1,,60\n"
    "T2,2025-01-20,sale,A1,SKU1,1,120000,USD,P1,,24\n"
    "T3,2025-01-21,sale,A2,SKU1,1,3000,USD,P2,,\n"
    "T6,2025-01-22,sale,A2,SKU1,1,60000,USD,P2,,6\n"
    "T5,2025-02-03,sale,A2,SKU1,1,300000,USD,P2,,36\n"
    "CX5,2025-06-10,cancellation,A2,SKU1,-1,-300000,USD,P2,T5,\n"
)


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,email,pay_currency,cost_center\nP1,Ann,ann@example.com,USD,CC-EAST\n"
        "P2,Bob,bob@example.com,USD,CC-WEST\n",
        "accounts": "id,name\nA1,Acme\nA2,Globex\n",
        "products": "id,name,family\nSKU1,Subscription,Platform\n",
        "transactions": TRANSACTIONS,
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    assignments = "payee,plan,effective_from\nP1,ae,2025-01-01\nP2,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    for month in ("FY2025-M01", "FY2025-M02", "FY2025-M06"):
        run_period(engine, month, actor="test")
    return engine


def _by_contract(company: Engine, through: str = "FY2025-M12") -> dict[tuple[str, str], object]:
    return {(c.payee, c.contract or c.component): c for c in book(company, through).costs}


def test_costs_are_shared_among_contracts_and_treated_by_term(company: Engine) -> None:
    result = book(company, "FY2025-M12")
    assert result.missing == tuple(f"FY2025-M{n:02d}" for n in (3, 4, 5, 7, 8, 9, 10, 11, 12))
    got = {(c.period, c.payee, c.contract or c.component): (c.amount, c.treatment) for c in result.costs}
    assert got == {
        ("FY2025-M01", "P1", "T1"): (D("3000.00"), "capitalized"),
        ("FY2025-M01", "P1", "T2"): (D("6000.00"), "capitalized"),
        ("FY2025-M01", "P1", "bonus"): (D("500"), "expensed_not_incremental"),
        ("FY2025-M01", "P2", "T3"): (D("150.00"), "expensed_no_contract"),
        ("FY2025-M01", "P2", "T6"): (D("3000.00"), "expensed_expedient"),
        ("FY2025-M01", "P2", "bonus"): (D("500"), "expensed_not_incremental"),
        ("FY2025-M02", "P2", "T5"): (D("15000.00"), "capitalized"),
        ("FY2025-M02", "P2", "bonus"): (D("500"), "expensed_not_incremental"),
        ("FY2025-M06", "P2", "CX5"): (D("-15000.00"), "reversal"),
    }
    reasons = {c.contract or c.component: c.reason for c in result.costs if c.payee == "P2"}
    assert reasons["T3"] == "T3 has no term_months: no contract term"
    assert reasons["T6"] == "practical expedient: 6 months <= 12"
    assert reasons["bonus"] == "not incremental: a bonus component pays on no measure of contracts"
    assert reasons["T5"].endswith("cancelled on 2025-06-10: remaining asset impaired")
    assert all(c.cost_center == {"P1": "CC-EAST", "P2": "CC-WEST"}[c.payee] for c in result.costs)


def test_schedules_amortize_and_impair_to_the_cent(company: Engine) -> None:
    by_contract = {s.cost.contract: s for s in schedules(company, "FY2025-M12") if s.cost.contract}
    t1, t2, t5 = by_contract["T1"], by_contract["T2"], by_contract["T5"]
    assert (t1.period_months, t1.lines[0].amount, len(t1.lines)) == (60, D("50.00"), 60)
    assert (t2.period_months, t2.lines[0].amount, len(t2.lines)) == (24, D("250.00"), 24)
    assert [x.amount for x in t5.lines] == [D("416.67")] * 4 + [D("13333.32")]
    assert t5.lines[-1].kind.value == "impairment" and t5.lines[-1].month.name == "FY2025-M06"
    assert by_contract["T6"].treatment is Treatment.EXPENSED_EXPEDIENT
    result = book(company, "FY2025-M12")
    # T1 2,400 left (48 × 50), T2 3,000 (12 × 250), T5 impaired.
    assert result.remaining() == {"USD": D("5400.00")}
    assert result.remaining(result.month("FY2025-M01")) == {"USD": D("8700.00")}
    rows = {r["contract"]: r for r in schedule_rows(result) if r["contract"]}
    assert (rows["T2"]["months"], rows["T2"]["monthly"], rows["T2"]["amortized"], rows["T2"]["remaining"]) == (
        "24", "250.00", "3000.00", "3000.00",
    )  # fmt: skip
    assert (rows["T5"]["amortized"], rows["T5"]["impaired"], rows["T5"]["remaining"]) == ("1666.68", "13333.32", "0")
    assert rows["T3"]["months"] == "" and rows["T3"]["treatment"] == "expensed_no_contract"


def test_journal_balances_by_account_and_cost_center(company: Engine) -> None:
    january = journal(company, "FY2025-M01")
    assert all(e.balanced for e in january)
    summary = [(x.entry, x.account, x.cost_center, x.debit, x.credit, x.entries) for x in ledger(january)]
    assert summary == [
        ("capitalization", "Deferred commissions", "CC-EAST", D("9000.00"), D(0), 2),
        ("capitalization", "Accrued commissions", "CC-EAST", D(0), D("9000.00"), 2),
        ("amortization", "Commission expense", "CC-EAST", D("300.00"), D(0), 2),
        ("amortization", "Deferred commissions", "CC-EAST", D(0), D("300.00"), 2),
        ("expense", "Commission expense", "CC-EAST", D("500.00"), D(0), 1),
        ("expense", "Accrued commissions", "CC-EAST", D(0), D("500.00"), 1),
        ("expense", "Commission expense", "CC-WEST", D("3650.00"), D(0), 3),
        ("expense", "Accrued commissions", "CC-WEST", D(0), D("3650.00"), 3),
    ]
    june = journal(company, "FY2025-M06")
    assert all(e.balanced for e in june)
    west = [(x.entry, x.account, x.debit, x.credit) for x in ledger(june) if x.cost_center == "CC-WEST"]
    assert west == [
        ("reversal", "Accrued commissions", D("15000.00"), D(0)),  # the cancellation's negative commission
        ("reversal", "Commission expense", D(0), D("15000.00")),
        ("impairment", "Commission impairment", D("13333.32"), D(0)),
        ("impairment", "Deferred commissions", D(0), D("13333.32")),
    ]
    memos = {e.contract: e.memo for e in journal(company, "FY2025-M01")}
    assert (
        memos["T3"]
        == "expense commission FY2025-M01/ae/P2/commission/T3 at once: T3 has no term_months: no contract term"
    )


def test_policy_expected_benefit_capitalizes_short_contracts(company: Engine, write: WriteFile) -> None:
    policy = load_policy(write("policy.yaml", "renewals_commensurate: false\nexpected_benefit_months: 48\n"))
    costs = {c.contract: c for c in book(company, "FY2025-M06", policy).costs if c.contract}
    assert costs["T6"].treatment == "capitalized"  # 6 months, but the benefit is 48 months
    assert costs["T6"].schedule is not None and costs["T6"].schedule.lines[0].amount == D("62.50")
    assert costs["T1"].schedule is not None and costs["T1"].schedule.period_months == 60  # never below the term
    off = load_policy(practical_expedient=False)
    assert {c.contract: c.treatment for c in book(company, "FY2025-M01", off).costs}["T6"] == "capitalized"


def test_policy_file_mistakes_are_named(write: WriteFile) -> None:
    with pytest.raises(InvalidInput, match=r"policy.yaml @ basis: Input should be 'contract_term' or"):
        load_policy(write("policy.yaml", "basis: lifetime\n"))
    with pytest.raises(InvalidInput, match=r"policy.yaml @ accounts.cash: Extra inputs are not permitted"):
        load_policy(write("policy.yaml", "accounts: {cash: Bank}\n"))
    with pytest.raises(InvalidInput, match="set expected_benefit_months"):
        load_policy(write("policy.yaml", "renewals_commensurate: false\n"))
    custom = load_policy(write("policy.yaml", "accounts: {asset: '1450 Contract costs'}\n"))
    assert custom.asset_account == "1450 Contract costs"


def test_a_bad_term_is_reported_and_expensed(company: Engine) -> None:
    with Session(company) as session, session.begin():
        session.execute(
            update(m.Transaction).where(m.Transaction.external_id == "T1").values(attributes={"term_months": "2.5"})
        )
    result = book(company, "FY2025-M01")
    (issue,) = result.issues
    assert (issue.column, issue.value, issue.reason) == (
        "attr.term_months", "T1", "term_months '2.5' is not a whole number of months >= 1",
    )  # fmt: skip
    assert {c.contract: c.treatment for c in result.costs}["T1"] == "expensed_no_contract"


def test_cli_schedule_and_journal(company: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATABASE_URL", str(company.url.render_as_string(hide_password=False)))
    runner = CliRunner()
    out = tmp_path / "schedule.csv"
    result = runner.invoke(app, ["accounting", "schedule", "--through", "FY2025-M12", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "9 costs through FY2025-M12" in result.stdout
    assert "deferred commissions at the end of FY2025-M12: 5400.00 USD" in result.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 9 and (rows[1]["contract"], rows[1]["monthly"]) == ("T1", "50.00")  # bonus, then T1
    journal_csv = tmp_path / "journal.csv"
    result = runner.invoke(app, ["accounting", "journal", "--period", "FY2025-M06", "--csv", str(journal_csv)])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.stdout
    lines = list(csv.DictReader(io.StringIO(journal_csv.read_text(encoding="utf-8"))))
    assert sum(D(x["debit"] or "0") for x in lines) == sum(D(x["credit"] or "0") for x in lines)
    bad = runner.invoke(app, ["accounting", "journal", "--period", "FY2031-M01"])
    assert bad.exit_code == 3 and "unknown period 'FY2031-M01'" in bad.stderr
