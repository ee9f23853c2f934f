"""The JSON API (SQLite and PostgreSQL): every endpoint, the role-by-endpoint authorization matrix, errors as
`{"error", "detail"}` with 401/403/404/409/422, pagination, bearer tokens and the session cookie with CSRF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.auth.service import create_token, revoke_token
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_web import SECRET, csrf_of, signed_in

ROLES = {
    "admin": "admin@x.io",
    "analyst": "analyst@x.io",
    "finance": "finance@x.io",
    "manager": "m1@x.io",
    "rep": "r1@x.io",
    "other_rep": "r3@x.io",
}
ADJUSTMENT = {"payee": "R1", "plan": "ae", "period": "FY2025-M02", "amount": "-12.34", "reason_code": "correction"}


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def client_with_token(engine: Engine, email: str, scope: str = "write") -> TestClient:
    _, token = create_token(engine, email, [scope], actor="test")
    return TestClient(create_app(engine, secret=SECRET), headers={"Authorization": f"Bearer {token}"})


def assert_error(answer: object, status: int, code: str) -> None:
    response = answer  # a httpx Response
    assert response.status_code == status, (response.status_code, response.text)  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "detail"} and body["error"] == code, body


def test_every_endpoint_answers_401_without_valid_credentials(company: Engine) -> None:
    anonymous = TestClient(create_app(company, secret=SECRET))
    view, token = create_token(company, "admin@x.io", ["write"], actor="test")
    revoke_token(company, view.id, actor="test")
    revoked = {"Authorization": f"Bearer {token}"}
    endpoints = [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/payees"),
        ("GET", "/api/v1/periods"),
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v1/earnings?period=FY2025-M01"),
        ("GET", "/api/v1/payments?period=FY2025-M01"),
        ("GET", "/api/v1/statements/FY2025-M01/R1"),
        ("GET", "/api/v1/statements/FY2025-M01/R1.html"),
        ("GET", "/api/v1/statements/FY2025-M01/R1.pdf"),
        ("GET", "/api/v1/adjustments"),
        ("POST", "/api/v1/adjustments"),
        ("POST", "/api/v1/adjustments/1/approve"),
        ("POST", "/api/v1/adjustments/1/reject"),
        ("POST", "/api/v1/periods/FY2025-M01/approve"),
        ("POST", "/api/v1/periods/FY2025-M01/close"),
    ]
    for method, path in endpoints:
        body = ADJUSTMENT if path.endswith("/adjustments") else None
        for headers in ({}, revoked, {"Authorization": "Basic YWRtaW46eA=="}, {"Authorization": "Bearer nonsense"}):
            answer = anonymous.request(method, path, headers=headers, json=body)
            assert_error(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"] == "Bearer"


def test_role_by_endpoint_matrix(company: Engine) -> None:
    """Status per role × endpoint; a rep asking for another payee's data gets 404, never the data."""
    ok, hidden, denied = 200, 404, 403
    everyone = dict.fromkeys(ROLES, ok)
    matrix: dict[tuple[str, str], dict[str, int]] = {
        ("GET", "/api/v1/me"): everyone,
        ("GET", "/api/v1/payees"): everyone,
        ("GET", "/api/v1/periods"): everyone,
        ("GET", "/api/v1/runs"): everyone,
        ("GET", "/api/v1/earnings?period=FY2025-M01"): everyone,
        ("GET", "/api/v1/payments?period=FY2025-M01"): everyone,
        ("GET", "/api/v1/adjustments"): everyone,
        ("GET", "/api/v1/statements/FY2025-M01/R1"): {**everyone, "other_rep": hidden},
        ("GET", "/api/v1/statements/FY2025-M01/R2"): {**everyone, "rep": hidden, "other_rep": hidden},
        ("GET", "/api/v1/statements/FY2025-M02/R2"): {
            **everyone,
            "manager": hidden,
            "rep": hidden,
            "other_rep": hidden,
        },
        ("GET", "/api/v1/statements/FY2025-M01/R2.html"): {**everyone, "rep": hidden, "other_rep": hidden},
        ("GET", "/api/v1/earnings?period=FY2025-M01&payee=R3"): {**everyone, "manager": hidden, "rep": hidden},
        ("GET", "/api/v1/payments?period=FY2025-M01&payee=R1"): {**everyone, "other_rep": hidden},
        ("POST", "/api/v1/adjustments"): {
            **dict.fromkeys(ROLES, denied),
            "admin": 201,
            "analyst": 201,
        },
        ("POST", "/api/v1/periods/FY2025-M01/approve"): {**dict.fromkeys(ROLES, denied), "admin": ok, "analyst": ok},
    }
    clients = {role: client_with_token(company, email) for role, email in ROLES.items()}
    for (method, path), expected in matrix.items():
        for role, status in expected.items():
            body = ADJUSTMENT if path.endswith("/adjustments") and method == "POST" else None
            answer = clients[role].request(method, path, json=body)
            assert answer.status_code == status, (role, method, path, answer.text)
            if status == hidden:
                assert answer.json() == {
                    "error": "not_found",
                    "detail": f"unknown payee {path.split('=')[-1].split('/')[-1].removesuffix('.html')!r}",
                }
            if status == denied:
                assert answer.json()["error"] == "forbidden"
    # the same through pages and exports with a session: 404, and nothing of the other payee
    rep = signed_in(company, "r3@x.io")
    for path in (
        "/statements/FY2025-M01/R1",
        "/statements/FY2025-M01/R1/statement.html",
        "/statements/FY2025-M01/R1/statement.pdf",
    ):
        answer = rep.get(path)
        assert answer.status_code == hidden and "Ann" not in answer.text, path
    assert clients["rep"].get("/api/v1/statements/FY2025-M01/R3.pdf").status_code == hidden
    assert clients["other_rep"].get("/api/v1/payees").json()["items"][0]["id"] == "R3"


