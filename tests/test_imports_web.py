"""Data imports through the API and the pages (SQLite and PostgreSQL): every row read is loaded or listed as
rejected with its reason, a dry run writes nothing, whole-file problems are one message, the upload limit,
the history of batches, and who may import (admin, comp analyst; users admin only)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import ROLES, assert_error, client_with_token
from tests.test_web import csrf_of, signed_in

# Three good transactions and two bad ones: an unknown account and an amount that is not a number.
TRANSACTIONS = (
    "id,date,account,product,amount,currency,owner\n"
    "T10,2025-03-03,A1,SKU1,1000.00,USD,R1\n"
    "T11,2025-03-04,NOPE,SKU1,500,USD,R1\n"
    "T12,2025-03-05,A2,SKU1,250.50,USD,R3\n"
    "T13,2025-03-06,A1,SKU1,lots,USD,R2\n"
    "T14,2025-03-07,A2,SKU1,75,USD,R2\n"
)


@pytest.fixture
def company(engine: Engine, write: WriteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path / "data"))
    return build_company(engine, write)


def transaction_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(m.Transaction.external_id)))


def batch_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(m.ImportBatch)) or 0


def upload(client: TestClient, kind: str, body: str | bytes, name: str = "march.csv", **form: str) -> object:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return client.post(f"/api/v1/imports/{kind}", files={"file": (name, data, "text/csv")}, data=form)


def test_api_dry_run_writes_nothing_and_a_load_reports_every_rejected_row(company: Engine) -> None:
    analyst = client_with_token(company, ROLES["analyst"])
    before, batches = transaction_ids(company), batch_count(company)

    dry = upload(analyst, "transactions", TRANSACTIONS, dry_run="true")
    assert dry.status_code == 200, dry.text  # type: ignore[attr-defined]
    report = dry.json()  # type: ignore[attr-defined]
    assert (report["rows"], report["inserted"], report["rejected"], report["dry_run"]) == (5, 3, 2, True)
    assert report["batch_id"] is None and report["token"].startswith("check-")
    assert transaction_ids(company) == before and batch_count(company) == batches  # nothing written

    loaded = upload(analyst, "transactions", TRANSACTIONS).json()  # type: ignore[attr-defined]
    assert (loaded["rows"], loaded["inserted"], loaded["updated"], loaded["unchanged"], loaded["rejected"]) == (
        5,
        3,
        0,
        0,
        2,
    )
    assert loaded["inserted"] + loaded["updated"] + loaded["unchanged"] + loaded["rejected"] == loaded["rows"]
    assert transaction_ids(company) - before == {"T10", "T12", "T14"}
    assert loaded["token"] == f"batch-{loaded['batch_id']}" and loaded["file"] == "march.csv"

    rows = analyst.get(f"/api/v1/imports/results/{loaded['token']}/rejected").json()
    assert rows["total"] == 2
    assert [(r["row"], r["column"], r["value"]) for r in rows["items"]] == [
        (2, "account", "NOPE"),
        (4, "amount", "lots"),
    ]
    assert "unknown account 'NOPE'" in rows["items"][0]["reason"]
    paged = analyst.get(f"/api/v1/imports/results/{loaded['token']}/rejected?limit=1&offset=1").json()
    assert [r["row"] for r in paged["items"]] == [4] and paged["total"] == 2
    csv_answer = analyst.get(f"/api/v1/imports/results/{loaded['token']}/rejected.csv")
    assert csv_answer.status_code == 200 and csv_answer.text.splitlines()[0] == "file,row,column,value,reason"
    assert len(csv_answer.text.splitlines()) == 3

    again = upload(analyst, "transactions", TRANSACTIONS).json()  # type: ignore[attr-defined]
    assert (again["inserted"], again["unchanged"], again["rejected"]) == (0, 3, 2)  # idempotent

    history = analyst.get("/api/v1/imports?kind=transactions").json()
    newest = history["items"][0]
    assert newest["id"] == again["batch_id"] and newest["actor"] == ROLES["analyst"]
    assert newest["file_name"] == "march.csv" and re.fullmatch(r"[0-9a-f]{64}", newest["sha256"])
    assert (newest["rows"], newest["rejected"], newest["report"]) == (5, 2, again["token"])


def test_strict_writes_nothing_when_a_row_is_rejected(company: Engine) -> None:
    admin = client_with_token(company, ROLES["admin"])
    before, batches = transaction_ids(company), batch_count(company)
    report = upload(admin, "transactions", TRANSACTIONS, strict="true").json()  # type: ignore[attr-defined]
    assert report["strict_refused"] is True and report["batch_id"] is None and report["rejected"] == 2
    assert transaction_ids(company) == before and batch_count(company) == batches


def test_whole_file_problems_are_one_message_and_the_upload_limit_answers_413(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = client_with_token(company, ROLES["admin"])
    batches = batch_count(company)
    text = "id,date,account,product,amount,currency,owner\nT20,2025-03-03,Café,SKU1,1,USD,R1\nT21,2025-03-03,A1,SKU1,1,USD,R1\n"
    latin1 = text.encode("latin-1")
    answer = upload(admin, "transactions", latin1, name="export.csv")
    assert_error(answer, 422, "invalid_input")
    detail = answer.json()["detail"]  # type: ignore[attr-defined]
    assert detail.startswith("export.csv: not UTF-8 text") and "/tmp" not in detail and "openspm-upload" not in detail
    missing = upload(admin, "transactions", "id,date,amount\nT20,2025-03-03,1\n")
    assert_error(missing, 422, "invalid_input")
    assert "account" in missing.json()["detail"]  # type: ignore[attr-defined]
    assert_error(upload(admin, "transactions", b""), 422, "invalid_input")
    assert_error(upload(admin, "no_such_kind", TRANSACTIONS), 422, "invalid_input")
    assert_error(upload(admin, "plan_versions", "plan,version,effective_from,document\n"), 422, "invalid_input")
    monkeypatch.setenv("OPENSPM_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    too_big = upload(admin, "transactions", TRANSACTIONS + "T99,2025-03-08,A1,SKU1,1,USD,R1\n" * 40)
    assert_error(too_big, 413, "too_large")
    assert "over the upload limit" in too_big.json()["detail"]  # type: ignore[attr-defined]
    assert batch_count(company) == batches


def test_roles_who_may_import_and_read_the_history(company: Engine) -> None:
    expected_import = {"admin": 200, "analyst": 200, "finance": 403, "manager": 403, "rep": 403, "other_rep": 403}
    expected_history = {"admin": 200, "analyst": 200, "finance": 200, "manager": 403, "rep": 403, "other_rep": 403}
    for role, email in ROLES.items():
        client = client_with_token(company, email)
        answer = upload(client, "transactions", TRANSACTIONS, dry_run="true")
        assert answer.status_code == expected_import[role], (role, answer.text)  # type: ignore[attr-defined]
        if expected_import[role] == 403:
            assert_error(answer, 403, "forbidden")
        assert client.get("/api/v1/imports").status_code == expected_history[role], role
        assert client.get("/api/v1/kinds").status_code == 200
    read_only = client_with_token(company, ROLES["admin"], scope="read")
    assert_error(upload(read_only, "transactions", TRANSACTIONS, dry_run="true"), 403, "forbidden")
    users = "email,name,roles\nnew@x.io,New,admin\n"
    assert_error(upload(client_with_token(company, ROLES["analyst"]), "users", users), 403, "forbidden")
    assert upload(client_with_token(company, ROLES["admin"]), "users", users).status_code == 200  # type: ignore[attr-defined]
    anonymous = TestClient(client_with_token(company, ROLES["admin"]).app)
    assert_error(upload(anonymous, "transactions", TRANSACTIONS), 401, "unauthorized")
    assert_error(anonymous.get("/api/v1/imports"), 401, "unauthorized")
    assert_error(client_with_token(company, ROLES["admin"]).get("/api/v1/imports/results/..secret"), 404, "not_found")
    assert_error(client_with_token(company, ROLES["admin"]).get("/api/v1/imports/results/batch-999"), 404, "not_found")


def test_kinds_list_each_kinds_columns(company: Engine) -> None:
    kinds = {
        k["name"]: k for k in client_with_token(company, ROLES["rep"]).get("/api/v1/kinds?limit=100").json()["items"]
    }
    columns = {c["name"]: c for c in kinds["transactions"]["columns"]}
    assert columns["account"]["refers_to"] == "accounts" and columns["amount"]["required"] is True
    assert kinds["plan_versions"]["web"] is False and kinds["users"]["admin_only"] is True


def test_pages_upload_show_the_rejected_rows_and_the_history(company: Engine) -> None:
    analyst = signed_in(company, ROLES["analyst"])
    page = analyst.get("/admin/imports?kind=transactions")
    assert page.status_code == 200 and "owner" in page.text and 'href="/admin/imports"' in page.text
    assert analyst.get("/admin/imports/columns?kind=payees").text.count("<code>") >= 3
    token = csrf_of(analyst, "/admin/imports")
    files = {"file": ("march.csv", TRANSACTIONS.encode(), "text/csv")}
    answer = analyst.post(
        "/admin/imports", data={"csrf_token": token, "kind": "transactions", "mode": "load"}, files=files
    )
    assert answer.status_code == 200 and "/admin/imports/results/batch-" in str(answer.url)
    assert 'data-count="rows">5<' in answer.text and 'data-count="rejected">2<' in answer.text
    assert "unknown account &#39;NOPE&#39;" in answer.text and "lots" in answer.text
    assert "Loaded as import batch" in answer.text
    assert "march.csv" in analyst.get("/admin/imports").text  # the history
    forged = analyst.post("/admin/imports", data={"csrf_token": "x", "kind": "transactions"}, files=files)
    assert forged.status_code == 403
    bad = analyst.post(
        "/admin/imports",
        data={"csrf_token": token, "kind": "transactions", "mode": "load"},
        files={"file": ("x.csv", b"id,date\n1,2\n", "text/csv")},
    )
    assert bad.status_code == 422 and "x.csv" in bad.text and 'role="alert"' in bad.text
    finance = signed_in(company, ROLES["finance"])
    assert finance.get("/admin/imports").status_code == 200
    assert 'enctype="multipart/form-data"' not in finance.get("/admin/imports").text
    ftoken = csrf_of(finance, "/admin/imports/results/" + str(answer.url).rsplit("/", 1)[1])
    refused = finance.post("/admin/imports", data={"csrf_token": ftoken, "kind": "transactions"}, files=files)
    assert refused.status_code == 403
    assert signed_in(company, ROLES["rep"]).get("/admin/imports").status_code == 403


def test_result_page_pages_through_many_rejected_rows(company: Engine) -> None:
    body = "id,date,account,product,amount,currency,owner\n" + "".join(
        f"B{i},2025-03-03,A1,SKU1,x{i},USD,R1\n" for i in range(1, 251)
    )
    report = upload(client_with_token(company, ROLES["analyst"]), "transactions", body, dry_run="true").json()  # type: ignore[attr-defined]
    assert report["rejected"] == 250
    page = signed_in(company, ROLES["analyst"]).get(f"/admin/imports/results/{report['token']}?page=3")
    assert page.status_code == 200 and "page 3 of 3" in page.text and "x201" in page.text and "x200<" not in page.text
    assert "Dry run: nothing was written" in page.text


def test_kept_reports_of_checks_go_after_a_week_and_those_of_batches_stay(tmp_path: Path) -> None:
    from openspm.ingest import results
    from openspm.ingest.service import ImportReport

    old_check = results.save(
        tmp_path, ImportReport("accounts", "a.csv", dry_run=True), file_name="a.csv", actor="x", strict=False
    )
    batch = results.save(
        tmp_path, ImportReport("accounts", "a.csv", batch_id=7), file_name="a.csv", actor="x", strict=False
    )
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / old_check, (week_ago, week_ago))
    os.utime(tmp_path / batch, (week_ago, week_ago))
    fresh = results.save(
        tmp_path, ImportReport("accounts", "b.csv", dry_run=True), file_name="b.csv", actor="x", strict=False
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([batch, fresh])
    assert results.summary(tmp_path, batch).batch_id == 7
