"""Pages (SQLite and PostgreSQL): sign-in with CSRF and throttling, sessions, the rep dashboard, statements,
and that a rep asking for another rep's statement gets 404 from the page and from both exports."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import PASSWORD, build_company

SECRET = "test-secret-key-of-enough-length-0123456789"


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def signed_in(engine: Engine, email: str) -> TestClient:
    client = TestClient(create_app(engine, secret=SECRET))
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def test_pages_need_a_session_and_sign_in_needs_the_csrf_token(company: Engine) -> None:
    client = TestClient(create_app(company, secret=SECRET))
    answer = client.get("/dashboard?period=FY2025-M02", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fdashboard%3Fperiod%3DFY2025-M02"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/static/openspm.css").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200
    no_token = client.post("/login", data={"email": "r1@x.io", "password": PASSWORD}, follow_redirects=False)
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    token = csrf_of(client)
    wrong = client.post("/login", data={"email": "r1@x.io", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    good = client.post(
        "/login",
        data={"email": "r1@x.io", "password": PASSWORD, "csrf_token": token, "next": "/dashboard?period=FY2025-M02"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/dashboard?period=FY2025-M02"
    offsite = client.post(
        "/login",
        data={"email": "r1@x.io", "password": PASSWORD, "csrf_token": csrf_of(client), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert offsite.headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    stale = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert stale.status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf_of(client, "/dashboard")}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/dashboard", follow_redirects=False).status_code == 303


def test_five_failed_sign_ins_answer_429_with_a_clear_message(company: Engine) -> None:
    client = TestClient(create_app(company, secret=SECRET))
    token = csrf_of(client)
    for _ in range(5):
        assert (
            client.post("/login", data={"email": "r1@x.io", "password": "bad-bad-bad", "csrf_token": token}).status_code
            == 401
        )
    locked = client.post("/login", data={"email": "r1@x.io", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and "too many failed sign-ins for r1@x.io: try again in 15 minutes" in locked.text
    assert int(locked.headers["retry-after"]) > 0


def test_each_role_lands_on_its_home_page(company: Engine) -> None:
    homes = {"r1@x.io": "/dashboard", "m1@x.io": "/team", "finance@x.io": "/admin/periods"}
    for email, home in homes.items():
        client = signed_in(company, email)
        assert client.get("/", follow_redirects=False).headers["location"] == home


def test_rep_dashboard_shows_the_months_quarters_and_years_earnings_and_attainment(company: Engine) -> None:
    client = signed_in(company, "r2@x.io")
    page = client.get("/dashboard?period=FY2025-M02")
    assert page.status_code == 200
    assert '<p class="big" data-figure="month">600.00 USD</p>' in page.text
    assert '<p class="big" data-figure="quarter">800.03 USD</p>' in page.text
    assert '<p class="big" data-figure="year">800.03 USD</p>' in page.text
    assert "80.00%" in page.text and "20,000.00" in page.text  # attainment 0.800025 of the 20,000 quota
    assert 'href="/transactions/T4"' in page.text
    assert 'href="/help/web#rep-dashboard"' in page.text
    assert client.get("/dashboard?period=FY2025-M02&payee=R1").status_code == 404
    assert client.get("/dashboard?period=FY2099-M01").status_code == 404


def test_statement_page_and_exports_for_the_own_payee_and_404_for_another(company: Engine) -> None:
    client = signed_in(company, "r1@x.io")
    listing = client.get("/statements")
    assert listing.status_code == 200 and "/statements/FY2025-M01/R1" in listing.text and "R2" not in listing.text
    page = client.get("/statements/FY2025-M01/R1")
    assert page.status_code == 200 and "/statements/FY2025-M01/R1/statement.pdf" in page.text
    assert 'href="/transactions/T1"' in page.text
    html = client.get("/statements/FY2025-M01/R1/statement.html")
    assert html.status_code == 200 and "R1" in html.text
    pdf = client.get("/statements/FY2025-M01/R1/statement.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for path in ("", "/statement.html", "/statement.pdf"):
        other = client.get(f"/statements/FY2025-M01/R2{path}")
        assert other.status_code == 404, path
        assert "unknown payee &#39;R2&#39;" in other.text and "Bob" not in other.text
    assert client.get("/statements?payee=R3").status_code == 404


def test_manager_team_table_is_the_team_as_of_the_month_and_sorts(company: Engine) -> None:
    client = signed_in(company, "m1@x.io")
    january = client.get("/team?period=FY2025-M01&sort=month&dir=desc")
    assert january.status_code == 200
    rows = re.findall(r'<a href="/dashboard\?payee=(\w+)&amp;period=FY2025-M01">', january.text)
    assert rows == ["R1", "R2"]  # 400.00 then 200.03; the manager, with no earnings of their own, is left out
    assert 'aria-sort="descending"' in january.text
    february = client.get("/team?period=FY2025-M02&sort=name")
    assert re.findall(r"/dashboard\?payee=(\w+)&amp;", february.text) == ["R1"]
    assert "R2" not in re.findall(r"/dashboard\?payee=(\w+)&amp;", february.text)  # moved to M2 on 1 February
    filtered = client.get("/team?period=FY2025-M01&q=bob")
    assert re.findall(r"/dashboard\?payee=(\w+)&amp;", filtered.text) == ["R2"]
    assert client.get("/dashboard?payee=R2&period=FY2025-M01").status_code == 200
    assert client.get("/dashboard?payee=R2&period=FY2025-M02").status_code == 404
    assert signed_in(company, "r1@x.io").get("/team?period=FY2025-M01").text.count("/dashboard?payee=") == 1


def test_admin_approves_and_closes_with_csrf_protected_forms_and_finance_only_reads(company: Engine) -> None:
    finance = signed_in(company, "finance@x.io")
    page = finance.get("/admin/periods")
    assert page.status_code == 200 and "FY2025-M01" in page.text and "/approve" not in page.text
    token = csrf_of(finance, "/admin/periods")
    assert finance.post("/admin/periods/FY2025-M01/approve", data={"csrf_token": token}).status_code == 403
    assert signed_in(company, "r1@x.io").get("/admin/periods").status_code == 403
    admin = signed_in(company, "admin@x.io")
    page = admin.get("/admin/periods")
    assert 'action="/admin/periods/FY2025-M01/approve"' in page.text
    assert admin.post("/admin/periods/FY2025-M01/approve", data={"csrf_token": "forged"}).status_code == 403
    token = csrf_of(admin, "/admin/periods")
    approved = admin.post("/admin/periods/FY2025-M01/approve", data={"csrf_token": token})
    assert approved.status_code == 200 and "FY2025-M01 approved" in approved.text
    assert 'action="/admin/periods/FY2025-M01/close"' in approved.text
    closed = admin.post("/admin/periods/FY2025-M01/close", data={"csrf_token": token})
    assert closed.status_code == 200 and "FY2025-M01 closed" in closed.text
    again = admin.post("/admin/periods/FY2025-M01/close", data={"csrf_token": token})
    assert again.status_code == 409 and "FY2025-M01 is already closed" in again.text


def test_adjustments_page_adds_lists_and_rejects_bad_input(company: Engine) -> None:
    admin = signed_in(company, "analyst@x.io")
    token = csrf_of(admin, "/admin/adjustments")
    form = {
        "csrf_token": token,
        "payee": "R1",
        "plan": "ae",
        "period": "FY2025-M02",
        "amount": "-1,250.50",
        "reason_code": "correction",
    }
    added = admin.post("/admin/adjustments", data=form)
    assert added.status_code == 200 and "adjustment 1 added (approved)" in added.text
    assert "−1,250.50 USD" in added.text
    bad = admin.post("/admin/adjustments", data={**form, "amount": "lots"})
    assert bad.status_code == 422 and "is not a number" in bad.text and 'value="R1"' in bad.text
    assert admin.post("/admin/adjustments", data={**form, "csrf_token": ""}).status_code == 403
    finance = signed_in(company, "finance@x.io")
    listing = finance.get("/admin/adjustments")
    assert "−1,250.50 USD" in listing.text and "Add an adjustment" not in listing.text
    assert (
        finance.post(
            "/admin/adjustments", data={**form, "csrf_token": csrf_of(finance, "/admin/adjustments")}
        ).status_code
        == 403
    )


def test_transaction_drill_down_and_help_pages(company: Engine) -> None:
    rep = signed_in(company, "r1@x.io")
    page = rep.get("/transactions/T1")
    assert page.status_code == 200 and "8,000.00 USD" in page.text and "Acme" in page.text
    assert rep.get("/transactions/T2").status_code == 404  # R2's deal
    assert rep.get("/transactions/NOPE").status_code == 404
    assert signed_in(company, "m1@x.io").get("/transactions/T2").status_code == 200
    guide = rep.get("/help/web")
    assert guide.status_code == 200
    for anchor in ("signing-in", "rep-dashboard", "statements", "manager-team", "admin-periods", "admin-adjustments"):
        assert f'id="{anchor}"' in guide.text, anchor
    assert rep.get("/help/nothing").status_code == 404
