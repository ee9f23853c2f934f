"""Plan documents and acceptance (SQLite and PostgreSQL): the document explains the plan version with the payee's
own quota and examples, its PDF is byte-identical when made again, acceptance records the user and the time per
version, only the payee accepts, and nobody sees another's plan document (404) — in the service, the pages and
the API."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.plandocs import accept_for, acceptance_status_for, payee_plans_for, plan_document_for
from openspm.core.errors import NotFound
from openspm.plandocs.render import render_html, render_pdf
from openspm.plans.service import add_plan
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import PLAN, build_company, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import csrf_of, signed_in

# Version 2 from 1 July 2025: a flat 6% commission, a bonus, a cap, a draw, and pay held until acceptance.
PLAN_V2 = (
    PLAN.replace("effective_from: 2025-01-01", "effective_from: 2025-07-01")
    + """
  - name: kicker
    kind: bonus
    period: quarter
    when: "attainment(bookings) >= 1"
    amount: 500
    cap: {amount: 400}
pay:
  holds:
    - {component: "*", until: plan_accepted}
  draw: {kind: recoverable, amount: 1000, periods: 3, recovery_cap: 0.5}
"""
)


def table_of(page: str, version: int) -> str:
    """The acceptance table of plan ae's `version` in a Plan acceptance page."""
    return page.split(f'<table class="acceptance" data-plan="ae" data-version="{version}">')[1].split("</table>")[0]


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    build_company(engine, write)
    add_plan(engine, write("ae-v2.yaml", PLAN_V2), actor="test")
    return engine


def test_the_document_explains_the_version_with_the_payees_quota_and_worked_examples(company: Engine) -> None:
    rep = who(company, "r1@x.io")
    payee, name, refs = payee_plans_for(company, rep)
    assert (payee, name) == ("R1", "Ann")
    assert [(r.plan, r.version, str(r.applies_from), r.current, r.holds_until_accepted) for r in refs] == [
        ("ae", 1, "2025-01-01", False, False),
        ("ae", 2, "2025-07-01", True, True),  # governs today
    ]
    doc = plan_document_for(company, rep, None, "ae", 1)
    assert (doc.version, doc.applies_from, doc.applies_to) == (1, refs[0].applies_from, refs[1].applies_from)
    [commission] = doc.components
    assert commission.quota == Decimal(20000) and commission.quota_period == "FY2025-Q1"
    assert [(t.lower, t.upper, t.rate, t.upper_amount) for t in commission.tiers] == [
        (Decimal(0), Decimal(1), Decimal("0.05"), Decimal(20000)),
        (Decimal(1), None, Decimal("0.10"), None),
    ]
    # the engine's marginal tiers on the 20,000 quota: 50% → 10,000 × 5%; 150% → 20,000 × 5% + 10,000 × 10%
    assert [(e.attainment, e.amount) for e in commission.examples] == [
        (Decimal("0.5"), Decimal("500.00")),
        (Decimal(1), Decimal("1000.00")),
        (Decimal("1.5"), Decimal("2000.00")),
    ]
    assert any("true-up" in line for line in commission.details)
    html = render_html(doc)
    assert "At 100% of quota (20,000.00 USD) you earn <b>1,000.00 USD</b>" in html
    assert 'data-accepted="no"' in html and "AE plan" in html
    current = plan_document_for(company, rep, "R1", "ae")
    assert current.version == 2 and current.holds_until_accepted
    text = render_html(current)
    assert "Payment is held until you accept this plan version" in text
    assert "Cap: at most 400.00 USD per quarter" in text
    assert "attainment of bookings at least 100%" in text
    assert "Recoverable draw: you are paid at least 1,000.00 USD a month for your first 3 months" in text
    assert "held until you accept this plan version" in text
    first = render_pdf(current)
    assert first.startswith(b"%PDF") and render_pdf(plan_document_for(company, rep, "R1", "ae")) == first
    with pytest.raises(NotFound, match="has no version 3"):
        plan_document_for(company, rep, "R1", "ae", 3)
    with pytest.raises(NotFound, match="unknown plan"):
        plan_document_for(company, rep, "R1", "nope")
    with pytest.raises(NotFound, match="not linked to a payee"):
        plan_document_for(company, who(company, "admin@x.io"), None, "ae")


