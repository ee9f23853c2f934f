"""Disputes (SQLite and PostgreSQL): the service's states and links to adjustments, the role matrix of every
endpoint, the API's errors and pages, on the small company of `tests.test_access` (R1 under M1; R2 under M1 in
January and M2 from February; R3 under M2; January and February run)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.access import disputes as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.service import approve_for, close_for, decide_adjustment_for
from openspm.cli.main import app
from openspm.close import adjustments as adj
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import build_company, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import SECRET, csrf_of, signed_in

EARNING = {"period": "FY2025-M01", "line_kind": "earning", "line_ref": "ae/commission", "category": "wrong_rate"}


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def raise_as(engine: Engine, email: str, **fields: Any) -> int:
    body = {**EARNING, "description": "the rate should be 6%", **fields}
    return access.raise_dispute_for(engine, who(engine, email), **body).id


def audit_actions(engine: Engine, dispute_id: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [
            (e.action, e.actor)
            for e in session.scalars(
                select(m.AuditEntry)
                .where(m.AuditEntry.entity == "disputes", m.AuditEntry.entity_key == str(dispute_id))
                .order_by(m.AuditEntry.id)
            )
        ]


def test_a_dispute_goes_from_raised_to_resolved_by_a_linked_adjustment(company: Engine) -> None:
    rep, manager, analyst = who(company, "r1@x.io"), who(company, "m1@x.io"), who(company, "analyst@x.io")
    view = access.raise_dispute_for(
        company, rep, **EARNING, description="the rate should be 6%", amount_claimed=Decimal("480.00")
    )
    assert (view.payee, view.state, view.raised_by, view.plan) == ("R1", "open", "r1@x.io", "ae")
    assert view.line_label == "Earning · commission (ae, FY2025-Q1)"
    assert (view.line_amount, view.line_currency) == (Decimal("400.00"), "USD")
    assert (view.amount_claimed, view.currency) == (Decimal("480.00"), "USD")
    assert view.created_at.tzinfo is not None and view.resolved_at is None
    # one active dispute per line; the line must be on the payee's statement; inputs are checked
    with pytest.raises(Conflict, match=f"dispute {view.id} about this line"):
        raise_as(company, "r1@x.io")
    with pytest.raises(NotFound, match="no earning line 'ae/bonus'"):
        raise_as(company, "r1@x.io", line_ref="ae/bonus")
    with pytest.raises(NotFound, match="no credit line 'ae/T2'"):  # R2's deal, not on R1's statement
        raise_as(company, "r1@x.io", line_kind="credit", line_ref="ae/T2")
    with pytest.raises(InvalidInput, match="unknown category"):
        raise_as(company, "r1@x.io", line_kind="payment", line_ref="ae/1", category="grumble")
    with pytest.raises(InvalidInput, match="description"):
        raise_as(company, "r1@x.io", line_kind="payment", line_ref="ae/1", description="   ")

    access.comment_for(company, rep, view.id, "see the attached deal desk approval")
    access.comment_for(company, manager, view.id, "I agreed the 6% with Ann")
    access.comment_for(company, analyst, view.id, "check the plan version", internal=True)
    with pytest.raises(Forbidden, match="internal notes"):
        access.comment_for(company, rep, view.id, "sneaky", internal=True)
    shown = access.dispute_for(company, rep, view.id)
    assert [c.body for c in shown.comments] == ["see the attached deal desk approval", "I agreed the 6% with Ann"]
    assert len(access.dispute_for(company, who(company, "finance@x.io"), view.id).comments) == 3

    assert access.assign_for(company, analyst, view.id).state == "in_review"
    with pytest.raises(InvalidInput, match="not an active admin or comp_analyst"):
        access.assign_for(company, analyst, view.id, "r1@x.io")
    with pytest.raises(InvalidInput, match="reason for the rejection is required"):
        access.reject_for(company, analyst, view.id, "  ")
    with pytest.raises(InvalidInput, match="adjustment of 0"):
        access.resolve_for(company, analyst, view.id, amount=Decimal(0))
    done = access.resolve_for(company, analyst, view.id, amount=Decimal("80.00"), note="rate corrected to 6%")
    assert done.state == "resolved_adjusted" and done.resolved_by == "analyst@x.io" and done.resolved_at is not None
    assert done.adjustment is not None
    assert (done.adjustment.amount, done.adjustment.period, done.adjustment.status) == (
        Decimal("80.00"),
        "FY2025-M01",  # the dispute's month is still open: paid there
        "approved",
    )
    made = next(a for a in adj.adjustments(company) if a.id == done.adjustment.id)
    assert (made.payee, made.reason_code, made.note) == ("R1", "dispute", f"dispute {view.id}: rate corrected to 6%")
    with Session(company) as session:  # linked both ways: the adjustment's dispute is found from its id
        linked = session.scalars(select(m.Dispute.id).where(m.Dispute.adjustment_id == made.id)).one()
        assert linked == view.id and session.get_one(m.Adjustment, made.id).component == "commission"
    # a settled dispute takes no more comments or outcomes, and a paid one does not reopen
    for change in (
        lambda: access.comment_for(company, rep, view.id, "thanks"),
        lambda: access.reject_for(company, analyst, view.id, "no"),
        lambda: access.resolve_for(company, analyst, view.id, amount=Decimal(1)),
        lambda: access.withdraw_for(company, rep, view.id),
        lambda: access.assign_for(company, analyst, view.id),
        lambda: access.reopen_for(company, analyst, view.id, "again"),
    ):
        with pytest.raises(Conflict):
            change()
    history = access.dispute_for(company, rep, view.id).history
    assert [(h.action, h.state) for h in history] == [
        ("insert", "open"),
        ("assign", "in_review"),
        ("resolve", "resolved_adjusted"),
    ]
    assert audit_actions(company, view.id) == [
        ("insert", "r1@x.io"),
        ("assign", "analyst@x.io"),
        ("resolve", "analyst@x.io"),
    ]


def test_rejection_withdrawal_reopening_and_a_closed_months_dispute(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rep, analyst, admin = who(company, "r1@x.io"), who(company, "analyst@x.io"), who(company, "admin@x.io")
    first = raise_as(company, "r1@x.io", line_kind="credit", line_ref="ae/T1", category="wrong_amount")
    rejected = access.reject_for(company, analyst, first, "T1 was booked at 8,000 in the CRM")
    assert (rejected.state, rejected.resolution_note, rejected.assignee) == (
        "rejected",
        "T1 was booked at 8,000 in the CRM",
        "analyst@x.io",
    )
    reopened = access.reopen_for(company, analyst, first, "the rep sent the signed order form")
    assert (reopened.state, reopened.resolved_at, reopened.resolution_note) == ("in_review", None, None)
    assert access.withdraw_for(company, rep, first, "sorted out with my manager").state == "withdrawn"
    assert access.reopen_for(company, admin, first, "raised again by phone").state == "in_review"

    # January closes: a dispute about it is paid by an adjustment in February, the first open month
    assert approve_for(company, admin, "FY2025-M01").status == "approved"
    assert close_for(company, admin, "FY2025-M01").status == "closed"
    late = raise_as(company, "r1@x.io")
    assert access.default_adjustment_month_for(company, analyst, late) == "FY2025-M02"
    with pytest.raises(Conflict, match="FY2025-M01 is closed"):
        access.resolve_for(company, analyst, late, amount=Decimal(5), period="FY2025-M01")
    pending = access.resolve_for(company, analyst, late, amount=Decimal("25.5"), needs_approval=True)
    assert pending.adjustment is not None
    assert (pending.adjustment.period, pending.adjustment.status) == ("FY2025-M02", "pending")
    with pytest.raises(Conflict, match="pending"):
        access.reopen_for(company, analyst, late, "not yet")
    decide_adjustment_for(company, admin, pending.adjustment.id, approve=False, note="not this way")
    assert access.dispute_for(company, rep, late).dispute.adjustment.status == "rejected"  # type: ignore[union-attr]
    back = access.reopen_for(company, analyst, late, "the approver rejected the adjustment")
    assert (back.state, back.adjustment) == ("in_review", None)

    # two analysts resolving at once: the second's adjustment is void (rejected), never paid
    real = adj.add_adjustment

    def racing(engine: Engine, **kwargs: Any) -> adj.AdjustmentView:
        made = real(engine, **kwargs)
        access.reject_for(engine, admin, late, "settled by the other analyst first")
        return made

    monkeypatch.setattr(adj, "add_adjustment", racing)
    with pytest.raises(Conflict, match="settled by someone else meanwhile"):
        access.resolve_for(company, analyst, late, amount=Decimal(7))
    monkeypatch.undo()
    void = [a for a in adj.adjustments(company) if a.amount == Decimal(7)]
    assert [a.status for a in void] == ["rejected"]
    assert access.dispute_for(company, rep, late).dispute.state == "rejected"


def test_who_sees_and_changes_which_disputes(company: Engine) -> None:
    d1 = raise_as(company, "r1@x.io")  # R1, January
    d2 = raise_as(company, "r2@x.io", period="FY2025-M02")  # R2 under M2 in February
    d3 = raise_as(company, "r3@x.io")  # R3 under M2
    d4 = raise_as(company, "analyst@x.io", payee="R2")  # on R2's behalf, January (R2 under M1 then)
    seen = {
        "admin@x.io": {d1, d2, d3, d4},
        "analyst@x.io": {d1, d2, d3, d4},
        "finance@x.io": {d1, d2, d3, d4},
        "m1@x.io": {d1, d4},
        "m2@x.io": {d2, d3},
        "r1@x.io": {d1},
        "r2@x.io": {d2, d4},
        "r3@x.io": {d3},
    }
    for email, ids in seen.items():
        principal = who(company, email)
        assert {d.id for d in access.disputes_for(company, principal).items} == ids, email
        assert sum(access.dispute_counts_for(company, principal).values()) == len(ids), email
        for other in {d1, d2, d3, d4} - ids:
            with pytest.raises(NotFound, match=f"unknown dispute {other}"):
                access.dispute_for(company, principal, other)
    with pytest.raises(NotFound, match="unknown payee 'R3'"):
        access.disputes_for(company, who(company, "r1@x.io"), payee="R3")
    with pytest.raises(NotFound, match="unknown payee 'R2'"):
        raise_as(company, "r1@x.io", payee="R2")
    with pytest.raises(Forbidden, match="only R1 or an admin"):
        raise_as(company, "m1@x.io", payee="R1")
    with pytest.raises(Forbidden):
        raise_as(company, "finance@x.io", payee="R1")
    with pytest.raises(Forbidden, match="read-only"):
        access.comment_for(company, who(company, "finance@x.io"), d1, "hm")
    with pytest.raises(Forbidden, match="only the payee"):
        access.withdraw_for(company, who(company, "m1@x.io"), d1)
    with pytest.raises(Forbidden, match="write scope"):
        access.comment_for(company, who(company, "r1@x.io", frozenset({"read"})), d1, "via a read token")
    changes: list[Callable[[Principal], object]] = [
        lambda p: access.assign_for(company, p, d1),
        lambda p: access.resolve_for(company, p, d1, amount=Decimal(1)),
        lambda p: access.reject_for(company, p, d1, "no"),
        lambda p: access.reopen_for(company, p, d1, "again"),
    ]
    for email in ("finance@x.io", "m1@x.io", "r1@x.io"):
        for change in changes:
            with pytest.raises(Forbidden):
                change(who(company, email))
    assert access.withdraw_for(company, who(company, "r2@x.io"), d4).state == "withdrawn"  # raised for R2


def test_every_endpoint_by_role(company: Engine) -> None:
    """Status per role × endpoint through the API with tokens; errors shaped `{"error", "detail"}`."""
    roles = {
        "admin": "admin@x.io",
        "analyst": "analyst@x.io",
        "finance": "finance@x.io",
        "manager": "m1@x.io",
        "rep": "r1@x.io",
        "other_rep": "r3@x.io",
    }
    clients = {role: client_with_token(company, email) for role, email in roles.items()}
    anonymous = TestClient(create_app(company, secret=SECRET))
    d1 = raise_as(company, "r1@x.io")
    endpoints = [
        ("GET", "/api/v1/disputes", None),
        ("POST", "/api/v1/disputes", {**EARNING, "description": "x"}),
        ("GET", f"/api/v1/disputes/{d1}", None),
        ("POST", f"/api/v1/disputes/{d1}/comments", {"body": "x"}),
        ("POST", f"/api/v1/disputes/{d1}/assign", None),
        ("POST", f"/api/v1/disputes/{d1}/resolve", {"outcome": "reject", "note": "x"}),
        ("POST", f"/api/v1/disputes/{d1}/withdraw", None),
        ("POST", f"/api/v1/disputes/{d1}/reopen", {"reason": "x"}),
    ]
    for method, path, body in endpoints:
        assert_error(anonymous.request(method, path, json=body), 401, "unauthorized")

    def status(role: str, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        answer = clients[role].request(method, path, json=body)
        if answer.status_code >= 400:
            assert set(answer.json()) == {"error", "detail"}, answer.text
        return answer.status_code

    raise_r1 = {**EARNING, "line_kind": "payment", "line_ref": "ae/1", "description": "the payment is short"}
    assert status("other_rep", "POST", "/api/v1/disputes", {**raise_r1, "payee": "R1"}) == 404
    assert status("manager", "POST", "/api/v1/disputes", {**raise_r1, "payee": "R1"}) == 403
    assert status("finance", "POST", "/api/v1/disputes", {**raise_r1, "payee": "R1"}) == 403
    assert status("rep", "POST", "/api/v1/disputes", raise_r1) == 201
    assert status("rep", "POST", "/api/v1/disputes", raise_r1) == 409  # the same line again
    credit = {**EARNING, "line_kind": "credit", "line_ref": "ae/T1", "description": "split 50/50", "payee": "R1"}
    assert status("analyst", "POST", "/api/v1/disputes", credit) == 201
    reader = client_with_token(company, "r1@x.io", "read")
    missing = {**EARNING, "line_kind": "transaction", "line_ref": "T-999", "description": "not credited"}
    assert_error(reader.post("/api/v1/disputes", json=missing), 403, "forbidden")

    detail = {"admin": 200, "analyst": 200, "finance": 200, "manager": 200, "rep": 200, "other_rep": 404}
    for role, expected in detail.items():
        assert status(role, "GET", f"/api/v1/disputes/{d1}") == expected, role
    comments = {"admin": 201, "analyst": 201, "finance": 403, "manager": 201, "rep": 201, "other_rep": 404}
    for role, expected in comments.items():
        assert status(role, "POST", f"/api/v1/disputes/{d1}/comments", {"body": f"from {role}"}) == expected, role
    assert status("rep", "POST", f"/api/v1/disputes/{d1}/comments", {"body": "x", "internal": True}) == 403
    for action, body in (
        ("assign", None),
        ("resolve", {"outcome": "reject", "note": "no"}),
        ("reopen", {"reason": "r"}),
    ):
        for role in ("finance", "manager", "rep"):
            assert status(role, "POST", f"/api/v1/disputes/{d1}/{action}", body) == 403, (role, action)
        assert status("other_rep", "POST", f"/api/v1/disputes/{d1}/{action}", body) in (403, 404), action
    assert status("manager", "POST", f"/api/v1/disputes/{d1}/withdraw") == 403
    assert status("other_rep", "POST", f"/api/v1/disputes/{d1}/withdraw") == 404
    assert status("analyst", "POST", f"/api/v1/disputes/{d1}/assign", {"assignee": "admin@x.io"}) == 200
    assert status("analyst", "POST", f"/api/v1/disputes/{d1}/assign", {"assignee": "r1@x.io"}) == 422
    assert status("analyst", "POST", f"/api/v1/disputes/{d1}/resolve", {"outcome": "reject"}) == 422
    assert status("analyst", "POST", f"/api/v1/disputes/{d1}/resolve", {"outcome": "adjust"}) == 422
    resolved = clients["analyst"].post(f"/api/v1/disputes/{d1}/resolve", json={"outcome": "adjust", "amount": "80.10"})
    assert resolved.status_code == 200, resolved.text
    out = resolved.json()
    assert out["state"] == "resolved_adjusted" and out["assignee"] == "admin@x.io"
    assert out["adjustment"]["amount"] == "80.10" and out["adjustment"]["period"] == "FY2025-M01"
    assert out["line_amount"] == "400.00" and out["adjustment"]["status"] == "approved"
    assert_error(
        clients["admin"].post(f"/api/v1/disputes/{d1}/resolve", json={"outcome": "reject", "note": "x"}),
        409,
        "conflict",
    )
    assert_error(clients["rep"].post(f"/api/v1/disputes/{d1}/withdraw"), 409, "conflict")
    assert_error(clients["analyst"].post(f"/api/v1/disputes/{d1}/reopen", json={"reason": "x"}), 409, "conflict")
    seen = clients["rep"].get(f"/api/v1/disputes/{d1}").json()
    assert [c["body"] for c in seen["comments"]] == ["from admin", "from analyst", "from manager", "from rep"]
    assert [h["action"] for h in seen["history"]] == ["insert", "assign", "resolve"]
    assert seen["state_label"] == "Resolved: adjusted"


def test_lists_filter_and_page_and_bad_input_answers_422(company: Engine) -> None:
    ids = [
        raise_as(company, "r1@x.io"),
        raise_as(company, "r1@x.io", line_kind="payment", line_ref="ae/1"),
        raise_as(company, "r1@x.io", period="FY2025-M02"),
        raise_as(company, "r3@x.io", line_kind="other", line_ref=None, category="other"),
    ]
    analyst = who(company, "analyst@x.io")
    access.reject_for(company, analyst, ids[1], "the payment matches the earning")
    api = client_with_token(company, "finance@x.io", "read")
    page = api.get("/api/v1/disputes?limit=2&offset=1").json()
    assert page["total"] == 4 and [d["id"] for d in page["items"]] == [ids[2], ids[1]]  # newest first
    assert page["counts"] == {"open": 3, "in_review": 0, "resolved_adjusted": 0, "rejected": 1, "withdrawn": 0}
    inbox = api.get("/api/v1/disputes?state=open&state=in_review&order=oldest").json()
    assert [d["id"] for d in inbox["items"]] == [ids[0], ids[2], ids[3]]
    assert [d["id"] for d in api.get("/api/v1/disputes?period=FY2025-M02").json()["items"]] == [ids[2]]
    by_payee = api.get("/api/v1/disputes?payee=R3").json()
    assert [d["id"] for d in by_payee["items"]] == [ids[3]] and by_payee["counts"]["open"] == 1
    assert by_payee["items"][0]["line_label"] == "Other" and by_payee["items"][0]["line_kind"] == "other"
    assert [d["id"] for d in api.get("/api/v1/disputes?assignee=analyst@x.io").json()["items"]] == [ids[1]]
    assert len(api.get("/api/v1/disputes?assignee=-").json()["items"]) == 3
    assert_error(api.get("/api/v1/disputes?state=lost"), 422, "invalid_input")
    assert_error(api.get("/api/v1/disputes?limit=0"), 422, "invalid_input")
    assert_error(api.get("/api/v1/disputes?payee=NOBODY"), 404, "not_found")
    assert_error(api.get("/api/v1/disputes/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/disputes/0"), 422, "invalid_input")
    writer = client_with_token(company, "analyst@x.io")
    for body in (
        {**EARNING},  # no description
        {**EARNING, "description": "x", "colour": "red"},
        {**EARNING, "description": "x", "category": "grumble"},
        {**EARNING, "description": "x\x00y", "payee": "R1"},
        {**EARNING, "description": "x", "payee": "R1", "amount_claimed": "NaN"},
        {**EARNING, "description": "x", "payee": "R1", "line_ref": None},
    ):
        assert_error(writer.post("/api/v1/disputes", json=body), 422, "invalid_input")
    assert_error(writer.post(f"/api/v1/disputes/{ids[0]}/comments", json={"body": ""}), 422, "invalid_input")
    assert_error(writer.post(f"/api/v1/disputes/{ids[0]}/reopen", json={}), 422, "invalid_input")


def test_pages_raise_from_the_statement_work_the_inbox_and_show_the_outcome(company: Engine) -> None:
    rep = signed_in(company, "r1@x.io")
    statement = rep.get("/statements/FY2025-M01/R1")
    assert statement.status_code == 200
    assert statement.text.count("Dispute this line") == 2  # the earning and the payment line
    assert 'href="/disputes"' in statement.text  # the nav link
    inline = rep.get("/disputes/new?period=FY2025-M01&payee=R1&kind=earning&ref=ae/commission&inline=1")
    assert inline.status_code == 200 and "<html" not in inline.text
    assert 'name="line" value="earning|ae/commission"' in inline.text
    token = csrf_of(rep, "/statements/FY2025-M01/R1")
    form = {"period": "FY2025-M01", "payee": "R1", "line": "earning|ae/commission", "category": "wrong_rate"}
    no_csrf = rep.post("/disputes", data={**form, "description": "x"}, follow_redirects=False)
    assert no_csrf.status_code == 403
    empty = rep.post("/disputes", data={**form, "csrf_token": token, "description": " "})
    assert empty.status_code == 422 and "description of what is wrong is required" in empty.text
    made = rep.post(
        "/disputes",
        data={**form, "csrf_token": token, "description": "rate should be 6%", "amount_claimed": "480"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    dispute_id = int(re.search(r"/disputes/(\d+)", made.headers["location"]).group(1))  # type: ignore[union-attr]
    mine = rep.get("/disputes")
    assert "My disputes" in mine.text and f'href="/disputes/{dispute_id}"' in mine.text
    fragment = rep.get("/disputes/on-statement/FY2025-M01/R1")
    assert f'href="/disputes/{dispute_id}"' in fragment.text and "Open" in fragment.text
    assert signed_in(company, "r3@x.io").get(f"/disputes/{dispute_id}").status_code == 404
    manager = signed_in(company, "m1@x.io")
    team = manager.get("/disputes")
    assert "Team disputes" in team.text and f'href="/disputes/{dispute_id}"' in team.text
    assert "Withdraw dispute" not in manager.get(f"/disputes/{dispute_id}").text  # not theirs to withdraw
    assert f'href="/disputes/{dispute_id}"' not in signed_in(company, "m2@x.io").get("/disputes").text

    finance = signed_in(company, "finance@x.io")
    assert "Disputes inbox" in finance.get("/disputes").text
    assert "Resolve with adjustment" not in finance.get(f"/disputes/{dispute_id}").text
    forbidden = finance.post(
        f"/disputes/{dispute_id}/resolve",
        data={"csrf_token": csrf_of(finance, "/disputes"), "outcome": "reject", "note": "x"},
    )
    assert forbidden.status_code == 403

    analyst = signed_in(company, "analyst@x.io")
    inbox = analyst.get("/disputes")
    assert re.search(r'data-state="active">1<', inbox.text) and f'href="/disputes/{dispute_id}"' in inbox.text
    token = csrf_of(analyst, f"/disputes/{dispute_id}")
    page = analyst.get(f"/disputes/{dispute_id}").text
    assert 'value="FY2025-M01"' in page and "Take it" in page
    refused = analyst.post(f"/disputes/{dispute_id}/resolve", data={"csrf_token": token, "outcome": "reject"})
    assert refused.status_code == 422 and "reason for the rejection is required" in refused.text
    analyst.post(f"/disputes/{dispute_id}/assign", data={"csrf_token": token})
    note = analyst.post(
        f"/disputes/{dispute_id}/comment", data={"csrf_token": token, "body": "plan v2 says 6%", "internal": "1"}
    )
    assert note.status_code == 200 and "internal note" in note.text
    done = analyst.post(
        f"/disputes/{dispute_id}/resolve",
        data={"csrf_token": token, "outcome": "adjust", "amount": "80.00", "note": "rate corrected"},
    )
    assert done.status_code == 200 and "Resolved with an adjustment" in done.text
    twice = analyst.post(
        f"/disputes/{dispute_id}/resolve", data={"csrf_token": token, "outcome": "reject", "note": "x"}
    )
    assert twice.status_code == 409 and "resolved adjusted; it cannot be rejected" in twice.text

    outcome = rep.get(f"/disputes/{dispute_id}").text
    assert "80.00 USD paid in FY2025-M01" in outcome and "rate corrected" in outcome
    assert "plan v2 says 6%" not in outcome  # the internal note stays with the analysts
    assert "Withdraw dispute" not in outcome
    assert 'href="/help/web#disputes"' in outcome and 'id="disputes"' in rep.get("/help/web").text


def test_the_command_line_lists_shows_resolves_and_rejects(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    monkeypatch.setenv("USER", "ops")
    first = raise_as(company, "r1@x.io", amount_claimed=Decimal("480"))
    second = raise_as(company, "r3@x.io")
    runner = CliRunner()
    listed = runner.invoke(app, ["dispute", "list", "--active", "--json"])
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert [d["id"] for d in data["items"]] == [first, second] and data["counts"]["open"] == 2
    assert data["items"][0]["amount_claimed"] == "480"
    resolved = runner.invoke(app, ["dispute", "resolve", str(first), "--amount", "80.00", "--note", "rate fixed"])
    assert resolved.exit_code == 0, resolved.output
    assert re.search(
        rf"dispute {first}: resolved by adjustment \d+ \(80\.00 USD in FY2025-M01, approved\)", resolved.stdout
    )
    shown = runner.invoke(app, ["dispute", "show", str(first)])
    assert "Resolved: adjusted" in shown.stdout and "resolve → resolved_adjusted" in shown.stdout
    again = runner.invoke(app, ["dispute", "reject", str(first), "--reason", "no"])
    assert again.exit_code == 4 and again.stderr.startswith(f"error: dispute {first} is resolved adjusted")
    assert runner.invoke(app, ["dispute", "reject", str(second), "--reason", "credited correctly"]).exit_code == 0
    table = runner.invoke(app, ["dispute", "list", "--state", "rejected"])
    assert table.exit_code == 0 and "rejected: 1" in table.stdout
    rejected = json.loads(runner.invoke(app, ["dispute", "list", "--state", "rejected", "--json"]).stdout)["items"]
    assert [(d["id"], d["resolution_note"]) for d in rejected] == [(second, "credited correctly")]
    assert runner.invoke(app, ["dispute", "show", "999"]).stderr.strip() == "error: unknown dispute 999"
