"""Quota planning through the pages and the API (SQLite and PostgreSQL): who may see, make, approve and publish
a draft; a manager sees their team's lines only; the published quotas are the ones the next run uses."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from openspm.auth.service import set_passwords
from openspm.ingest.service import import_file
from tests.conftest import WriteFile
from tests.test_access import PASSWORD
from tests.test_api import assert_error, client_with_token
from tests.test_quota_planning import company as quota_company  # noqa: F401  (the fixture, reused)
from tests.test_web import signed_in

USERS = (
    "email,name,roles,payee\nadmin@x.io,Ada,admin,\nanalyst@x.io,Al,comp_analyst,\nfinance@x.io,Fin,finance,\n"
    "m@x.io,Mo,manager,M\na1@x.io,Ann,rep,A1\n"
)
DRAFT = {
    "year": "FY2026",
    "plan": "ae",
    "target": "2000000",
    "over_assignment": "1.2",
    "alpha": "0.5",
    "max_change": "0.5",
    "seasonality": ["20", "25", "25", "30"],
}


@pytest.fixture
def company(quota_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    more = {
        "payees": "id,name,pay_currency\nM,Mo,USD\n",
        "reporting_lines": "payee,manager,effective_from\nA1,M,2025-01-01\n",
        "users": USERS,
    }
    for kind, body in more.items():
        report = import_file(quota_company, kind, write(f"web-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    set_passwords(quota_company, PASSWORD, actor="test")
    return quota_company


def test_the_quota_draft_api_by_role(company: Engine) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    made = analyst.post("/api/v1/planning/quota-drafts", json=DRAFT)
    assert made.status_code == 201, made.text
    draft = made.json()
    assert draft["status"] == "draft" and draft["street"] == "2400000.0"
    assert {x["payee"]: x["annual"] for x in draft["lines"]} == {"A1": "1500000", "A2": "600000", "A3": "300000"}
    assert draft["lines"][0]["quarters"] == {
        "FY2026-Q1": "300000",
        "FY2026-Q2": "375000",
        "FY2026-Q3": "375000",
        "FY2026-Q4": "450000",
    }
    path = f"/api/v1/planning/quota-drafts/{draft['id']}"

    for email in ("finance@x.io", "m@x.io", "a1@x.io"):
        assert_error(
            client_with_token(company, email).post("/api/v1/planning/quota-drafts", json=DRAFT), 403, "forbidden"
        )
    assert_error(client_with_token(company, "a1@x.io").get(path), 403, "forbidden")
    assert client_with_token(company, "finance@x.io", "read").get("/api/v1/planning/quota-drafts").json()["total"] == 1
    manager = client_with_token(company, "m@x.io")
    assert [x["payee"] for x in manager.get(path).json()["lines"]] == ["A1"]  # their team only
    assert_error(analyst.post(f"{path}/approve"), 409, "conflict")  # not their own
    assert_error(analyst.post(f"{path}/publish"), 409, "conflict")  # not approved yet
    assert_error(client_with_token(company, "m@x.io", "read").post(f"{path}/approve"), 403, "forbidden")
    approved = manager.post(f"{path}/approve", json={"note": "fair for my team"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert_error(manager.post(f"{path}/publish"), 403, "forbidden")  # managers review, analysts publish
    assert_error(analyst.post(f"{path}/publish", json={"from_quarter": "FY2031-Q1"}), 422, "invalid_input")
    published = analyst.post(f"{path}/publish")
    assert published.json() == {"id": draft["id"], "quotas": 14}
    assert_error(analyst.post(f"{path}/publish"), 409, "conflict")
    quotas = client_with_token(company, "a1@x.io").get("/api/v1/quotas?period=FY2026-Q1").json()["items"]
    assert [(q["payee"], q["amount"]) for q in quotas] == [("A1", "300000")]

    bad = {**DRAFT, "seasonality": ["1"], "plan": "ae"}
    assert_error(analyst.post("/api/v1/planning/quota-drafts", json=bad), 422, "invalid_input")
    assert_error(analyst.post("/api/v1/planning/quota-drafts", json={**DRAFT, "plan": "nope"}), 404, "not_found")
    assert_error(analyst.get("/api/v1/planning/quota-drafts/999"), 404, "not_found")


def test_the_quota_planning_pages(company: Engine) -> None:
    analyst = signed_in(company, "analyst@x.io")
    page = analyst.get("/planning/quotas")
    assert page.status_code == 200 and "Make a draft" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {**DRAFT, "seasonality": "20,25,25,30", "csrf_token": token.group(1), "name": "FY2026 AEs"}
    bad = analyst.post("/planning/quotas", data={**form, "target": "lots"})
    assert bad.status_code == 422 and "target &#39;lots&#39; is not a number" in bad.text
    made = analyst.post("/planning/quotas", data=form, follow_redirects=False)
    assert made.status_code == 303
    detail = analyst.get(made.headers["location"])
    assert "FY2026 AEs" in detail.text and "expected at quota" in detail.text and "1,500,000" in detail.text
    assert "/approve" not in detail.text  # the author cannot approve

    manager = signed_in(company, "m@x.io")
    seen = manager.get(made.headers["location"])
    assert "A1" in seen.text and "A2" not in seen.text and "/approve" in seen.text
    approve = manager.post(made.headers["location"] + "/approve", data={"csrf_token": token_of(seen.text)})
    assert approve.status_code == 200 and "draft approved" in approve.text
    published = analyst.post(made.headers["location"] + "/publish", data={"csrf_token": token.group(1)})
    assert published.status_code == 200 and "published 14 quota rows" in published.text
    rep = signed_in(company, "a1@x.io")
    assert rep.get("/planning/quotas").status_code == 403
    assert 'href="/planning/quotas"' not in rep.get("/dashboard").text


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
