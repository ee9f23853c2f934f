"""POST/GET /api/v1/transactions (SQLite and PostgreSQL): the importer's validation and words, idempotency by
external id, partial and atomic batches, closed months (409), roles and scopes, and live earnings that equal
what a full run then computes for the same data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.service import approve_for, close_for
from openspm.ingest.service import import_file
from openspm.realtime.service import MAX_BATCH
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import build_company, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import SECRET, signed_in

URL = "/api/v1/transactions"


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def sale(
    ident: str, amount: str = "1000.00", day: str = "2025-02-10", owner: str | None = "R1", **more: Any
) -> dict[str, Any]:
    row = {"id": ident, "date": day, "account": "A1", "product": "SKU1", "amount": amount, "currency": "USD"}
    if owner:
        row["owner"] = owner
    return {**row, **more}


def audit_count(engine: Engine) -> int:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.entity == "transactions"))
            or 0
        )


def stored(engine: Engine, ident: str) -> m.Transaction | None:
    with Session(engine) as session:
        return session.scalars(select(m.Transaction).where(m.Transaction.external_id == ident)).first()


BAD_ROWS = [
    ("X1", "2025-02-10", "sale", "A1", "SKU1", "1", "abc", "USD", ""),
    ("X2", "2025-13-01", "sale", "A1", "SKU1", "1", "10", "USD", ""),
    ("X3", "2025-02-10", "sale", "A9", "SKU1", "1", "10", "USD", ""),
    ("X4", "2025-02-10", "sale", "A1", "NOPE", "1", "10", "USD", ""),
    ("X5", "2025-02-10", "sale", "A1", "SKU1", "1", "10", "DOLLARS", ""),
    ("X6", "2025-02-10", "return", "A1", "SKU1", "-1", "-10", "USD", ""),
    ("X7", "2025-02-10", "sale", "A1", "SKU1", "-2", "10", "USD", ""),
    ("X8", "2031-02-10", "sale", "A1", "SKU1", "1", "10", "USD", ""),
    ("X9", "2025-02-10", "refund", "A1", "SKU1", "1", "10", "USD", ""),
    ("X10", "2025-02-10", "sale", "A1", "SKU1", "1", "", "USD", ""),
    ("X11", "2025-02-10", "sale", "A1", "SKU1", "1", "10", "USD", "GHOST"),
]
COLUMNS = ("id", "date", "type", "account", "product", "quantity", "amount", "currency", "owner")


def test_rejections_carry_the_importers_words_for_the_same_rows(company: Engine, write: WriteFile) -> None:
    csv = ",".join(COLUMNS) + "\n" + "".join(",".join(r) + "\n" for r in BAD_ROWS)
    report = import_file(company, "transactions", write("bad.csv", csv), dry_run=True, actor="test")
    assert report.rejected == len(BAD_ROWS)
    expected = sorted((i.row - 1, i.column, i.value, i.reason) for i in report.issues)  # the file counts from 1
    body = [{k: v for k, v in zip(COLUMNS, row, strict=True) if v} for row in BAD_ROWS]
    answer = client_with_token(company, "analyst@x.io").post(URL, json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["rejected"] == len(BAD_ROWS) and data["inserted"] == 0 and not data["written"]
    got = sorted((p["index"], p["column"], p["value"], p["reason"]) for r in data["rows"] for p in r["problems"])
    assert got == expected
    assert "not a number" in str(got) and "unknown account 'A9'" in str(got)
    assert all(stored(company, r[0]) is None for r in BAD_ROWS)


def test_posting_twice_changes_nothing_and_a_change_updates_with_an_audit_entry(company: Engine) -> None:
    client = client_with_token(company, "admin@x.io")
    batch = [sale("N1", "1000.00", attributes={"region": "west"}), sale("N2", "250", order_id="SO-7")]
    first = client.post(URL, json=batch).json()
    assert [r["status"] for r in first["rows"]] == ["inserted", "inserted"] and first["written"]
    audits = audit_count(company)
    assert audits >= 2
    again = client.post(URL, json=batch).json()
    assert [r["status"] for r in again["rows"]] == ["unchanged", "unchanged"] and not again["written"]
    assert again["payees"] == [] and audit_count(company) == audits
    assert client.post(URL, json=sale("N2", "250.00", order_id="SO-7")).json()["rows"][0]["status"] == "unchanged"
    changed = client.post(URL, json=sale("N2", "300", order_id="SO-8")).json()
    assert changed["rows"][0]["status"] == "updated" and changed["updated"] == 1
    assert audit_count(company) == audits + 1
    row = stored(company, "N2")
    assert row is not None and row.amount == Decimal("300") and row.order_id == "SO-8"
    n1 = stored(company, "N1")
    assert n1 is not None and n1.attributes == {"region": "west"}
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity_key == "N2").order_by(m.AuditEntry.id.desc())
        ).first()
        assert entry is not None and entry.actor == "admin@x.io" and entry.action == "update"
        assert entry.before is not None and entry.after is not None
        assert entry.before["amount"] == "250" and entry.after["amount"] == "300"
    # the same id twice in one batch with different content is refused, as in a file
    clash = client.post(URL, json=[sale("N3", "1"), sale("N3", "2")]).json()
    assert [r["status"] for r in clash["rows"]] == ["rejected", "rejected"]
    assert "duplicate id with conflicting content" in clash["rows"][0]["problems"][0]["reason"]


def test_a_bad_row_never_blocks_the_good_ones_unless_atomic(company: Engine) -> None:
    client = client_with_token(company, "analyst@x.io")
    batch = [sale("G1"), sale("B1", "ten"), sale("G2", "20", owner="R2")]
    answer = client.post(URL, json=batch)
    assert answer.status_code == 200
    data = answer.json()
    assert [r["status"] for r in data["rows"]] == ["inserted", "rejected", "inserted"]
    assert data["rows"][1]["problems"] == [{"index": 1, "column": "amount", "value": "ten", "reason": "not a number"}]
    assert stored(company, "G1") is not None and stored(company, "B1") is None
    assert sorted(p["payee"] for p in data["payees"]) == ["R1", "R2"]

    atomic = client.post(f"{URL}?atomic=true", json=[sale("G3"), sale("B2", "ten")])
    assert_error(atomic, 422, "invalid_input")
    assert atomic.json()["detail"] == [{"index": 1, "column": "amount", "value": "ten", "reason": "not a number"}]
    assert stored(company, "G3") is None
    assert client.post(f"{URL}?atomic=true", json=[sale("G3")]).json()["inserted"] == 1

    single = client.post(URL, json=sale("B3", day="2025-02-30"))
    assert_error(single, 422, "invalid_input")
    for body, reason in (
        ([], "post one transaction"),
        ([sale(f"Z{i}") for i in range(MAX_BATCH + 1)], "at most 1000"),
        ("text", "send one transaction object"),
    ):
        refused = client.post(URL, json=body)
        assert_error(refused, 422, "invalid_input")
        assert reason in refused.json()["detail"]
    not_json = client.post(URL, content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(not_json, 422, "invalid_input")
    unknown = client.post(URL, json=[sale("U1", amonut="5")]).json()
    assert unknown["rows"][0]["problems"][0]["column"] == "amonut"
    odd = [sale("U2", "1" + "0" * 30), sale("U3", "NaN"), {**sale("U4"), "attributes": {"a": [1]}}, sale("U" * 129)]
    odd += [sale("U5", order_id="a\x00b"), sale("U6")]
    answer = client.post(URL, json=odd).json()
    assert [r["problems"][0]["reason"] if r["problems"] else r["status"] for r in answer["rows"]] == [
        "too large: at most 26 digits before the decimal point",  # the engine computes in DECIMAL(38, 12)
        "not a finite number",
        "must be text, a number or a boolean",
        "too long: at most 128 characters",
        "holds a NUL character",  # PostgreSQL text cannot hold it: refused on every store, not a 500
        "inserted",
    ]
    numeric = client.post(URL, content=b'[{"id": 77, "date": "2025-02-10", "account": "A1", "product": "SKU1", '
                          b'"amount": 0.1, "currency": "USD"}]', headers={"Content-Type": "application/json"})  # fmt: skip
    assert numeric.json()["rows"][0]["id"] == "77"
    row = stored(company, "77")
    assert row is not None and row.amount == Decimal("0.1")  # a JSON number read exactly, never through a float


def test_a_closed_month_is_409_and_says_what_to_do(company: Engine) -> None:
    analyst = who(company, "analyst@x.io")
    approve_for(company, analyst, "FY2025-M01")
    close_for(company, analyst, "FY2025-M01")
    client = client_with_token(company, "analyst@x.io")
    answer = client.post(URL, json=sale("C1", day="2025-01-15"))
    assert_error(answer, 409, "conflict")
    detail = answer.json()["detail"]
    assert "FY2025-M01 is closed" in detail and "open month" in detail and "/api/v1/adjustments" in detail
    assert stored(company, "C1") is None
    # an existing January transaction cannot be changed either
    assert_error(client.post(URL, json=sale("T1", "9999", day="2025-01-10")), 409, "conflict")
    moved = client.post(URL, json=sale("T1", "8000.00", day="2025-02-10"))  # nor moved out of January
    assert_error(moved, 409, "conflict")
    assert "stored dated 2025-01-10 and FY2025-M01 is closed" in moved.json()["detail"]
    mixed = client.post(URL, json=[sale("C2", day="2025-01-15"), sale("C3")])
    assert mixed.status_code == 200
    assert [r["status"] for r in mixed.json()["rows"]] == ["rejected", "inserted"]
    assert_error(client.post(f"{URL}?atomic=true", json=[sale("C4", day="2025-01-15"), sale("C5")]), 409, "conflict")
    assert stored(company, "C5") is None


def test_only_writers_with_the_write_scope_post(company: Engine) -> None:
    for email in ("finance@x.io", "m1@x.io", "r1@x.io"):
        assert_error(client_with_token(company, email).post(URL, json=sale("W1")), 403, "forbidden")
    read_only = client_with_token(company, "admin@x.io", scope="read").post(URL, json=sale("W1"))
    assert_error(read_only, 403, "forbidden")
    assert "write scope" in read_only.json()["detail"]
    assert_error(TestClient(create_app(company, secret=SECRET)).post(URL, json=sale("W1")), 401, "unauthorized")
    browser = signed_in(company, "admin@x.io")
    assert_error(browser.post(URL, json=sale("W1")), 403, "forbidden")  # a session needs the CSRF header
    assert stored(company, "W1") is None
    assert client_with_token(company, "analyst@x.io").post(URL, json=sale("W1")).status_code == 200


def test_reading_transactions_follows_visibility(company: Engine) -> None:
    admin = client_with_token(company, "finance@x.io")
    page = admin.get(f"{URL}?period=FY2025-M01&limit=2").json()
    assert page["total"] == 3 and [t["id"] for t in page["items"]] == ["T3", "T2"]
    assert page["items"][0]["amount"] == "3000" and page["items"][0]["owner"] == "R3"
    rep = client_with_token(company, "r1@x.io")
    assert [t["id"] for t in rep.get(f"{URL}?period=FY2025-M01").json()["items"]] == ["T1"]
    manager = client_with_token(company, "m1@x.io").get(f"{URL}?period=FY2025-M01").json()
    assert sorted(t["id"] for t in manager["items"]) == ["T1", "T2"]
    assert_error(rep.get(f"{URL}?period=FY2025-M01&payee=R3"), 404, "not_found")
    assert_error(rep.get(f"{URL}?period=FY2099-M01"), 404, "not_found")
    assert rep.get(f"{URL}/T1").json()["credits"][0]["payee"] == "R1"
    assert_error(rep.get(f"{URL}/T3"), 404, "not_found")
    assert_error(admin.get(f"{URL}/NOPE"), 404, "not_found")
    assert_error(admin.get(f"{URL}?limit=0"), 422, "invalid_input")


def live_earnings(engine: Engine, period: str) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        le = m.LiveEarning
        rows = session.scalars(select(le).where(le.period == period))
        return sorted((r.plan, r.payee, r.component, r.amount.normalize(), r.cut.normalize()) for r in rows)


def test_live_earnings_equal_what_a_full_run_then_computes(company: Engine) -> None:
    client = client_with_token(company, "analyst@x.io")
    before = {p[1]: p[3] for p in live_earnings(company, "FY2025-M02")}
    answer = client.post(
        URL,
        json=[
            sale("L1", "9000", owner="R1"),
            sale("L2", "4500.50", day="2025-02-20", owner="R3"),
            sale("T5", "7000", day="2025-02-04", owner="R1"),  # an update of a stored February sale
            {**sale("L3", "-1000", owner=None), "type": "return", "original": "L1", "quantity": "-1"},
        ],
    ).json()
    assert answer["live_month"] == "FY2025-M02" and answer["written"]
    assert [r["status"] for r in answer["rows"]] == ["inserted", "inserted", "updated", "inserted"]
    by_payee = {p["payee"]: p for p in answer["payees"]}
    assert set(by_payee) == {"R1", "R3"}
    live = live_earnings(company, "FY2025-M02")
    for payee, data in by_payee.items():
        assert Decimal(data["earned"]["USD"]) == sum(p[3] for p in live if p[1] == payee)
        assert Decimal(data["earned"]["USD"]) != before.get(payee)
    run_period(company, "FY2025-M02", actor="test")
    assert live_earnings(company, "FY2025-M02") == live


def test_a_late_deal_in_an_earlier_open_month_updates_that_month_too(company: Engine) -> None:
    client = client_with_token(company, "analyst@x.io")
    january = live_earnings(company, "FY2025-M01")
    answer = client.post(
        URL,
        json=[sale("J1", "6000", day="2025-01-25", owner="R1"), sale("T2", "100", day="2025-02-06", owner="R2")],
    ).json()
    assert answer["live_month"] == "FY2025-M02" and [r["month"] for r in answer["rows"]] == ["FY2025-M01", "FY2025-M02"]
    live = {month: live_earnings(company, month) for month in ("FY2025-M01", "FY2025-M02")}
    assert live["FY2025-M01"] != january  # R1's January and R2's (T2 moved out of January) follow at once
    run_period(company, "FY2025-M01", actor="test")
    assert live_earnings(company, "FY2025-M01") == live["FY2025-M01"]
    # January re-ran last, yet February (the latest month with a run) stays the live month
    assert client.post(URL, json=sale("J2", "10", day="2025-01-26")).json()["live_month"] == "FY2025-M02"
    february = live_earnings(company, "FY2025-M02")
    run_period(company, "FY2025-M02", actor="test")
    assert live_earnings(company, "FY2025-M02") == february
