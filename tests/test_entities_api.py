"""Reference and master data through `/api/v1` (SQLite and PostgreSQL): accounts with owners and territory as of a
day, products, territories, quotas, opportunities, reporting lines; each list filtered to what the caller may see
(a rep their own, a manager the team that day, staff everything), paged in the store."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from openspm.ingest.service import import_file
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import assert_error, client_with_token

MORE = {
    "accounts": "id,name,segment\nA3,Initech,SMB\n",
    "territories": "id,name,region\nT-E,East,NA\nT-W,West,NA\n",
    "account_territories": "account,territory,effective_from\nA2,T-E,2025-01-01\n",
    "territory_assignments": "territory,payee,effective_from\nT-E,R3,2025-01-01\n",
    "account_assignments": "account,payee,effective_from,effective_to\nA1,R1,2025-01-01,\nA3,R2,2025-01-01,2025-02-01\n",
    "opportunities": "id,name,account,owner,stage,probability,amount,currency,close_date,status\n"
    "O1,Acme renewal,A1,R1,Proposal,40%,5000.00,USD,2025-03-31,open\n"
    "O2,Globex seats,A2,R3,Closed,1,12000,USD,2025-02-10,won\n"
    "O3,Initech pilot,A3,R2,Closed,0,900.5,USD,2025-01-30,lost\n",
}


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    build_company(engine, write)
    for kind, body in MORE.items():
        report = import_file(engine, kind, write(f"more-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    return engine


def _ids(answer: object, key: str = "id") -> list[str]:
    response = answer
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return [item[key] for item in response.json()["items"]]  # type: ignore[attr-defined]


def test_accounts_show_owners_and_territory_as_of_the_day_to_whom_may_see_them(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io", "read")
    answer = admin.get("/api/v1/accounts?on=2025-01-15").json()
    assert answer["total"] == 3
    assert [(a["id"], a["owners"], a["territory"]) for a in answer["items"]] == [
        ("A1", ["R1"], None),
        ("A2", [], "T-E"),
        ("A3", ["R2"], None),
    ]
    assert admin.get("/api/v1/accounts?on=2025-02-15").json()["items"][2]["owners"] == []  # R2's ownership ended
    assert _ids(admin.get("/api/v1/accounts?limit=2&offset=1")) == ["A2", "A3"]
    assert _ids(admin.get("/api/v1/accounts?q=glob")) == ["A2"]
    assert _ids(admin.get("/api/v1/accounts?segment=SMB")) == ["A3"]

    assert _ids(client_with_token(company, "r1@x.io", "read").get("/api/v1/accounts")) == ["A1"]
    manager = client_with_token(company, "m1@x.io", "read")
    assert _ids(manager.get("/api/v1/accounts?on=2025-01-15")) == ["A1", "A3"]  # R2 on M1's team in January
    assert _ids(manager.get("/api/v1/accounts?on=2025-02-15")) == ["A1"]
    assert _ids(client_with_token(company, "m2@x.io", "read").get("/api/v1/accounts?on=2025-02-15")) == ["A2"]

    rep = client_with_token(company, "r1@x.io", "read")
    assert rep.get("/api/v1/accounts/A1").json()["owners"] == ["R1"]
    assert_error(rep.get("/api/v1/accounts/A2"), 404, "not_found")  # exists, but not R1's: the same answer
    assert_error(rep.get("/api/v1/accounts/NOPE"), 404, "not_found")
    assert rep.get("/api/v1/accounts/A2").json()["detail"] == "unknown account 'A2'"


def test_reference_data_is_for_everyone_and_payee_data_for_whom_may_see_it(company: Engine) -> None:
    for email in ("admin@x.io", "finance@x.io", "r3@x.io"):
        client = client_with_token(company, email, "read")
        assert _ids(client.get("/api/v1/products")) == ["SKU1"]
        territories = client.get("/api/v1/territories?on=2025-06-01").json()["items"]
        assert [(t["id"], t["payees"]) for t in territories] == [("T-E", ["R3"]), ("T-W", [])]
    assert _ids(client_with_token(company, "r1@x.io").get("/api/v1/products?family=Nope")) == []

    quotas = client_with_token(company, "finance@x.io", "read").get("/api/v1/quotas").json()
    assert quotas["total"] == 3 and {q["amount"] for q in quotas["items"]} == {"20000"}
    assert _ids(client_with_token(company, "r1@x.io").get("/api/v1/quotas"), "payee") == ["R1"]
    m1 = client_with_token(company, "m1@x.io")
    assert _ids(m1.get("/api/v1/quotas?period=FY2025-Q1"), "payee") == ["R1", "R2"]
    assert _ids(m1.get("/api/v1/quotas?payee=R3"), "payee") == []
    assert_error(m1.get("/api/v1/quotas?period=FY1999-Q9"), 404, "not_found")

    assert _ids(client_with_token(company, "admin@x.io").get("/api/v1/opportunities")) == ["O3", "O2", "O1"]
    assert _ids(client_with_token(company, "admin@x.io").get("/api/v1/opportunities?status=won")) == ["O2"]
    assert _ids(client_with_token(company, "r3@x.io").get("/api/v1/opportunities")) == ["O2"]
    opportunity = client_with_token(company, "r1@x.io").get("/api/v1/opportunities").json()["items"][0]
    assert (opportunity["probability"], opportunity["amount"], opportunity["account"]) == ("0.4", "5000.00", "A1")
    assert_error(client_with_token(company, "r1@x.io").get("/api/v1/opportunities?status=maybe"), 422, "invalid_input")

    lines = client_with_token(company, "admin@x.io").get("/api/v1/reporting-lines?on=2025-01-15")
    assert [(x["payee"], x["manager"]) for x in lines.json()["items"]] == [("R1", "M1"), ("R2", "M1"), ("R3", "M2")]
    mine = client_with_token(company, "m1@x.io").get("/api/v1/reporting-lines?on=2025-02-15")
    assert [(x["payee"], x["manager"]) for x in mine.json()["items"]] == [("R1", "M1")]


def test_every_entity_endpoint_needs_credentials(company: Engine) -> None:
    from fastapi.testclient import TestClient

    from openspm.web.app import create_app
    from tests.test_web import SECRET

    anonymous = TestClient(create_app(company, secret=SECRET))
    for path in ("accounts", "accounts/A1", "products", "territories", "quotas", "opportunities", "reporting-lines"):
        assert_error(anonymous.get(f"/api/v1/{path}"), 401, "unauthorized")
