"""Quota planning over the store (SQLite and PostgreSQL): a draft from potential and last year's results with a
change cap and seasonality, its fairness check, review by someone else, and publishing into the quotas that the
next run uses; closed months are never touched."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.close.service import approve as approve_month
from openspm.close.service import close as close_month
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.planning.quotas import QuotaParams, decide, draft_quotas, publish, quota_draft
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import PLAN

D = Decimal
FILES = {
    "payees": "id,name,pay_currency,hire_date\nA1,Ann,USD,2020-01-01\nA2,Bob,USD,2020-01-01\nA3,Cy,USD,2026-04-01\n",
    "accounts": "id,name,potential\nX1,Acme,600000\nX2,Globex,200000\nX3,Initech,200000\n",
    "products": "id,name,family\nSKU1,Seat,Platform\n",
    "account_assignments": "account,payee,effective_from\nX1,A1,2025-01-01\nX2,A2,2025-01-01\nX3,A3,2026-01-01\n",
    "transactions": "id,date,account,product,amount,currency,owner\n"
    "T1,2025-01-10,X1,SKU1,300000,USD,A1\nT2,2025-01-20,X2,SKU1,100000,USD,A2\n",
    "quotas": "payee,measure,period,amount,currency\n"
    "A1,bookings,FY2025-Q1,250000,USD\nA1,bookings,FY2025,1000000,USD\n"
    "A2,bookings,FY2025-Q1,100000,USD\nA2,bookings,FY2025,400000,USD\n",
}
PARAMS = QuotaParams(
    year="FY2026",
    plan="ae",
    measure="bookings",
    target=D(2000000),
    over_assignment=D("1.2"),
    alpha=D("0.5"),
    max_change=D("0.5"),
    seasonality=(D(20), D(25), D(25), D(30)),
)


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025, 2026], actor="test")
    for kind, body in FILES.items():
        report = import_file(engine, kind, write(f"{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    assignments = "payee,plan,effective_from\nA1,ae,2025-01-01\nA2,ae,2025-01-01\nA3,ae,2026-04-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", assignments), actor="test").rejected == 0
    run_period(engine, "FY2025-M01", actor="test")
    return engine


def test_a_draft_weighs_potential_and_history_caps_the_change_and_splits_by_season(company: Engine) -> None:
    draft = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    assert draft.status == "draft" and draft.street == D("2400000.0") and draft.unallocated == 0
    lines = {x.payee: x for x in draft.lines}
    # potential 0.6/0.2/0.2 and history 0.75/0.25/0 blended half and half: 0.675, 0.225, 0.1; A3 is there 9 months
    assert [lines[p].weight for p in ("A1", "A2", "A3")] == [D("0.675"), D("0.225"), D("0.0750")]
    assert (lines["A1"].annual, lines["A1"].capped) == (D(1500000), "ceiling")  # 1,661,538 > 1.5 × 1,000,000
    assert (lines["A2"].annual, lines["A2"].capped) == (D(600000), "ceiling")
    assert (lines["A3"].annual, lines["A3"].capped) == (D(300000), None)
    assert lines["A1"].quarters == {
        "FY2026-Q1": D(300000),
        "FY2026-Q2": D(375000),
        "FY2026-Q3": D(375000),
        "FY2026-Q4": D(450000),
    }
    assert lines["A3"].quarters == {"FY2026-Q2": D(93750), "FY2026-Q3": D(93750), "FY2026-Q4": D(112500)}
    # history grown to the plan (×5) over the new quota
    assert lines["A1"].projected_attainment == D(1) and lines["A3"].projected_attainment is None
    fairness = draft.fairness
    assert fairness is not None and fairness.payees == 2 and 0 <= fairness.share_at_quota <= 1
    shares = list(fairness.by_over_assignment.values())
    assert shares == sorted(shares, reverse=True)  # more over-assignment, fewer at quota
    assert quota_draft(company, draft.id) == draft  # stored exactly


def test_publish_needs_someone_elses_approval_and_the_next_run_uses_the_quotas(
    company: Engine, write: WriteFile
) -> None:
    draft = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    with pytest.raises(Conflict, match="only an approved scenario"):
        publish(company, draft.id, "admin@x.io")
    with pytest.raises(Conflict, match="someone else must decide it"):
        decide(company, draft.id, "analyst@x.io", True)
    assert decide(company, draft.id, "manager@x.io", True, "fair").status == "approved"
    assert publish(company, draft.id, "admin@x.io") == 14  # A1, A2: 4 quarters + year; A3: 3 quarters + year
    with pytest.raises(Conflict):
        publish(company, draft.id, "admin@x.io")  # published once
    with Session(company) as session:
        rows = session.execute(
            select(m.Payee.external_id, m.Period.name, m.Quota.amount)
            .join(m.Payee, m.Payee.id == m.Quota.payee_id)
            .join(m.Period, m.Period.id == m.Quota.period_id)
            .where(m.Period.fiscal_year == 2026)
        ).all()
        quotas = {(p, period): amount for p, period, amount in rows}
        assert quotas[("A1", "FY2026")] == D(1500000) and quotas[("A3", "FY2026-Q2")] == D(93750)
        assert ("A3", "FY2026-Q1") not in quotas
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "quotas")).all()
        assert len([e for e in entries if e.actor == "admin@x.io"]) == 14

    sale = "id,date,account,product,amount,currency,owner\nT9,2026-01-15,X1,SKU1,150000,USD,A1\n"
    assert import_file(company, "transactions", write("t9.csv", sale), actor="test").rejected == 0
    run_period(company, "FY2026-M01", actor="test")
    with Session(company) as session:
        earning = session.scalars(
            select(m.RunEarning).where(m.RunEarning.payee == "A1", m.RunEarning.period == "FY2026-M01")
        ).one()
        assert (earning.quota, earning.attainment, earning.amount) == (D(300000), D("0.5"), D("7500.00"))


def test_closed_months_are_never_republished_and_bad_drafts_say_why(company: Engine) -> None:
    first = draft_quotas(company, PARAMS, name="first", actor="analyst@x.io")
    decide(company, first.id, "manager@x.io", True)
    publish(company, first.id, "admin@x.io")
    run_period(company, "FY2026-M01", actor="test")
    for month in ("FY2025-M01", "FY2026-M01"):  # months close in order
        approve_month(company, month, "admin@x.io")
        close_month(company, month, "admin@x.io")
    second = draft_quotas(company, replace(PARAMS, target=D(2200000)), name="second", actor="analyst@x.io")
    decide(company, second.id, "manager@x.io", True)
    with pytest.raises(Conflict, match=r"closed months never change \(FY2026-M01\)"):
        publish(company, second.id, "admin@x.io")
    with pytest.raises(InvalidInput, match="not a quarter of FY2026"):
        publish(company, second.id, "admin@x.io", "FY2025-Q2")
    assert publish(company, second.id, "admin@x.io", "FY2026-Q2") == 3 * 4  # Q2-Q4 and the year, each payee
    with Session(company) as session:
        q1 = session.scalars(
            select(m.Quota.amount)
            .join(m.Payee, m.Payee.id == m.Quota.payee_id)
            .join(m.Period, m.Period.id == m.Quota.period_id)
            .where(m.Payee.external_id == "A1", m.Period.name == "FY2026-Q1")
        ).one()
        assert q1 == D(300000)  # the closed quarter kept the first scenario's quota

    with pytest.raises(NotFound, match="unknown plan"):
        draft_quotas(company, replace(PARAMS, plan="nope"), name="x", actor="a")
    with pytest.raises(InvalidInput, match="4 quarter weights"):
        draft_quotas(company, replace(PARAMS, seasonality=(D(1),)), name="x", actor="a")
    with pytest.raises(NotFound, match="unknown year"):
        draft_quotas(company, replace(PARAMS, year="FY2031"), name="x", actor="a")
