"""Plans through the API and the pages (SQLite and PostgreSQL): who reads which plan, validation naming the key
path, publishing a version effective from a date (checked first, audited, refused in a closed month) that the
next run then uses, diffs of two versions, and who may publish."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.close.service import approve, close
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import PLAN, build_company
from tests.test_api import ROLES, assert_error, client_with_token
from tests.test_web import SECRET, csrf_of, signed_in

RICHER = PLAN.replace("rate: 0.05}", "rate: 0.08}")
SPIFF = PLAN.replace("plan: ae", "plan: spiff").replace("name: AE plan", "name: Spiff")


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    build_company(engine, write)
    add_plan(engine, write("spiff.yaml", SPIFF), actor="test")  # a plan nobody is assigned to
    return engine


def publish(client: TestClient, plan: str, document: str, effective_from: str | None = None) -> object:
    body = {"document": document, **({"effective_from": effective_from} if effective_from else {})}
    return client.post(f"/api/v1/plans/{plan}/versions", json=body)


def earning_versions(engine: Engine, period: str) -> set[int]:
    with Session(engine) as session:
        run_id = session.scalars(
            select(m.Run.id).where(m.Run.period == period, m.Run.status == "completed").order_by(m.Run.id.desc())
        ).first()
        traces = session.scalars(select(m.RunEarning.trace).where(m.RunEarning.run_id == run_id))
        return {int(t["plan_version"]) for t in traces}


def test_each_role_reads_the_plans_it_may_see(company: Engine) -> None:
    seen = {}
    for role, email in ROLES.items():
        client = client_with_token(company, email, scope="read")
        seen[role] = [p["plan"] for p in client.get("/api/v1/plans").json()["items"]]
    assert seen == {
        "admin": ["ae", "spiff"],
        "analyst": ["ae", "spiff"],
        "finance": ["ae", "spiff"],
        "manager": ["ae", "spiff"],
        "rep": ["ae"],  # only the plans they are assigned to
        "other_rep": ["ae"],
    }
    rep = client_with_token(company, ROLES["rep"], scope="read")
    assert_error(rep.get("/api/v1/plans/spiff/versions"), 404, "not_found")
    assert_error(rep.get("/api/v1/plans/spiff/versions/1.yaml"), 404, "not_found")
    assert rep.get("/api/v1/plans/ae/versions/1.yaml").text == PLAN.lstrip("\n")
    ae = client_with_token(company, ROLES["finance"]).get("/api/v1/plans").json()["items"][0]
    assert (ae["versions"], ae["newest"], ae["in_force"], ae["currency"]) == (1, 1, 1, "USD")
    admin = client_with_token(company, ROLES["admin"])
    assert_error(admin.get("/api/v1/plans/nope/versions"), 404, "not_found")
    assert_error(admin.get("/api/v1/plans/ae/versions/9"), 404, "not_found")
    assert_error(TestClient(admin.app).get("/api/v1/plans"), 401, "unauthorized")
    schema = admin.get("/api/v1/plans/schema").json()
    assert schema["title"].startswith("openspm plan file") and "components" in schema["properties"]


def test_validation_names_the_file_and_the_key_path_and_stores_nothing(company: Engine) -> None:
    client = client_with_token(company, ROLES["rep"], scope="read")
    broken = PLAN.replace("rate: 0.10}", "rate: lots}")
    answer = client.post("/api/v1/plans/validate", json={"document": broken, "source": "ae.yaml"}).json()
    assert answer["valid"] is False
    error = answer["errors"][0]
    assert error["key"] == "components[commission].tiers[1].rate"
    assert error["message"] == f"ae.yaml @ {error['key']}: {error['problem']}"
    unknown = client.post("/api/v1/plans/validate", json={"document": PLAN.replace("sum: amount", "sums: amount")})
    assert unknown.json()["errors"][0]["message"].startswith("plan.yaml @ measures[bookings].sums: unknown key")
    good = client.post("/api/v1/plans/validate", json={"document": PLAN}).json()
    assert good == {
        "valid": True,
        "plan": "ae",
        "name": "AE plan",
        "measures": ["bookings"],
        "components": ["commission"],
        "errors": [],
    }
    assert_error(client.post("/api/v1/plans/validate", json={"text": PLAN}), 422, "invalid_input")


def test_publish_makes_an_effective_dated_version_that_the_next_run_uses(company: Engine) -> None:
    analyst = client_with_token(company, ROLES["analyst"])
    answer = publish(analyst, "ae", RICHER, "2025-03-01")
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    version = answer.json()  # type: ignore[attr-defined]
    assert (version["version"], version["effective_from"], version["published_by"]) == (
        2,
        "2025-03-01",
        ROLES["analyst"],
    )
    versions = analyst.get("/api/v1/plans/ae/versions").json()["items"]
    assert [(v["version"], v["effective_from"], v["applies_to"]) for v in versions] == [
        (2, "2025-03-01", None),
        (1, "2025-01-01", "2025-03-01"),
    ]
    stored = analyst.get("/api/v1/plans/ae/versions/2").json()["document"]
    assert "effective_from: 2025-03-01" in stored and "rate: 0.08}" in stored  # the chosen date is in the document
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "plan_versions", m.AuditEntry.entity_key == "ae / 2")
        ).one()
        assert entry.actor == ROLES["analyst"] and entry.after is not None
        assert entry.after["effective_from"] == "2025-03-01"
    run_period(company, "FY2025-M03", actor="test")
    run_period(company, "FY2025-M02", actor="test")
    assert earning_versions(company, "FY2025-M03") == {2} and earning_versions(company, "FY2025-M02") == {1}

    diff = analyst.get("/api/v1/plans/ae/diff?old=1&new=2").json()
    assert diff["changes"] == ["component commission changed", "effective_from changed"]
    assert (
        "-      - {from: 0, to: 1, rate: 0.05}" in diff["lines"]
        and "+      - {from: 0, to: 1, rate: 0.08}" in diff["lines"]
    )
    assert_error(publish(analyst, "ae", stored), 409, "conflict")  # the same as the newest: nothing to publish


def test_publish_checks_everything_before_writing_and_refuses_a_closed_month(company: Engine) -> None:
    admin = client_with_token(company, ROLES["admin"])
    broken = publish(admin, "ae", RICHER.replace("kind: tiered_rate", "kind: tiered"), "2025-03-01")
    assert_error(broken, 422, "invalid_input")
    assert broken.json()["detail"].startswith("ae.yaml @ components[commission]: unknown component kind")  # type: ignore[attr-defined]
    assert_error(publish(admin, "ae", SPIFF), 422, "invalid_input")  # another plan's document
    assert_error(publish(admin, "ae", RICHER, "2025-13-01"), 422, "invalid_input")
    approve(company, "FY2025-M01", actor="test")
    close(company, "FY2025-M01", actor="test")
    refused = publish(admin, "ae", RICHER, "2025-01-15")
    assert_error(refused, 409, "conflict")
    detail = refused.json()["detail"]  # type: ignore[attr-defined]
    assert detail.startswith("FY2025-M01 is closed") and "2025-02-01 or later" in detail
    assert [v["version"] for v in admin.get("/api/v1/plans/ae/versions").json()["items"]] == [1]  # nothing written
    assert publish(admin, "ae", RICHER, "2025-02-01").status_code == 201  # type: ignore[attr-defined]


def test_only_admin_and_comp_analyst_publish(company: Engine) -> None:
    for month, (role, email) in enumerate(ROLES.items(), start=4):
        answer = publish(
            client_with_token(company, email), "spiff", SPIFF.replace("0.05", "0.06"), f"2025-{month:02}-01"
        )
        if role in ("admin", "analyst"):
            assert answer.status_code == 201, (role, answer.text)  # type: ignore[attr-defined]
        else:
            assert_error(answer, 403, "forbidden")
    assert_error(
        publish(client_with_token(company, ROLES["admin"], scope="read"), "spiff", SPIFF, "2025-05-01"),
        403,
        "forbidden",
    )
    assert_error(publish(TestClient(client_with_token(company, ROLES["admin"]).app), "ae", PLAN), 401, "unauthorized")


def test_pages_list_view_diff_edit_validate_and_publish(company: Engine) -> None:
    analyst = signed_in(company, ROLES["analyst"])
    listing = analyst.get("/plans")
    assert listing.status_code == 200 and 'href="/plans/ae"' in listing.text and "Edit as new draft" in listing.text
    editor = analyst.get("/plans/ae/edit")
    assert editor.status_code == 200 and 'hx-post="/plans/validate"' in editor.text and "No problems" in editor.text
    token = csrf_of(analyst, "/plans/ae/edit")
    fragment = analyst.post(
        "/plans/validate",
        data={"document": PLAN.replace("rate: 0.10}", "rate: lots}"), "plan": "ae"},
        headers={"X-CSRF-Token": token},
    )
    assert fragment.status_code == 200 and "ae.yaml @ components[commission].tiers[1].rate" in fragment.text
    assert analyst.post("/plans/validate", data={"document": PLAN}).status_code == 403  # no CSRF token
    form = {"csrf_token": token, "document": RICHER, "effective_from": "2025-03-01", "note": "richer base rate"}
    done = analyst.post("/plans/ae/publish", data=form)
    assert done.status_code == 200 and "version 2 published, effective from 2025-03-01" in done.text
    assert "v2" in done.text and ROLES["analyst"] in done.text
    again = analyst.post("/plans/ae/publish", data=form)
    assert again.status_code == 409 and "nothing to publish" in again.text and "<textarea" in again.text
    diff = analyst.get("/plans/ae/diff?old=1&new=2")
    assert diff.status_code == 200 and '<span class="add">' in diff.text and '<span class="del">' in diff.text
    assert "component commission changed" in diff.text
    assert "rate: 0.08" in analyst.get("/plans/ae/versions/2").text

    rep = signed_in(company, ROLES["rep"])
    assert rep.get("/plans").status_code == 200 and "spiff" not in rep.get("/plans").text
    assert rep.get("/plans/spiff").status_code == 404 and rep.get("/plans/ae/versions/1").status_code == 200
    assert rep.get("/plans/ae/edit").status_code == 403
    finance = signed_in(company, ROLES["finance"])
    assert "Edit as new draft" not in finance.get("/plans/ae").text
    ftoken = csrf_of(finance, "/plans/ae")
    assert finance.post("/plans/ae/publish", data={**form, "csrf_token": ftoken}).status_code == 403
    assert re.search(r'<a href="/plans">Plans</a>', finance.get("/plans").text)


def test_the_help_guide_has_the_sections_the_pages_link_to(engine: Engine) -> None:
    guide = TestClient(create_app(engine, secret=SECRET)).get("/help/web").text
    for anchor in ("imports", "import-results", "plans", "plan-versions", "plan-diff", "plan-editor"):
        assert f'id="{anchor}"' in guide, anchor
