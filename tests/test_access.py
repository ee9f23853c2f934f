"""Authorization (SQLite and PostgreSQL): which payees each role sees in a month, and that every facade
answers NotFound for a payee outside the principal's scope and Forbidden for a write the role may not make."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.dashboard import dashboard_for, team_for
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal, principal_of
from openspm.access.service import (
    add_adjustment_for,
    adjustments_for,
    approve_for,
    close_for,
    earnings_for,
    payees_for,
    payments_for,
    statement_for,
    statements_list_for,
)
from openspm.access.visibility import visible_external_ids
from openspm.auth.service import set_passwords
from openspm.core.errors import NotFound
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.store import models as m
from tests.conftest import WriteFile

PASSWORD = "correct-horse-battery"
PLAN = """
version: 1
plan: ae
name: AE plan
currency: USD
effective_from: 2025-01-01
crediting:
  direct: {sources: [owner], roles: [owner]}
measures:
  - {name: bookings, sum: amount, roles: [direct]}
quotas:
  - {measure: bookings}
components:
  - name: commission
    kind: tiered_rate
    measure: bookings
    period: quarter
    basis: attainment
    method: marginal
    tiers:
      - {from: 0, to: 1, rate: 0.05}
      - {from: 1, rate: 0.10}
    payout: {timing: true_up}