def test_lists_are_paginated_and_filtered_to_what_the_principal_sees(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io", "read")
    me = admin.get("/api/v1/me").json()
    assert me == {
        "email": "admin@x.io",
        "name": "admin",
        "roles": ["admin"],
        "payee": None,
        "scopes": ["read"],
        "via_token": True,
        "may_write": False,
    }
    page = admin.get("/api/v1/payees?limit=2&offset=1").json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [p["id"] for p in page["items"]] == ["M2", "R1"]
    periods = admin.get("/api/v1/periods?limit=3").json()
    assert periods["total"] == 12 and [p["name"] for p in periods["items"]] == [
        "FY2025-M01",
        "FY2025-M02",
        "FY2025-M03",
    ]
    assert periods["items"][0]["status"] == "calculated" and periods["items"][2]["status"] == "open"
    runs = admin.get("/api/v1/runs").json()
    assert [r["period"] for r in runs["items"]] == ["FY2025-M02", "FY2025-M01"] and runs["items"][0][
        "status"
    ] == "completed"
    manager = client_with_token(company, "m1@x.io", "read")
    assert [p["id"] for p in manager.get("/api/v1/payees?period=FY2025-M01").json()["items"]] == ["M1", "R1", "R2"]
    assert [p["id"] for p in manager.get("/api/v1/payees?period=FY2025-M02").json()["items"]] == ["M1", "R1"]
    january = manager.get("/api/v1/earnings?period=FY2025-M01").json()
    assert {e["payee"] for e in january["items"]} == {"R1", "R2"} and january["total"] == 2
    for bad in ("/api/v1/payees?limit=0", "/api/v1/payees?limit=5000", "/api/v1/payees?offset=-1", "/api/v1/earnings"):
        answer = admin.get(bad)
        assert_error(answer, 422, "invalid_input")
        assert isinstance(answer.json()["detail"], list) and {"field", "message"} <= set(answer.json()["detail"][0])
    assert_error(admin.get("/api/v1/earnings?period=FY2099-M01"), 404, "not_found")
    assert_error(admin.get("/api/v1/nothing-here"), 404, "not_found")


def test_earnings_payments_and_statements_are_the_stored_figures_exactly(company: Engine) -> None:
    rep = client_with_token(company, "r2@x.io", "read")
    earnings = rep.get("/api/v1/earnings?period=FY2025-M02").json()["items"]
    with Session(company) as session:
        stored = session.scalars(
            select(m.RunEarning).where(m.RunEarning.payee == "R2", m.RunEarning.period == "FY2025-M02")
        ).one()
        payment = session.scalars(
            select(m.Payment).where(m.Payment.payee == "R2", m.Payment.period == "FY2025-M02")
        ).one()
    [earning] = earnings
    assert Decimal(earning["amount"]) == stored.amount and earning["amount"] == "600.00"
    assert Decimal(earning["attainment"]) == stored.attainment and earning["measure_period"] == "FY2025-Q1"
    [paid] = rep.get("/api/v1/payments?period=FY2025-M02&payee=R2").json()["items"]
    assert Decimal(paid["pay_amount"]) == payment.pay_amount and paid["lines"] == payment.lines
    statement = rep.get("/api/v1/statements/FY2025-M02/R2").json()
    assert statement["payee"]["external_id"] == "R2" and statement["earned"] == {"USD": "600.00"}
    assert [c["transaction"] for c in statement["credits"]] == ["T4"]
    html = rep.get("/api/v1/statements/FY2025-M02/R2.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html") and "Bob" in html.text
    pdf = rep.get("/api/v1/statements/FY2025-M02/R2.pdf")
    assert (
        pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    )
    assert_error(rep.get("/api/v1/statements/FY2025-M02/NOPE"), 404, "not_found")
    assert_error(rep.get("/api/v1/statements/FY2025-Q1/R2"), 422, "invalid_input")  # a quarter has no statement


def test_adjustments_through_the_api_are_checked_audited_and_decided_by_someone_else(company: Engine) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    admin = client_with_token(company, "admin@x.io")
    created = analyst.post("/api/v1/adjustments", json={**ADJUSTMENT, "needs_approval": True, "note": "typo"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending" and body["amount"] == "-12.34" and body["created_by"] == "analyst@x.io"
    assert_error(analyst.post(f"/api/v1/adjustments/{body['id']}/approve"), 409, "conflict")  # not their own
    decided = admin.post(f"/api/v1/adjustments/{body['id']}/approve", json={"note": "checked"})
    assert (
        decided.status_code == 200
        and decided.json()["status"] == "approved"
        and decided.json()["decided_by"] == "admin@x.io"
    )
    assert_error(admin.post(f"/api/v1/adjustments/{body['id']}/reject"), 409, "conflict")
    assert_error(admin.post("/api/v1/adjustments/999/reject"), 404, "not_found")
    listed = client_with_token(company, "r1@x.io", "read").get("/api/v1/adjustments").json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
    assert client_with_token(company, "r3@x.io", "read").get("/api/v1/adjustments").json()["total"] == 0
    for bad in (
        {**ADJUSTMENT, "amount": "lots"},
        {**ADJUSTMENT, "amount": "NaN"},
        {**ADJUSTMENT, "reason_code": "whim"},
        {**ADJUSTMENT, "amount": "0"},
        {k: v for k, v in ADJUSTMENT.items() if k != "plan"},
        {**ADJUSTMENT, "surprise": 1},
    ):
        assert_error(analyst.post("/api/v1/adjustments", json=bad), 422, "invalid_input")
    assert_error(analyst.post("/api/v1/adjustments", json={**ADJUSTMENT, "payee": "NOPE"}), 404, "not_found")
    assert_error(
        client_with_token(company, "analyst@x.io", "read").post("/api/v1/adjustments", json=ADJUSTMENT),
        403,
        "forbidden",
    )
    with Session(company) as session:
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "adjustments")).all()
    assert {(e.action, e.actor) for e in entries} == {("insert", "analyst@x.io"), ("approve", "admin@x.io")}


def test_approve_and_close_a_period_then_a_closed_month_answers_409(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io")
    assert_error(admin.post("/api/v1/periods/FY2025-M01/close"), 409, "conflict")  # not approved yet
    approved = admin.post("/api/v1/periods/FY2025-M01/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    closed = admin.post("/api/v1/periods/FY2025-M01/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["documents"] > 0
    assert_error(admin.post("/api/v1/periods/FY2025-M01/close"), 409, "conflict")
    assert_error(admin.post("/api/v1/periods/FY2025-M01/approve"), 409, "conflict")
    assert_error(admin.post("/api/v1/adjustments", json={**ADJUSTMENT, "period": "FY2025-M01"}), 409, "conflict")
    assert_error(admin.post("/api/v1/periods/FY2099-M01/approve"), 404, "not_found")
    assert_error(admin.post("/api/v1/periods/FY2025/approve"), 422, "invalid_input")  # a year is not a month
    periods = admin.get("/api/v1/periods?limit=1").json()["items"][0]
    assert periods["status"] == "closed" and periods["closed_by"] == "admin@x.io"


def test_the_session_cookie_works_for_the_api_and_a_post_needs_the_csrf_header(company: Engine) -> None:
    client = signed_in(company, "analyst@x.io")
    assert client.get("/api/v1/me").json()["via_token"] is False
    assert_error(client.post("/api/v1/adjustments", json=ADJUSTMENT), 403, "forbidden")
    token = csrf_of(client, "/statements")
    answer = client.post("/api/v1/adjustments", json=ADJUSTMENT, headers={"X-CSRF-Token": token})
    assert answer.status_code == 201, answer.text


def test_openapi_schema_and_docs_are_served(company: Engine) -> None:
    client = TestClient(create_app(company, secret=SECRET))
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/me", "/api/v1/statements/{period}/{payee}", "/api/v1/periods/{period}/close"} <= set(
        schema["paths"]
    )
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert not any(p.startswith("/admin") or p == "/login" for p in schema["paths"])
    assert client.get("/api/docs").status_code == 200


def test_out_of_range_ids_and_nul_characters_are_invalid_input_not_server_errors(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io")
    assert_error(admin.post("/api/v1/adjustments/99999999999999999999/approve"), 422, "invalid_input")
    assert_error(admin.get("/api/v1/payees?period=%00"), 422, "invalid_input")
    assert_error(admin.get("/api/v1/statements/FY2025-M01/R%001"), 422, "invalid_input")
    assert_error(admin.post("/api/v1/adjustments", json={**ADJUSTMENT, "payee": "R\u00001"}), 422, "invalid_input")
    assert admin.get("/statements/FY2025-M01/R%001").status_code == 422
