"""Approvals that fall to a manager: pending adjustments of their team as of the adjustment's month, on the
/approvals page and through the API; never one outside their team (404) or one that pays themselves (403)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.close.adjustments import add_adjustment
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import assert_error, client_with_token
from tests.test_web import signed_in


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def _pending(engine: Engine, payee: str, amount: str) -> int:
    view = add_adjustment(
        engine,
        payee=payee,
        plan="ae",
        period="FY2025-M02",
        amount=Decimal(amount),
        reason_code="correction",
        actor="analyst@x.io",
        needs_approval=True,
    )
    return view.id


def _status(engine: Engine, adjustment_id: int) -> tuple[str, str | None]:
    with Session(engine) as session:
        row = session.get_one(m.Adjustment, adjustment_id)
        return row.status, row.decided_by


def test_a_manager_decides_their_teams_pending_adjustments_and_nothing_else(company: Engine) -> None:
    on_team = _pending(company, "R1", "-10.00")  # R1 reports to M1
    moved_away = _pending(company, "R2", "20.00")  # R2 reports to M2 from February
    pays_m1 = _pending(company, "M1", "30.00")

    page = signed_in(company, "m1@x.io")
    listed = page.get("/approvals")
    assert listed.status_code == 200
    ids = {int(i) for i in re.findall(r'<td class="num">(\d+)</td>', listed.text)}
    assert ids == {on_team, pays_m1}  # R2 is not M1's in February
    assert f'action="/approvals/{on_team}/approve"' in listed.text
    assert f'action="/approvals/{pays_m1}/approve"' not in listed.text and "not yours to decide" in listed.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', listed.text)
    assert token is not None
    done = page.post(f"/approvals/{on_team}/approve", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/approvals?done=")
    assert _status(company, on_team) == ("approved", "m1@x.io")
    refused = page.post(f"/approvals/{pays_m1}/approve", data={"csrf_token": token.group(1)})
    assert refused.status_code == 403 and "pays you" in refused.text
    no_csrf = page.post(f"/approvals/{moved_away}/approve", data={})
    assert no_csrf.status_code == 403

    manager = client_with_token(company, "m1@x.io")
    assert_error(manager.post(f"/api/v1/adjustments/{moved_away}/approve"), 404, "not_found")
    assert_error(manager.post(f"/api/v1/adjustments/{pays_m1}/approve"), 403, "forbidden")
    assert_error(
        client_with_token(company, "m1@x.io", "read").post(f"/api/v1/adjustments/{pays_m1}/reject"), 403, "forbidden"
    )
    for email in ("r1@x.io", "finance@x.io"):
        assert_error(
            client_with_token(company, email).post(f"/api/v1/adjustments/{moved_away}/reject"), 403, "forbidden"
        )
    assert _status(company, moved_away) == ("pending", None)

    rejected = client_with_token(company, "m2@x.io").post(
        f"/api/v1/adjustments/{moved_away}/reject", json={"note": "no such deal"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    by_admin = client_with_token(company, "admin@x.io").post(f"/api/v1/adjustments/{pays_m1}/approve")
    assert by_admin.status_code == 200 and by_admin.json()["status"] == "approved"


def test_approvals_are_audited_with_the_manager_as_actor_and_the_page_lists_nothing_for_a_rep(company: Engine) -> None:
    pending = _pending(company, "R3", "5.00")
    answer = client_with_token(company, "m2@x.io").post(f"/api/v1/adjustments/{pending}/approve")
    assert answer.status_code == 200
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "adjustments", m.AuditEntry.action == "approve")
        ).one()
        assert (entry.actor, entry.entity_key, entry.after) == ("m2@x.io", str(pending), {"status": "approved"})
    rep_page = signed_in(company, "r3@x.io").get("/approvals")
    assert rep_page.status_code == 200 and "Nothing is waiting for approval." in rep_page.text
    assert 'href="/approvals"' not in rep_page.text  # no nav link for a rep