def test_acceptance_records_the_user_and_time_per_version_and_only_the_payee_accepts(company: Engine) -> None:
    rep = who(company, "r1@x.io")
    for other in ("admin@x.io", "analyst@x.io", "finance@x.io", "m1@x.io"):
        with pytest.raises(Forbidden, match="only R1 may accept"):
            accept_for(company, who(company, other), "R1", "ae")
    with pytest.raises(NotFound, match="unknown payee 'R2'"):
        accept_for(company, rep, "R2", "ae")
    with pytest.raises(Forbidden, match="write scope"):
        accept_for(company, who(company, "r1@x.io", frozenset({"read"})), "R1", "ae")
    doc = accept_for(company, rep, "R1", "ae", 1)
    assert doc.acceptance is not None and doc.acceptance.accepted_by == "r1@x.io" and doc.acceptance.version == 1
    stamp = doc.acceptance.accepted_at
    assert stamp.tzinfo is not None
    again = accept_for(company, rep, "R1", "ae", 1)
    assert again.acceptance is not None and again.acceptance.accepted_at == stamp  # idempotent
    assert plan_document_for(company, rep, "R1", "ae").acceptance is None  # version 2 needs its own
    pdf = render_pdf(again)
    assert pdf == render_pdf(plan_document_for(company, rep, "R1", "ae", 1))
    with Session(company) as session:
        rows = session.scalars(select(m.PlanAcceptance)).all()
        assert [(r.plan, r.version, r.accepted_by) for r in rows] == [("ae", 1, "r1@x.io")]
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "plan_acceptances")).all()
        assert [(e.actor, e.entity_key) for e in entries] == [("r1@x.io", "ae/R1/1")]
    status = acceptance_status_for(company, who(company, "admin@x.io"), "ae", 1)
    assert [(r.payee, r.accepted) for r in status] == [("R2", False), ("R3", False), ("R1", True)]
    assert [r.payee for r in acceptance_status_for(company, who(company, "admin@x.io"), accepted=False)] == [
        "R1", "R2", "R3", "R2", "R3",
    ]  # fmt: skip
    assert {(r.payee, r.version) for r in acceptance_status_for(company, who(company, "m1@x.io"))} == {
        ("R1", 1),
        ("R1", 2),
    }  # R2 moved to M2
    assert {r.payee for r in acceptance_status_for(company, who(company, "r3@x.io"))} == {"R3"}


