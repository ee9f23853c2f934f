"""Clawbacks end to end on the store (SQLite and PostgreSQL): a plan's `pay.clawback` takes back what a cancelled
or returned sale paid, as a `clawback` payment line in the cancellation's month linked to the original, and the
cancellation no longer also reduces the plan's measures; plans without it behave as before."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.calc.rules.clawbacks import months_after
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plan.load import PlanError, parse_plan
from openspm.plans.service import add_plan
from openspm.runs.pay import payments_of, period_run
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

HEADER = "id,date,type,account,product,quantity,amount,currency,original,owner,attr.term_months,attr.paid_on\n"
# Golden 2: a 100,000 sale at 10% on a 12-month contract, cancelled after 6 months.
GOLDEN = HEADER + (
    "T1,2025-01-15,sale,A1,SKU1,1,100000,USD,,P1,12,2025-02-20\n"
    "T2,2025-01-20,sale,A1,SKU1,1,60000,USD,,P2,12,\n"
    "CAN1,2025-07-01,cancellation,A1,SKU1,-1,-100000,USD,T1,,,\n"
)


def _company(engine: Engine, write: WriteFile, plan: str, transactions: str) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,pay_currency\nP1,Ann,USD\nP2,Bob,USD\n",
        "accounts": "id,name\nA1,Acme\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": transactions,
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", plan), actor="test")
    assignments = "payee,plan,effective_from\nP1,ae,2025-01-01\nP2,ae,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    return engine


def _clawback(section: str) -> str:
    return PLAN + f"pay:\n  clawback: {section}\n"


def _run(engine: Engine, *months: str) -> None:
    for month in months:
        run_period(engine, month, actor="test")


def _payment(engine: Engine, period: str, payee: str) -> m.Payment:
    with Session(engine) as session:
        (payment,) = [p for p in payments_of(session, period) if p.payee == payee]
        return payment


def _clawbacks(engine: Engine, period: str, payee: str) -> list[dict[str, Any]]:
    return [line for line in _payment(engine, period, payee).lines if line["kind"] == "clawback"]


def _earned(engine: Engine, period: str, payee: str) -> Decimal:
    with Session(engine) as session:
        run = period_run(session, period)
        rows = session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id, m.RunEarning.payee == payee))
        return sum((e.amount for e in rows), Decimal(0))


# --- golden 2 ------------------------------------------------------------------------------------------------


def test_golden_cancellation_after_six_months_claws_back_half_pro_rata(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, _clawback("{window_months: 12, method: pro_rata}"), GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    assert _earned(engine, "FY2025-M01", "P1") == Decimal("10000.00")
    (line,) = _clawbacks(engine, "FY2025-M07", "P1")
    assert Decimal(line["amount"]) == Decimal("-5000.00")
    assert line["source"] == {
        "plan": "ae",
        "component": "commission",
        "period": "FY2025-M01",
        "transaction": "T1",
        "cancellation": "CAN1",
    }
    assert line["reason"] == "cancelled within the window: pro rata, 6 of 12 months unserved"
    # The cancellation does not also reduce July's bookings (that would take the commission back twice) ...
    assert _earned(engine, "FY2025-M07", "P1") == 0
    assert _payment(engine, "FY2025-M07", "P1").amount == Decimal("-5000.00")
    # ... but its credit is stored, for the trace, counting toward no measure.
    with Session(engine) as session:
        run = period_run(session, "FY2025-M07")
        (credit,) = session.scalars(select(m.RunCredit).where(m.RunCredit.run_id == run.id))
    assert (credit.transaction, credit.original, credit.amount, credit.measures) == (
        "CAN1",
        "T1",
        Decimal(-100000),
        None,
    )
    # P2 sold nothing that was cancelled: nothing is taken back.
    assert _clawbacks(engine, "FY2025-M07", "P2") == []


def test_full_method_takes_back_the_whole_commission(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, _clawback("{window_months: 12, method: full}"), GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    (line,) = _clawbacks(engine, "FY2025-M07", "P1")
    assert (Decimal(line["amount"]), line["reason"]) == (Decimal("-10000.00"), "cancelled within the window: full")


def test_a_cancellation_outside_the_window_gives_a_zero_line_that_says_why(engine: Engine, write: WriteFile) -> None:
    _company(engine, write, _clawback("{window_days: 90, method: full}"), GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    (line,) = _clawbacks(engine, "FY2025-M07", "P1")
    assert Decimal(line["amount"]) == 0
    assert line["reason"] == "cancelled on 2025-07-01, outside the window [2025-01-15, 2025-04-15): no clawback"
    assert _payment(engine, "FY2025-M07", "P1").amount == 0  # and the measure does not fall either


def test_without_a_clawback_section_the_cancellation_reduces_the_measure_as_before(
    engine: Engine, write: WriteFile
) -> None:
    _company(engine, write, PLAN, GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    assert _earned(engine, "FY2025-M07", "P1") == Decimal("-10000.00")
    assert _clawbacks(engine, "FY2025-M07", "P1") == []
    with Session(engine) as session:
        run = period_run(session, "FY2025-M07")
        (credit,) = session.scalars(select(m.RunCredit).where(m.RunCredit.run_id == run.id))
    assert credit.measures == "bookings"


def test_a_return_in_its_sales_month_nets_in_the_measure(engine: Engine, write: WriteFile) -> None:
    sales = (
        HEADER + "T1,2025-01-05,sale,A1,SKU1,1,100000,USD,,P1,12,\nR1,2025-01-25,return,A1,SKU1,-1,-40000,USD,T1,,,\n"
    )
    _company(engine, write, _clawback("{window_months: 12, method: full}"), sales)
    _run(engine, "FY2025-M01")
    assert _earned(engine, "FY2025-M01", "P1") == Decimal("6000.00")  # nothing was paid to take back
    assert _clawbacks(engine, "FY2025-M01", "P1") == []


def test_an_aggregate_earning_is_shared_by_credit_and_a_partial_return_claws_its_share(
    engine: Engine, write: WriteFile
) -> None:
    # P1 earned 3,000 on 30,000 in March (T1 10,000 and T3 20,000); half of T3 comes back in May: T3 paid
    # 3,000 × 20,000 / 30,000 = 2,000, half of it is taken back.
    sales = HEADER + (
        "T1,2025-03-02,sale,A1,SKU1,1,10000,USD,,P1,12,\n"
        "T3,2025-03-09,sale,A1,SKU1,1,20000,USD,,P1,12,\n"
        "R3,2025-05-14,return,A1,SKU1,-1,-10000,USD,T3,,,\n"
    )
    _company(engine, write, _clawback("{window_months: 3, method: full}"), sales)
    _run(engine, "FY2025-M03", "FY2025-M05")
    (line,) = _clawbacks(engine, "FY2025-M05", "P1")
    assert (Decimal(line["amount"]), line["source"]["transaction"]) == (Decimal("-1000.00"), "T3")


def test_payment_anchor_counts_the_window_from_the_paid_on_date(engine: Engine, write: WriteFile) -> None:
    # 5 months from the payment (2025-02-20) end on 2025-07-20: CAN1 on 1 July is inside. Counted from the
    # booking (15 January) the window would have ended on 15 June.
    _company(engine, write, _clawback("{window_months: 5, method: full, anchor: payment}"), GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    (line,) = _clawbacks(engine, "FY2025-M07", "P1")
    assert Decimal(line["amount"]) == Decimal("-10000.00")


def test_pro_rata_without_a_term_gives_a_zero_line_that_says_why(engine: Engine, write: WriteFile) -> None:
    sales = (
        HEADER
        + "T1,2025-01-15,sale,A1,SKU1,1,100000,USD,,P1,,\nCAN1,2025-03-01,cancellation,A1,SKU1,-1,-100000,USD,T1,,,\n"
    )
    _company(engine, write, _clawback("{window_months: 12, method: pro_rata}"), sales)
    _run(engine, "FY2025-M01", "FY2025-M03")
    (line,) = _clawbacks(engine, "FY2025-M03", "P1")
    assert Decimal(line["amount"]) == 0
    assert line["reason"] == ("no clawback: T1 has no whole number of months in 'term_months': pro rata needs its term")


def test_a_per_deal_component_claws_what_the_deal_paid_after_its_cap(engine: Engine, write: WriteFile) -> None:
    plan = PLAN.replace("rate: 0.10}", "rate: 0.10, cap: {per: deal, amount: 8000}}")
    _company(engine, write, plan + "pay:\n  clawback: {window_months: 12, method: full}\n", GOLDEN)
    _run(engine, "FY2025-M01", "FY2025-M07")
    (line,) = _clawbacks(engine, "FY2025-M07", "P1")
    assert Decimal(line["amount"]) == Decimal("-8000.00")  # T1 paid 10,000 capped at 8,000


# --- the plan language ---------------------------------------------------------------------------------------

MISTAKES = [
    ("{method: full}", "plan.yaml @ pay.clawback: give exactly one of window_months or window_days"),
    (
        "{window_months: 3, window_days: 90}",
        "plan.yaml @ pay.clawback: give exactly one of window_months or window_days",
    ),
    (
        "{window_months: 3, anchor_attribute: invoiced_on}",
        "plan.yaml @ pay.clawback: anchor_attribute applies to anchor: invoice or payment; booking is the "
        "original's date",
    ),
]


@pytest.mark.parametrize(("section", "message"), MISTAKES)
def test_clawback_section_mistakes_name_file_and_key(section: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_clawback(section), "plan.yaml")
    assert str(caught.value) == message


CROSS_CHECKS = [
    (
        PLAN.replace(
            "  - {name: commission, kind: flat_rate, measure: bookings, rate: 0.10}",
            "  - {name: bonus, kind: bonus, when: 'bookings > 0', amount: 100}",
        ),
        "plan.yaml @ pay.clawback: no component to claw back: clawbacks take back flat_rate, tiered_rate, "
        "override and lookup_rate earnings (bonuses and SPIFs are not tied to one transaction's amount)",
    ),
    (
        PLAN.replace("sum: amount,", "sum: quantity,"),
        "plan.yaml @ measures[bookings].sum: pay.clawback values each credit by this sum, which reads 'quantity'; "
        "a clawback can value a credit by amount, credit.level, credit.role, credit.share, credit.source "
        "(filter the measure for the rest)",
    ),
    (
        PLAN.replace(
            "  - {name: bookings, sum: amount, roles: [direct]}",
            "  - {name: bookings, sum: amount, roles: [direct]}\n  - {name: net, formula: bookings * 0.9}",
        ).replace("measure: bookings, rate", "measure: net, rate"),
        "plan.yaml @ components[commission].measure: pay.clawback shares an earning among the credits of its "
        "measure; 'net' is a formula: pay the component on a sum or count measure",
    ),
]


@pytest.mark.parametrize(("text", "message"), CROSS_CHECKS)
def test_clawback_cross_checks(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text + "pay:\n  clawback: {window_months: 6}\n", "plan.yaml")
    assert str(caught.value) == message


def test_a_valid_clawback_section_reads_its_defaults() -> None:
    rule = parse_plan(_clawback("{window_days: 90, anchor: invoice}")).pay
    assert rule is not None and rule.clawback is not None
    clawback = rule.clawback
    assert (clawback.method.value, clawback.anchor_field, clawback.term_attribute) == (
        "full",
        "invoice_date",
        "term_months",
    )


PAY_GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "pay.md").read_text(encoding="utf-8")


def test_the_pay_guide_shows_the_clawback_messages_asserted_here() -> None:
    section = PAY_GUIDE.split("## Clawbacks", 1)[1].split("\n## ", 1)[0]
    shown = [
        line
        for text in re.findall(r"^```text\n(.*?)^```$", section, flags=re.M | re.S)
        for line in text.splitlines()
        if " @ " in line
    ]
    tested = {message for _, message in MISTAKES} | {message for _, message in CROSS_CHECKS}
    assert len(shown) >= 3
    assert [line for line in shown if line not in tested] == []


def test_a_window_of_months_ends_on_the_same_day_or_the_months_last() -> None:
    assert months_after(date(2025, 1, 15), 6) == date(2025, 7, 15)
    assert months_after(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert months_after(date(2024, 12, 31), 2) == date(2025, 2, 28)
    assert months_after(date(2025, 3, 1), 0) == date(2025, 3, 1)
