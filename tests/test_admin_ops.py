"""Runs as jobs, run results and diffs, holds, users and roles, and the audit log, through the API and the pages
(SQLite and PostgreSQL): what each role may do, the answers' shapes and statuses, and that changes are audited."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.auth.service import authenticate, create_token, set_passwords
from openspm.close import service as close
from openspm.close.documents import month_documents
from openspm.ingest.service import import_file
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import PASSWORD, build_company
from tests.test_api import ROLES, assert_error, client_with_token
from tests.test_close import PLAN as FLAT_PLAN
from tests.test_close import _company
from tests.test_web import SECRET, csrf_of, signed_in


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def wait_for(client: TestClient, job_id: int, seconds: float = 120) -> dict[str, Any]:
    """The job once it is done (polling like the page does)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")


def run_ids(engine: Engine, period: str) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(m.Run.id).where(m.Run.period == period).order_by(m.Run.id)))


def audit_rows(engine: Engine, entity: str) -> list[m.AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == entity).order_by(m.AuditEntry.id))
        )


# --- who may do what ------------------------------------------------------------------------------------------


def test_new_endpoints_answer_401_without_credentials(company: Engine) -> None:
    anonymous = TestClient(create_app(company, secret=SECRET))
    for method, path in [
        ("POST", "/api/v1/runs"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/1"),
        ("GET", "/api/v1/runs/1"),
        ("GET", "/api/v1/runs/1/diff/2"),
        ("GET", "/api/v1/holds"),
        ("POST", "/api/v1/holds/release"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/1"),
        ("POST", "/api/v1/users/1/roles"),
        ("GET", "/api/v1/users/1/tokens"),
        ("GET", "/api/v1/audit"),
    ]:
        assert_error(anonymous.request(method, path, json={}), 401, "unauthorized")


def test_role_matrix_for_runs_jobs_holds_users_and_audit(company: Engine) -> None:
    """Only admin manages users; managers and reps get 403 on runs, jobs, holds, users and the audit log;
    finance reads runs and the audit log but cannot start runs."""
    ok, denied = 200, 403
    staff = {"admin": ok, "analyst": ok, "finance": ok, "manager": denied, "rep": denied, "other_rep": denied}
    admin_only = {**dict.fromkeys(ROLES, denied), "admin": ok}
    m01, m02 = run_ids(company, "FY2025-M01")[0], run_ids(company, "FY2025-M02")[0]
    admin_user = company_user_id(company, "r1@x.io")
    matrix: dict[tuple[str, str], dict[str, int]] = {
        ("GET", "/api/v1/jobs"): staff,
        ("GET", f"/api/v1/runs/{m01}"): staff,
        ("GET", f"/api/v1/runs/{m01}/diff/{m02}"): staff,
        ("GET", "/api/v1/holds"): staff,
        ("GET", "/api/v1/audit"): staff,
        ("GET", "/api/v1/users"): admin_only,
        ("GET", f"/api/v1/users/{admin_user}"): admin_only,
        ("GET", f"/api/v1/users/{admin_user}/tokens"): admin_only,
        ("POST", f"/api/v1/users/{admin_user}/payee"): admin_only,
    }
    clients = {role: client_with_token(company, email) for role, email in ROLES.items()}
    for (method, path), expected in matrix.items():
        for role, status in expected.items():
            body = {"payee": "R1"} if method == "POST" else None
            answer = clients[role].request(method, path, json=body)
            assert answer.status_code == status, (role, method, path, answer.text)
            if status == denied:
                assert answer.json()["error"] == "forbidden"
    for role in ("finance", "manager", "rep"):
        assert_error(clients[role].post("/api/v1/runs", json={"period": "FY2025-M03"}), 403, "forbidden")
        assert_error(
            clients[role].post("/api/v1/users", json={"email": "z@x.io", "name": "Z", "roles": ["rep"]}),
            403,
            "forbidden",
        )
    assert_error(
        clients["analyst"].post("/api/v1/users", json={"email": "z@x.io", "name": "Z", "roles": ["rep"]}),
        403,
        "forbidden",
    )
    read_only = client_with_token(company, "admin@x.io", "read")  # an admin's read token may read, not write
    assert read_only.get("/api/v1/users").status_code == ok
    assert_error(read_only.post("/api/v1/runs", json={"period": "FY2025-M03"}), 403, "forbidden")
    # pages: the same rules
    for email, path, status in [
        ("r1@x.io", "/admin/runs", denied),
        ("m1@x.io", "/admin/holds", denied),
        ("m1@x.io", "/admin/audit", denied),
        ("analyst@x.io", "/admin/users", denied),
        ("finance@x.io", "/admin/users", denied),
        ("finance@x.io", "/admin/runs", ok),
        ("finance@x.io", "/admin/audit", ok),
        ("analyst@x.io", f"/admin/runs/{m01}", ok),
        ("admin@x.io", "/admin/users", ok),
    ]:
        assert signed_in(company, email).get(path).status_code == status, (email, path)


def company_user_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(m.User.id).where(m.User.email == email)).one()


# --- runs and jobs -------------------------------------------------------------------------------------------


def test_an_analyst_starts_a_run_follows_the_job_and_reads_the_results_and_the_diff(
    company: Engine, write: WriteFile
) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    before = run_ids(company, "FY2025-M02")[-1]
    # a late deal for R1 in February changes what February pays
    late = "id,date,account,product,amount,currency,owner\nT9,2025-02-20,A1,SKU1,10000,USD,R1\n"
    assert import_file(company, "transactions", write("late.csv", late), actor="test").rejected == 0
    started = analyst.post("/api/v1/runs", json={"period": "FY2025-M02"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] in ("queued", "running", "succeeded") and job["params"]["months"] == ["FY2025-M02"]
    assert job["requested_by"] == "analyst@x.io" and job["kind"] == "run"
    done = wait_for(analyst, job["id"])
    assert done["state"] == "succeeded" and Decimal(done["progress"]) == 1 and done["error"] is None
    [after] = done["result"]["runs"]
    assert after == run_ids(company, "FY2025-M02")[-1] and after != before
    listed = analyst.get("/api/v1/jobs?state=succeeded").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    detail = analyst.get(f"/api/v1/runs/{after}").json()
    assert detail["status"] == "completed" and detail["period"] == "FY2025-M02" and detail["plans"] == {"ae": 1}
    assert detail["stands_for_month"] is True and detail["actor"] == "analyst@x.io"
    assert detail["inputs"]["transactions"] >= 1 and "store: write results" in detail["timings"]
    with Session(company) as session:
        stored = session.execute(
            select(m.RunEarning.component, m.RunEarning.amount).where(m.RunEarning.run_id == after)
        ).all()
    assert [(c["plan"], c["component"], c["currency"]) for c in detail["components"]] == [("ae", "commission", "USD")]
    assert detail["components"][0]["amount"] == format(sum(a for _, a in stored), "f")  # exact, never a float
    assert detail["totals"] == {"USD": detail["components"][0]["amount"]}
    assert analyst.get(f"/api/v1/runs/{before}").json()["stands_for_month"] is False
    diff = analyst.get(f"/api/v1/runs/{before}/diff/{after}").json()
    assert [p["payee"] for p in diff["payees"]] == ["R1"]  # only R1's February changed
    [change] = diff["payees"][0]["components"]
    assert change["component"] == "commission" and Decimal(change["change"]) > 0
    assert Decimal(change["after"]) - Decimal(change["before"]) == Decimal(change["change"])
    assert Decimal(diff["total_change"]) == Decimal(change["change"]) and diff["payees"][0]["name"] == "Ann"
    # the pages show the same
    page = signed_in(company, "analyst@x.io")
    html = page.get(f"/admin/runs/{after}").text
    assert "Totals by component" in html and "commission" in html and f"run {before}" in html
    diff_page = page.get(f"/admin/runs/{after}/diff?against={before}", follow_redirects=False)
    assert diff_page.status_code == 303 and diff_page.headers["location"] == f"/admin/runs/{before}/diff/{after}"
    shown = page.get(f"/admin/runs/{before}/diff/{after}").text
    assert 'data-payee="R1"' in shown and "Ann" in shown and "+" + change["change"][:2] in shown


def test_run_requests_refuse_what_cannot_run(company: Engine) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    with Session(company) as session, session.begin():
        session.add(m.PeriodLock(period="FY2025-M03", run_id=77, actor="cli"))
    assert_error(analyst.post("/api/v1/runs", json={"period": "FY2025-M03"}), 409, "conflict")
    assert_error(analyst.post("/api/v1/runs", json={"period": "FY2025-Q1"}), 409, "conflict")
    close.approve(company, "FY2025-M01", "admin@x.io")
    close.close(company, "FY2025-M01", "admin@x.io", month_documents)
    closed = analyst.post("/api/v1/runs", json={"period": "FY2025-M01"})
    assert_error(closed, 409, "conflict")
    assert "closed" in closed.json()["detail"]
    assert_error(analyst.post("/api/v1/runs", json={"period": "FY2099-M01"}), 404, "not_found")
    assert_error(analyst.post("/api/v1/runs", json={"period": ""}), 422, "invalid_input")
    assert_error(analyst.post("/api/v1/runs", json={"period": "FY2025\x00-M02"}), 422, "invalid_input")
    assert_error(analyst.post("/api/v1/runs", json={"period": "FY2025-M02", "x": 1}), 422, "invalid_input")
    assert_error(analyst.get("/api/v1/jobs/424242"), 404, "not_found")
    assert_error(analyst.get("/api/v1/jobs/0"), 422, "invalid_input")
    assert_error(analyst.get("/api/v1/runs/424242"), 404, "not_found")
    assert_error(analyst.get("/api/v1/runs/1/diff/424242"), 404, "not_found")
    assert_error(analyst.get("/api/v1/jobs?state=bogus"), 422, "invalid_input")
    assert analyst.get("/api/v1/jobs").json()["total"] == 0  # nothing was queued
    # the page answers the refusal with the form and the reason
    page = signed_in(company, "analyst@x.io")
    answer = page.post("/admin/runs", data={"csrf_token": csrf_of(page, "/admin/runs"), "period": "FY2025-M01"})
    assert answer.status_code == 409 and "closed" in answer.text
    assert page.post("/admin/runs", data={"csrf_token": "stale", "period": "FY2025-M02"}).status_code == 403


def test_a_failing_run_fails_its_job_with_the_error_and_the_month_keeps_its_run(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openspm.runs import service as runs_service

    def broken(*args: Any) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(runs_service, "_store_results", broken)
    analyst = client_with_token(company, "analyst@x.io")
    [before] = run_ids(company, "FY2025-M02")
    job = wait_for(analyst, analyst.post("/api/v1/runs", json={"period": "FY2025-M02"}).json()["id"])
    assert job["state"] == "failed" and job["error"] == "the store went away" and job["result"]["runs"] == []
    failed = job["result"]["failed_run"]
    assert analyst.get(f"/api/v1/runs/{failed}").json()["status"] == "failed"
    assert analyst.get(f"/api/v1/runs/{failed}").json()["error"] == "the store went away"
    kept = analyst.get(f"/api/v1/runs/{before}").json()
    assert kept["status"] == "completed" and kept["stands_for_month"] is True
    earnings = analyst.get("/api/v1/earnings?period=FY2025-M02").json()["items"]
    assert earnings and {e["run_id"] for e in earnings} == {before}
    fragment = signed_in(company, "analyst@x.io").get("/admin/runs/jobs").text
    assert "the store went away" in fragment and f"run {failed} (failed)" in fragment


def test_the_runs_page_starts_a_run_and_polls_the_jobs_until_done(company: Engine) -> None:
    page = signed_in(company, "analyst@x.io")
    html = page.get("/admin/runs").text
    assert "Start run" in html and "FY2025-Q1" in html and "FY2025" in html
    answer = page.post(
        "/admin/runs", data={"csrf_token": csrf_of(page, "/admin/runs"), "period": "FY2025-M03"}, follow_redirects=False
    )
    assert answer.status_code == 303 and "job" in answer.headers["location"]
    jobs = client_with_token(company, "analyst@x.io").get("/api/v1/jobs").json()["items"]
    done = wait_for(client_with_token(company, "analyst@x.io"), jobs[0]["id"])
    assert done["state"] == "succeeded"
    fragment = page.get("/admin/runs/jobs").text
    assert 'hx-trigger="every 1s"' not in fragment  # polling stops once every job is done
    assert f'href="/admin/runs/{done["result"]["runs"][0]}"' in fragment and "100%" in fragment
    finance = signed_in(company, "finance@x.io").get("/admin/runs").text
    assert "Start run" not in finance and f"/admin/runs/{done['result']['runs'][0]}" in finance


# --- holds ------------------------------------------------------------------------------------------------------


@pytest.fixture
def held_company(engine: Engine, write: WriteFile) -> Engine:
    """P1 earns in March and April under a plan that holds commission until released by hand."""
    plan = FLAT_PLAN + "pay:\n  holds: [{component: commission, until: manual}]\n"
    _company(engine, write, plan, "T1,2025-03-10,A1,SKU1,1000,USD,P1\nT2,2025-04-10,A1,SKU1,500,USD,P1\n")
    users = "email,name,roles,payee\nadmin@x.io,admin,admin,\nanalyst@x.io,analyst,comp_analyst,\np1@x.io,Ann,rep,P1\n"
    assert import_file(engine, "users", write("users.csv", users), actor="test").rejected == 0
    set_passwords(engine, PASSWORD, actor="test")
    run_period(engine, "FY2025-M03", actor="test")
    return engine


def test_held_earnings_are_listed_and_a_manual_hold_is_released_audited(held_company: Engine) -> None:
    analyst = client_with_token(held_company, "analyst@x.io")
    page = analyst.get("/api/v1/holds").json()
    assert page["total"] == 1
    [hold] = page["items"]
    assert {k: hold[k] for k in ("plan", "payee", "payee_name", "component", "earned_in", "amount", "until")} == {
        "plan": "ae",
        "payee": "P1",
        "payee_name": "Ann",
        "component": "commission",
        "earned_in": "FY2025-M03",
        "amount": "100.00",
        "until": "manual",
    }
    assert hold["as_of"] == "FY2025-M03" and hold["released_in"] is None
    release = {"plan": "ae", "payee": "P1", "component": "commission", "earned_in": "FY2025-M03", "into": "FY2025-M04"}
    assert_error(
        client_with_token(held_company, "p1@x.io").post("/api/v1/holds/release", json=release), 403, "forbidden"
    )
    assert_error(analyst.post("/api/v1/holds/release", json={**release, "earned_in": "FY2025-M01"}), 404, "not_found")
    assert_error(analyst.post("/api/v1/holds/release", json={**release, "into": "FY2099-M01"}), 404, "not_found")
    done = analyst.post("/api/v1/holds/release", json={**release, "note": "invoice confirmed"})
    assert done.status_code == 200, done.text
    assert done.json()["released_in"] == "FY2025-M04" and done.json()["released_by"] == "analyst@x.io"
    assert_error(analyst.post("/api/v1/holds/release", json=release), 409, "conflict")  # released already
    [entry] = audit_rows(held_company, "hold_releases")
    assert entry.actor == "analyst@x.io" and entry.after == {"released_in": "FY2025-M04"}
    assert entry.note == "invoice confirmed"
    run_period(held_company, "FY2025-M04", actor="test")  # April pays it; April's own 50 is held
    [april] = analyst.get("/api/v1/holds").json()["items"]
    assert (april["earned_in"], april["amount"], april["as_of"]) == ("FY2025-M04", "50.00", "FY2025-M04")
    # the page: the list and the release form (only for writers)
    html = signed_in(held_company, "analyst@x.io").get("/admin/holds").text
    assert 'data-hold="P1/commission/FY2025-M04"' in html and "Release" in html


def test_the_holds_page_releases_through_its_form(held_company: Engine) -> None:
    page = signed_in(held_company, "admin@x.io")
    form = {
        "csrf_token": csrf_of(page, "/admin/holds"),
        "plan": "ae",
        "payee": "P1",
        "component": "commission",
        "earned_in": "FY2025-M03",
        "into": "FY2025-M04",
        "note": "",
    }
    answer = page.post("/admin/holds/release", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert "released into FY2025-M04" in page.get(answer.headers["location"]).text
    again = page.post("/admin/holds/release", data=form)
    assert again.status_code == 409 and "already released" in again.text


# --- users and roles ------------------------------------------------------------------------------------------------


def test_an_admin_manages_users_and_every_change_is_audited(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io")
    listed = admin.get("/api/v1/users?role=rep").json()
    assert [u["email"] for u in listed["items"]] == ["r1@x.io", "r2@x.io", "r3@x.io"] and listed["total"] == 3
    assert listed["items"][0]["payee"] == "R1" and listed["items"][0]["payee_name"] == "Ann"
    created = admin.post("/api/v1/users", json={"email": "New@X.io", "name": "Nia", "roles": ["rep"], "payee": "R2"})
    assert created.status_code == 201, created.text
    body = created.json()
    secret, user = body["one_time_password"], body["user"]
    assert secret and len(secret) >= 12 and user["email"] == "new@x.io" and user["roles"] == ["rep"]
    assert authenticate(company, "new@x.io", secret) == user["id"]  # the one-time password signs in
    uid = user["id"]
    assert_error(
        admin.post("/api/v1/users", json={"email": "new@x.io", "name": "N", "roles": ["rep"]}), 409, "conflict"
    )
    assert_error(
        admin.post("/api/v1/users", json={"email": "x@x.io", "name": "N", "roles": ["boss"]}), 422, "invalid_input"
    )
    assert_error(
        admin.post("/api/v1/users", json={"email": "nope", "name": "N", "roles": ["rep"]}), 422, "invalid_input"
    )
    assert_error(
        admin.post("/api/v1/users", json={"email": "y@x.io", "name": "N", "roles": ["rep"], "payee": "ZZ"}),
        404,
        "not_found",
    )
    set_pw = admin.post(
        "/api/v1/users", json={"email": "p@x.io", "name": "P", "roles": ["finance"], "password": "s3cret-pass"}
    )
    assert set_pw.json()["one_time_password"] is None and authenticate(company, "p@x.io", "s3cret-pass")
    roles = admin.post(f"/api/v1/users/{uid}/roles", json={"roles": ["manager", "rep"]}).json()
    assert roles["roles"] == ["manager", "rep"]
    assert admin.post(f"/api/v1/users/{uid}/payee", json={"payee": None}).json()["payee"] is None
    assert admin.post(f"/api/v1/users/{uid}/payee", json={"payee": "R3"}).json()["payee"] == "R3"
    # a disabled user's token answers 401; enabled again, it works
    _, token = create_token(company, "new@x.io", ["read"], actor="test")
    theirs = TestClient(create_app(company, secret=SECRET), headers={"Authorization": f"Bearer {token}"})
    assert theirs.get("/api/v1/me").status_code == 200
    assert admin.post(f"/api/v1/users/{uid}/active", json={"active": False}).json()["active"] is False
    assert_error(theirs.get("/api/v1/me"), 401, "unauthorized")
    assert admin.post(f"/api/v1/users/{uid}/active", json={"active": True}).json()["active"] is True
    tokens = admin.get(f"/api/v1/users/{uid}/tokens").json()
    assert len(tokens) == 1 and tokens[0]["revoked_at"] is None and token.startswith(tokens[0]["prefix"])
    assert admin.post(f"/api/v1/users/{uid}/tokens/{tokens[0]['id']}/revoke").json()["revoked_at"] is not None
    assert_error(theirs.get("/api/v1/me"), 401, "unauthorized")
    other_token = create_token(company, "r1@x.io", ["read"], actor="test")[0].id
    assert_error(admin.post(f"/api/v1/users/{uid}/tokens/{other_token}/revoke"), 404, "not_found")
    reset = admin.post(f"/api/v1/users/{uid}/password").json()
    assert reset["one_time_password"] and authenticate(company, "new@x.io", reset["one_time_password"]) == uid
    assert_error(admin.get("/api/v1/users/424242"), 404, "not_found")
    actions = [(e.action, e.before, e.after) for e in audit_rows(company, "users") if e.entity_key == "new@x.io"]
    assert actions[0][0] == "insert" and actions[0][2] == {
        "name": "Nia",
        "roles": ["rep"],
        "payee": "R2",
        "active": True,
    }
    assert ("update", {"roles": ["rep"]}, {"roles": ["manager", "rep"]}) in actions
    assert ("update", {"payee": "R2"}, {"payee": None}) in actions
    assert ("update", {"active": True}, {"active": False}) in actions
    assert ("set_password", {"password": "set"}, {"password": "reset (one-time)"}) in actions
    assert not any("hash" in str(a) or secret in str(a) for a in actions)  # no password or hash in the log


def test_admins_cannot_lock_themselves_out(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io")
    me = company_user_id(company, "admin@x.io")
    refused = admin.post(f"/api/v1/users/{me}/roles", json={"roles": ["comp_analyst"]})
    assert_error(refused, 409, "conflict")
    assert "your own admin role" in refused.json()["detail"]
    assert_error(admin.post(f"/api/v1/users/{me}/active", json={"active": False}), 409, "conflict")
    assert admin.post(f"/api/v1/users/{me}/roles", json={"roles": ["admin", "finance"]}).json()["roles"] == [
        "admin",
        "finance",
    ]
    # a second admin may demote the first, but not the last one standing
    second = admin.post(
        "/api/v1/users", json={"email": "a2@x.io", "name": "A2", "roles": ["admin"], "password": "a2-password"}
    )
    other = client_with_token(company, "a2@x.io")
    assert other.post(f"/api/v1/users/{me}/roles", json={"roles": ["finance"]}).status_code == 200
    last = admin  # the first admin is no longer an admin: their token is refused now
    assert_error(last.get("/api/v1/users"), 403, "forbidden")
    assert_error(
        other.post(f"/api/v1/users/{second.json()['user']['id']}/roles", json={"roles": ["rep"]}), 409, "conflict"
    )


def test_a_password_reset_from_the_page_shows_it_once_and_ends_the_users_sessions(company: Engine) -> None:
    rep = signed_in(company, "r1@x.io")
    assert rep.get("/dashboard", follow_redirects=False).status_code == 200
    admin = signed_in(company, "admin@x.io")
    uid = company_user_id(company, "r1@x.io")
    answer = admin.post(f"/admin/users/{uid}/password", data={"csrf_token": csrf_of(admin, f"/admin/users/{uid}")})
    assert answer.status_code == 200 and "One-time password" in answer.text
    import re

    found = re.search(r"<code data-secret>([^<]+)</code>", answer.text)
    assert found is not None and authenticate(company, "r1@x.io", found.group(1)) == uid
    assert "data-secret" not in admin.get(f"/admin/users/{uid}").text  # never shown again
    assert rep.get("/dashboard", follow_redirects=False).status_code == 303  # their session ended
    # the roles form: own admin role cannot be removed from the page either
    me = company_user_id(company, "admin@x.io")
    kept = admin.post(
        f"/admin/users/{me}/roles", data={"csrf_token": csrf_of(admin, f"/admin/users/{me}"), "roles": ["finance"]}
    )
    assert kept.status_code == 409 and "your own admin role" in kept.text
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(admin, "/admin/users"),
            "email": "n@x.io",
            "name": "N",
            "roles": ["rep", "manager"],
        },
    )
    assert created.status_code == 201 and "One-time password for n@x.io" in created.text
    assert "manager, rep" in admin.get("/admin/users?q=n@x").text


# --- audit log ---------------------------------------------------------------------------------------------------


def test_the_audit_log_filters_paginates_and_shows_field_diffs(company: Engine) -> None:
    admin = client_with_token(company, "admin@x.io")
    uid = company_user_id(company, "r2@x.io")
    admin.post(f"/api/v1/users/{uid}/roles", json={"roles": ["manager", "rep"]})
    finance = client_with_token(company, "finance@x.io", "read")
    page = finance.get("/api/v1/audit?entity=users&key=r2@x&action=update").json()
    assert page["total"] == 1
    [entry] = page["items"]
    assert entry["actor"] == "admin@x.io" and entry["entity_key"] == "r2@x.io"
    assert entry["changes"] == [{"field": "roles", "before": ["rep"], "after": ["manager", "rep"]}]
    everything = finance.get("/api/v1/audit?limit=5").json()
    assert everything["total"] > 5 and len(everything["items"]) == 5
    ats = [e["at"] for e in everything["items"]]
    assert ats == sorted(ats, reverse=True)
    second = finance.get("/api/v1/audit?limit=5&offset=5").json()["items"]
    assert {e["id"] for e in second}.isdisjoint({e["id"] for e in everything["items"]})
    by_actor = finance.get("/api/v1/audit?actor=ADMIN@x.io").json()
    assert by_actor["total"] >= 1 and {e["actor"] for e in by_actor["items"]} == {"admin@x.io"}
    assert finance.get("/api/v1/audit?since=2999-01-01").json()["total"] == 0
    assert finance.get("/api/v1/audit?until=2000-01-01").json()["total"] == 0
    periods = finance.get("/api/v1/audit?entity=periods&key=FY2025-M01").json()["items"]
    assert periods and {"field": "status", "before": "open", "after": "calculated"} in periods[-1]["changes"]
    assert_error(finance.get("/api/v1/audit?since=yesterday"), 422, "invalid_input")
    html = signed_in(company, "finance@x.io").get("/admin/audit?entity=users&action=update&key=r2%40x.io").text
    assert 'class="before"' in html and "manager, rep" in html and "1 entr" in html  # lists read as lists
    bad = signed_in(company, "finance@x.io").get("/admin/audit?since=nope")
    assert bad.status_code == 422


def test_each_new_page_links_to_its_section_of_the_guide(engine: Engine) -> None:
    guide = TestClient(create_app(engine, secret=SECRET)).get("/help/web")
    for anchor in ("runs-and-jobs", "run-results", "run-diff", "holds", "users-and-roles", "audit-log"):
        assert f'id="{anchor}"' in guide.text, anchor