"""
USERS = {
    "admin@x.io": ("admin", ""),
    "analyst@x.io": ("comp_analyst", ""),
    "finance@x.io": ("finance", ""),
    "m1@x.io": ("manager", "M1"),
    "m2@x.io": ("manager", "M2"),
    "r1@x.io": ("rep", "R1"),
    "r2@x.io": ("rep", "R2"),
    "r3@x.io": ("rep", "R3"),
}


def build_company(engine: Engine, write: WriteFile) -> Engine:
    """Managers M1 and M2; R1 reports to M1, R3 to M2, and R2 to M1 in January and to M2 from February.
    One AE plan with a quarterly quota; January and February run. A user for every role, password PASSWORD."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,pay_currency,email\nM1,Mia,USD,m1@x.io\nM2,Max,USD,m2@x.io\nR1,Ann,USD,r1@x.io\n"
        "R2,Bob,USD,r2@x.io\nR3,Cy,USD,r3@x.io\n",
        "reporting_lines": "payee,manager,effective_from,effective_to\nR1,M1,2025-01-01,\nR2,M1,2025-01-01,2025-02-01\n"
        "R2,M2,2025-02-01,\nR3,M2,2025-01-01,\n",
        "accounts": "id,name\nA1,Acme\nA2,Globex\n",
        "products": "id,name,family\nSKU1,Seat,Platform\n",
        "transactions": (
            "id,date,account,product,amount,currency,owner\n"
            "T1,2025-01-10,A1,SKU1,8000.00,USD,R1\n"
            "T2,2025-01-20,A1,SKU1,4000.50,USD,R2\n"
            "T3,2025-01-21,A2,SKU1,3000,USD,R3\n"
            "T4,2025-02-03,A2,SKU1,12000,USD,R2\n"
            "T5,2025-02-04,A1,SKU1,2000,USD,R1\n"
        ),
        "quotas": "payee,measure,period,amount,currency\nR1,bookings,FY2025-Q1,20000,USD\nR2,bookings,FY2025-Q1,20000,USD\n"
        "R3,bookings,FY2025-Q1,20000,USD\n",
        "users": "email,name,roles,payee\n"
        + "".join(f"{e},{e.split('@')[0]},{r},{p}\n" for e, (r, p) in USERS.items()),
    }
    for kind, body in files.items():
        if kind == "users":
            add_plan(engine, write("ae.yaml", PLAN), actor="test")
            pa = "payee,plan,effective_from\nR1,ae,2025-01-01\nR2,ae,2025-01-01\nR3,ae,2025-01-01\n"
            assert import_file(engine, "plan_assignments", write("pa.csv", pa), actor="test").rejected == 0
        report = import_file(engine, kind, write(f"{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    set_passwords(engine, PASSWORD, actor="test")
    run_period(engine, "FY2025-M01", actor="test")
    run_period(engine, "FY2025-M02", actor="test")
    return engine


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def who(engine: Engine, email: str, scopes: frozenset[str] | None = None) -> Principal:
    with Session(engine) as session:
        user_id = session.scalars(select(m.User.id).where(m.User.email == email)).one()
    return principal_of(engine, user_id, scopes)


def test_each_role_sees_exactly_its_payees_as_of_the_month(company: Engine) -> None:
    expected = {
        ("admin@x.io", "FY2025-M01"): None,
        ("finance@x.io", "FY2025-M02"): None,
        ("analyst@x.io", "FY2025-M02"): None,
        ("m1@x.io", "FY2025-M01"): {"M1", "R1", "R2"},
        ("m1@x.io", "FY2025-M02"): {"M1", "R1"},  # R2 moved to M2 on 1 February
        ("m2@x.io", "FY2025-M01"): {"M2", "R3"},
        ("m2@x.io", "FY2025-M02"): {"M2", "R2", "R3"},
        ("m1@x.io", "FY2025-Q1"): {"M1", "R1", "R2"},  # a quarter: every line that overlaps it
        ("r1@x.io", "FY2025-M01"): {"R1"},
        ("r2@x.io", "FY2025-M02"): {"R2"},
    }
    with Session(company) as session:
        for (email, period), payees in expected.items():
            assert visible_external_ids(session, who(company, email), period) == payees, (email, period)
    page = payees_for(company, who(company, "m2@x.io"), "FY2025-M02")
    assert [p.id for p in page.items] == ["M2", "R2", "R3"] and page.total == 3
    assert payees_for(company, who(company, "finance@x.io"), limit=2, offset=1).total == 5


def test_a_payee_outside_the_scope_is_not_found_never_shown(company: Engine) -> None:
    rep = who(company, "r1@x.io")
    assert statement_for(company, rep, "FY2025-M01", "R1").payee.external_id == "R1"
    for read in (
        lambda: statement_for(company, rep, "FY2025-M01", "R2"),
        lambda: earnings_for(company, rep, "FY2025-M01", "R3"),
        lambda: payments_for(company, rep, "FY2025-M01", "R2"),
        lambda: dashboard_for(company, rep, "R2", "FY2025-M01"),
        lambda: statements_list_for(company, rep, "R2"),
        lambda: statement_for(company, who(company, "m1@x.io"), "FY2025-M02", "R2"),  # not M1's in February
    ):
        with pytest.raises(NotFound, match="unknown payee"):
            read()
    assert {e.payee for e in earnings_for(company, rep, "FY2025-M01")} == {"R1"}
    assert {p.payee for p in payments_for(company, rep, "FY2025-M02")} == {"R1"}
    manager = who(company, "m1@x.io")
    assert statement_for(company, manager, "FY2025-M01", "R2").payee.external_id == "R2"
    assert {e.payee for e in earnings_for(company, manager, "FY2025-M01")} == {"R1", "R2"}
    assert {e.payee for e in earnings_for(company, who(company, "finance@x.io"), "FY2025-M01")} == {"R1", "R2", "R3"}
    assert {(s.period, s.payee) for s in statements_list_for(company, rep)} == {
        ("FY2025-M01", "R1"),
        ("FY2025-M02", "R1"),
    }


def test_only_admin_and_comp_analyst_write_and_every_write_is_audited_as_the_user(company: Engine) -> None:
    for email in ("finance@x.io", "m1@x.io", "r1@x.io"):
        principal = who(company, email)
        with pytest.raises(Forbidden):
            add_adjustment_for(
                company,
                principal,
                payee="R1",
                plan="ae",
                period="FY2025-M02",
                amount=Decimal(10),
                reason_code="correction",
            )
        with pytest.raises(Forbidden):
            approve_for(company, principal, "FY2025-M01")
        with pytest.raises(Forbidden):
            close_for(company, principal, "FY2025-M01")
    read_only = who(company, "analyst@x.io", frozenset({"read"}))
    with pytest.raises(Forbidden, match="write scope"):
        approve_for(company, read_only, "FY2025-M01")
    analyst = who(company, "analyst@x.io")
    view = add_adjustment_for(
        company, analyst, payee="R1", plan="ae", period="FY2025-M02", amount=Decimal("-25.50"), reason_code="correction"
    )
    assert view.created_by == "analyst@x.io"
    assert [a.id for a in adjustments_for(company, who(company, "r1@x.io"))] == [view.id]
    assert adjustments_for(company, who(company, "r3@x.io")) == []
    assert approve_for(company, who(company, "admin@x.io"), "FY2025-M01").status == "approved"
    assert close_for(company, who(company, "admin@x.io"), "FY2025-M01").status == "closed"
    with Session(company) as session:
        actors = {
            (e.entity, e.actor)
            for e in session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity.in_(["adjustments", "periods"])))
        }
    assert ("adjustments", "analyst@x.io") in actors and ("periods", "admin@x.io") in actors


def test_dashboard_and_team_sum_the_live_earnings(company: Engine) -> None:
    rep = who(company, "r2@x.io")
    board = dashboard_for(company, rep, None, "FY2025-M02")
    with Session(company) as session:
        live = list(session.scalars(select(m.LiveEarning).where(m.LiveEarning.payee == "R2")))
    month = sum((e.amount for e in live if e.period == "FY2025-M02"), Decimal(0))
    year = sum((e.amount for e in live), Decimal(0))
    assert board.earned_month == {"USD": month} and board.earned_year == {"USD": year}
    assert board.earned_quarter == {"USD": year}
    [quota] = board.attainment
    assert quota.quota == Decimal(20000) and quota.attainment == Decimal("16000.50") / Decimal(20000)
    assert quota.measure_period == "FY2025-Q1" and quota.elapsed == 1 and quota.pacing == quota.attainment
    assert [d.transaction for d in board.deals] == ["T4"]
    period, rows = team_for(company, who(company, "m2@x.io"), "FY2025-M02")
    assert period == "FY2025-M02" and [r.payee for r in rows] == ["R2", "R3", "M2"][: len(rows)]
    assert {r.payee for r in rows} >= {"R2", "R3"}