def test_pages_my_plan_accepts_with_csrf_and_the_acceptance_page_shows_who_has_not(company: Engine) -> None:
    rep = signed_in(company, "r1@x.io")
    page = rep.get("/plan")
    assert page.status_code == 200 and "I accept this plan" in page.text
    assert "/plan/R1/ae/2/document.pdf" in page.text and 'href="/help/web#my-plan"' in page.text
    assert 'href="/plan"' in page.text and 'href="/finance"' not in page.text
    doc = rep.get("/plan/R1/ae/2/document.html")
    assert doc.status_code == 200 and "Not yet accepted" in doc.text
    pdf = rep.get("/plan/R1/ae/2/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for path in ("/plan?payee=R2", "/plan/R2/ae/2/document.html", "/plan/R2/ae/2/document.pdf"):
        other = rep.get(path)
        assert other.status_code == 404 and "unknown payee &#39;R2&#39;" in other.text, path
    form = {"payee": "R1", "plan": "ae", "version": "2"}
    assert rep.post("/plan/accept", data={**form, "csrf_token": "forged"}).status_code == 403
    token = csrf_of(rep, "/plan")
    assert rep.post("/plan/accept", data={**form, "payee": "R2", "csrf_token": token}).status_code == 404
    done = rep.post("/plan/accept", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/plan?plan=ae&version=2")
    after = rep.get(done.headers["location"])
    assert "you accepted AE plan version 2" in after.text and 'data-accepted="yes"' in after.text
    assert "I accept this plan" not in after.text
    assert rep.get("/plan-acceptance").status_code == 403
    admin = signed_in(company, "admin@x.io")
    listing = admin.get("/plan-acceptance?plan=ae")
    assert listing.status_code == 200 and "1 of 3 accepted" in listing.text
    block = table_of(listing.text, 2)
    assert re.search(r'data-payee="R1">.*?accepted</span>.*?r1@x\.io', block, re.S)
    assert re.search(r'data-version="2"><td>.*?</td><td class="num">2</td>\s*<td>.*?</td><td class="num">1</td>'
                     r'<td class="num">2</td>', listing.text, re.S)  # fmt: skip
    pending = admin.get("/plan-acceptance?plan=ae&status=pending").text
    assert 'data-payee="R2"' in table_of(pending, 2) and 'data-payee="R1"' not in table_of(pending, 2)
    assert 'data-payee="R1"' in table_of(pending, 1)  # version 1 is still to accept
    manager = signed_in(company, "m2@x.io").get("/plan-acceptance")
    assert set(re.findall(r'data-payee="(\w+)"', manager.text)) == {"R2", "R3"}
    assert signed_in(company, "finance@x.io").get("/plan-acceptance").status_code == 200
    staff = admin.get("/plan?payee=R1&plan=ae&version=2")
    assert staff.status_code == 200 and "I accept this plan" not in staff.text and "r1@x.io" in staff.text
    token = csrf_of(admin, "/plan?payee=R2")
    assert admin.post("/plan/accept", data={**form, "payee": "R2", "csrf_token": token}).status_code == 403


def test_api_documents_acceptance_and_status_with_the_role_matrix(company: Engine) -> None:
    rep = client_with_token(company, "r1@x.io")
    plans = rep.get("/api/v1/payees/R1/plans")
    assert plans.status_code == 200
    assert [(p["version"], p["current"], p["acceptance"]) for p in plans.json()["plans"]] == [
        (1, False, None),
        (2, True, None),
    ]
    body = rep.get("/api/v1/plans/ae/documents/R1?version=1").json()
    assert body["version"] == 1 and body["accepted"] is False
    assert body["components"][0]["examples"][1] == {"attainment": "1", "base": "20000", "amount": "1000.00"}
    html = rep.get("/api/v1/plans/ae/documents/R1.html")
    assert html.status_code == 200 and "Plan <code>ae</code> version 2" in html.text
    pdf = rep.get("/api/v1/plans/ae/documents/R1.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="plan-ae-v2-R1.pdf"' in pdf.headers["content-disposition"]
    for path in ("/api/v1/payees/R2/plans", "/api/v1/plans/ae/documents/R2", "/api/v1/plans/ae/documents/R2.pdf"):
        assert_error(rep.get(path), 404, "not_found")
    assert_error(rep.post("/api/v1/plans/ae/documents/R2/accept", json={}), 404, "not_found")
    assert_error(rep.post("/api/v1/plans/ae/documents/R1/accept", json={"version": 9}), 404, "not_found")
    assert_error(rep.post("/api/v1/plans/ae/documents/R1/accept", json={"version": "x"}), 422, "invalid_input")
    assert_error(client_with_token(company, "r1@x.io", "read").post("/api/v1/plans/ae/documents/R1/accept"), 403,
                 "forbidden")  # fmt: skip
    assert_error(client_with_token(company, "admin@x.io").post("/api/v1/plans/ae/documents/R1/accept"), 403,
                 "forbidden")  # fmt: skip
    anonymous = TestClient(rep.app)
    for method, path in (
        ("GET", "/api/v1/payees/R1/plans"),
        ("GET", "/api/v1/plans/ae/documents/R1"),
        ("GET", "/api/v1/plans/ae/documents/R1.html"),
        ("GET", "/api/v1/plans/ae/documents/R1.pdf"),
        ("POST", "/api/v1/plans/ae/documents/R1/accept"),
        ("GET", "/api/v1/plan-acceptances"),
    ):
        assert_error(anonymous.request(method, path), 401, "unauthorized")
    session = signed_in(company, "r1@x.io")
    assert_error(session.post("/api/v1/plans/ae/documents/R1/accept"), 403, "forbidden")  # no CSRF header
    accepted = rep.post("/api/v1/plans/ae/documents/R1/accept", json={"version": 2})
    assert accepted.status_code == 200 and accepted.json()["accepted"] is True
    assert accepted.json()["acceptance"]["accepted_by"] == "r1@x.io"
    assert rep.post("/api/v1/plans/ae/documents/R1/accept").json()["acceptance"] == accepted.json()["acceptance"]
    finance = client_with_token(company, "finance@x.io", "read")
    status = finance.get("/api/v1/plan-acceptances?plan=ae&version=2").json()
    assert status["total"] == 3 and [(i["payee"], i["accepted"]) for i in status["items"]] == [
        ("R2", False),
        ("R3", False),
        ("R1", True),
    ]
    pending = finance.get("/api/v1/plan-acceptances?status=pending&limit=2").json()
    assert pending["total"] == 5 and len(pending["items"]) == 2
    assert_error(finance.get("/api/v1/plan-acceptances?status=maybe"), 422, "invalid_input")
    assert_error(finance.get("/api/v1/plan-acceptances?plan=nope"), 404, "not_found")
    mine = rep.get("/api/v1/plan-acceptances").json()
    assert {i["payee"] for i in mine["items"]} == {"R1"}
    assert finance.get("/api/v1/plans/ae/documents/R3").status_code == 200
    team = client_with_token(company, "m1@x.io", "read")
    assert team.get("/api/v1/plans/ae/documents/R1").status_code == 200
    assert_error(team.get("/api/v1/plans/ae/documents/R3"), 404, "not_found")
