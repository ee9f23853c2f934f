"""Territory scenarios over the store (SQLite and PostgreSQL): a design drafted from the accounts in effect on a
day balances within the tolerance, its author cannot approve it, publishing writes effective-dated rows that a
later read sees, closed months and a store that moved on are refused; the design runs as a job with progress;
the API and pages by role."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.entities import account_for
from openspm.core.errors import Conflict
from openspm.ingest.service import import_file
from openspm.jobs.queue import InProcessQueue
from openspm.jobs.territory_designs import submit_design
from openspm.planning.territory_scenarios import (
    TerritoryParams,
    decide,
    draft_territories,
    publish,
    territory_draft,
)
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import signed_in

# X1 holds 400 of the 600 potential, X2 150, X3 50: the band at ±5% is [190, 210]. B1 is locked in X1.
ACCOUNTS = (
    "id,name,latitude,longitude,potential,attr.locked\n"
    "B1,North One,47.6,-122.3,100,true\nB2,North Two,47.5,-122.2,100,\nB3,North Three,47.4,-122.1,100,\n"
    "B4,North Four,47.3,-122.0,100,\nB5,Mid One,39.7,-104.9,100,\nB6,Mid Two,39.6,-104.8,50,\n"
    "B7,South One,32.7,-96.8,50,\n"
)
TERRITORIES = "id,name,parent\nNA,North America,\nX1,North,NA\nX2,Mid,NA\nX3,South,NA\n"
CURRENT = (
    "account,territory,effective_from\nB1,X1,2025-01-01\nB2,X1,2025-01-01\nB3,X1,2025-01-01\nB4,X1,2025-01-01\n"
    "B5,X2,2025-01-01\nB6,X2,2025-01-01\nB7,X3,2025-01-01\n"
)
PARAMS = TerritoryParams(on=date(2025, 3, 1), tolerance=Decimal("0.05"), solver="highs", time_limit=20)


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    build_company(engine, write)
    for kind, body in (("accounts", ACCOUNTS), ("territories", TERRITORIES), ("account_territories", CURRENT)):
        report = import_file(engine, kind, write(f"terr-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    return engine


def _territory_rows(engine: Engine, account: str) -> list[tuple[str, date, date | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(m.Territory.external_id, m.AccountTerritory.effective_from, m.AccountTerritory.effective_to)
            .join(m.AccountTerritory, m.AccountTerritory.territory_id == m.Territory.id)
            .join(m.Account, m.Account.id == m.AccountTerritory.account_id)
            .where(m.Account.external_id == account)
            .order_by(m.AccountTerritory.effective_from)
        ).all()
    return [(t, f, e) for t, f, e in rows]


def test_a_draft_balances_within_the_tolerance_and_publishes_effective_dated_rows(company: Engine) -> None:
    phases: list[tuple[float, str]] = []
    draft = draft_territories(
        company, PARAMS, name="rebalance", actor="analyst@x.io", progress=lambda f, t: phases.append((f, t))
    )
    assert draft.status == "draft" and draft.solve_status == "optimal"
    assert draft.in_band_before == 0 and draft.in_band == 3
    assert {t.territory: t.totals["potential"] for t in draft.totals} == {
        "X1": Decimal(200),
        "X2": Decimal(200),
        "X3": Decimal(200),
    }
    assert len(draft.moves) == 3 and draft.objective == 3 and draft.bound == 3 and draft.gap == 0
    assert "B1" not in {mv.account for mv in draft.moves}  # locked
    assert draft.start["B7"] == "X3" and draft.accounts == 7
    assert phases[0][0] == 0 and phases[-1] == (1.0, f"draft {draft.id} stored")
    assert any("exact solve (highs)" in text for _, text in phases)
    assert [f for f, _ in phases] == sorted(f for f, _ in phases)

    with pytest.raises(Conflict, match="someone else must decide it"):
        decide(company, draft.id, "analyst@x.io", True)
    with pytest.raises(Conflict, match="only an approved scenario is published"):
        publish(company, draft.id, "analyst@x.io", date(2025, 4, 1))
    assert decide(company, draft.id, "m1@x.io", True, "fine").status == "approved"

    moved = {mv.account: mv for mv in draft.moves}
    assert publish(company, draft.id, "analyst@x.io", date(2025, 4, 1)) == 3
    for account, move in moved.items():
        assert _territory_rows(company, account) == [
            (move.source, date(2025, 1, 1), date(2025, 4, 1)),
            (move.target, date(2025, 4, 1), None),
        ]
        admin = who(company, "admin@x.io")
        assert account_for(company, admin, account, date(2025, 3, 31)).territory == move.source
        assert account_for(company, admin, account, date(2025, 4, 2)).territory == move.target
    assert _territory_rows(company, "B1") == [("X1", date(2025, 1, 1), None)]
    with Session(company) as session:
        entries = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.entity == "account_territories", m.AuditEntry.actor == "analyst@x.io"
            )
        ).all()
    assert sorted(e.entity_key for e in entries) == sorted(f"{a}@2025-04-01" for a in moved)
    published = territory_draft(company, draft.id)
    assert published.status == "published" and published.effective_from == date(2025, 4, 1)
    with pytest.raises(Conflict, match="published"):
        publish(company, draft.id, "analyst@x.io", date(2025, 5, 1))


def test_closed_months_and_a_changed_store_are_refused(company: Engine) -> None:
    draft = draft_territories(company, PARAMS, name="rebalance", actor="analyst@x.io")
    decide(company, draft.id, "admin@x.io", True)
    with Session(company) as session, session.begin():
        session.scalars(select(m.Period).where(m.Period.name == "FY2025-M04")).one().status = "closed"
    with pytest.raises(Conflict, match=r"closed months never change \(FY2025-M04\)"):
        publish(company, draft.id, "analyst@x.io", date(2025, 3, 15))
    with Session(company) as session, session.begin():  # B7 moved to X2 behind the draft's back
        b7 = session.scalars(select(m.Account.id).where(m.Account.external_id == "B7")).one()
        x2 = session.scalars(select(m.Territory.id).where(m.Territory.external_id == "X2")).one()
        session.scalars(select(m.AccountTerritory).where(m.AccountTerritory.account_id == b7)).one().territory_id = x2
    with pytest.raises(Conflict, match="B7 is in X2, the draft started from X3"):
        publish(company, draft.id, "analyst@x.io", date(2025, 5, 1))
    assert _territory_rows(company, "B2")[0][2] is None  # nothing written


def test_the_scope_is_the_leaves_or_a_parents_children(company: Engine) -> None:
    from openspm.core.errors import InvalidInput, NotFound

    scoped = draft_territories(company, replace(PARAMS, parent="NA", solver="greedy"), name="NA", actor="a")
    assert [t.territory for t in scoped.totals] == ["X1", "X2", "X3"] and scoped.accounts == 7
    with pytest.raises(InvalidInput, match="X1 has 0 child territories"):
        draft_territories(company, replace(PARAMS, parent="X1"), name="x", actor="a")
    with pytest.raises(NotFound, match="unknown territory 'EU'"):
        draft_territories(company, replace(PARAMS, parent="EU"), name="x", actor="a")
    with pytest.raises(InvalidInput, match="no accounts are in the territories in scope on 2024-01-01"):
        draft_territories(company, replace(PARAMS, on=date(2024, 1, 1)), name="x", actor="a")
    with pytest.raises(InvalidInput, match="measure 'revenue'"):
        draft_territories(company, replace(PARAMS, measures=("revenue",)), name="x", actor="a")


def test_a_design_runs_as_a_job_to_its_draft(company: Engine) -> None:
    queue = InProcessQueue(company)
    try:
        job = submit_design(company, queue, PARAMS, "as a job", "analyst@x.io")
        assert job.state == "queued" and job.params["on"] == "2025-03-01" and job.params["measures"] == ["potential"]
        done = queue.wait(job.id, timeout=60)
    finally:
        queue.shutdown()
    assert done.state == "succeeded" and done.progress == 1, done.error
    assert done.message == f"draft {done.result['scenario']}: optimal, 3 moves"  # type: ignore[index]
    assert done.result is not None and done.result["moves"] == 3 and done.result["in_band"] == 3
    assert territory_draft(company, done.result["scenario"]).name == "as a job"


def _wait(client: object, job_id: int) -> dict[str, object]:
    for _ in range(300):
        job = client.get(f"/api/v1/jobs/{job_id}").json()  # type: ignore[attr-defined]
        if job["state"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the design job did not finish")


def test_the_territory_draft_api_by_role(company: Engine) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    body = {"on": "2025-03-01", "tolerance": "0.05", "solver": "greedy", "time_limit": 5, "name": "api"}
    started = analyst.post("/api/v1/planning/territory-drafts", json=body)
    assert started.status_code == 202, started.text
    job = _wait(analyst, started.json()["id"])
    assert job["state"] == "succeeded", job
    scenario = job["result"]["scenario"]  # type: ignore[index]
    path = f"/api/v1/planning/territory-drafts/{scenario}"
    got = analyst.get(path).json()
    assert got["status"] == "draft" and got["in_band"] == 3 and got["in_band_before"] == 0
    assert {(x["account"], x["source"]) for x in got["moves"]} <= {(f"B{i}", "X1") for i in range(2, 5)} | {
        ("B5", "X2"),
        ("B6", "X2"),
    }

    for email in ("finance@x.io", "m1@x.io", "r1@x.io"):
        assert_error(
            client_with_token(company, email).post("/api/v1/planning/territory-drafts", json=body), 403, "forbidden"
        )
    assert_error(client_with_token(company, "r1@x.io").get(path), 403, "forbidden")
    assert_error(client_with_token(company, "r1@x.io").get("/api/v1/planning/territory-drafts"), 403, "forbidden")
    finance = client_with_token(company, "finance@x.io", "read")
    assert finance.get("/api/v1/planning/territory-drafts").json()["total"] == 1
    assert_error(client_with_token(company, "finance@x.io").post(f"{path}/approve"), 403, "forbidden")
    assert_error(analyst.post(f"{path}/approve"), 409, "conflict")  # their own
    assert_error(analyst.post(f"{path}/publish", json={"effective_from": "2025-04-01"}), 409, "conflict")
    assert_error(client_with_token(company, "m1@x.io", "read").post(f"{path}/approve"), 403, "forbidden")
    manager = client_with_token(company, "m1@x.io")
    assert manager.post(f"{path}/approve", json={"note": "ok"}).json()["status"] == "approved"
    assert_error(manager.post(f"{path}/publish", json={"effective_from": "2025-04-01"}), 403, "forbidden")
    assert_error(analyst.post(f"{path}/publish", json={"effective_from": "April"}), 422, "invalid_input")
    assert_error(analyst.post(f"{path}/publish", json={}), 422, "invalid_input")
    published = analyst.post(f"{path}/publish", json={"effective_from": "2025-02-10"})
    assert published.json() == {"id": scenario, "moved": len(got["moves"]), "effective_from": "2025-02-10"}
    with Session(company) as session:  # February's run credited the old territories: it is open again
        rows = session.execute(select(m.Period.name, m.Period.status).where(m.Period.kind == "month")).all()
    status: dict[str, str] = {str(row[0]): str(row[1]) for row in rows}
    assert status["FY2025-M01"] == "calculated" and status["FY2025-M02"] == "open"
    assert_error(analyst.post(f"{path}/publish", json={"effective_from": "2025-04-01"}), 409, "conflict")
    assert_error(analyst.get("/api/v1/planning/territory-drafts/999"), 404, "not_found")
    bad = analyst.post("/api/v1/planning/territory-drafts", json={**body, "tolerance": "1.5"})
    assert_error(bad, 422, "invalid_input")
    bad = analyst.post("/api/v1/planning/territory-drafts", json={**body, "measures": ["revenue"]})
    assert_error(bad, 422, "invalid_input")


def test_the_territory_draft_pages(company: Engine) -> None:
    draft = draft_territories(company, PARAMS, name="North relief", actor="analyst@x.io")
    analyst = signed_in(company, "analyst@x.io")
    page = analyst.get("/planning/territory-drafts")
    assert page.status_code == 200 and "Start a design" in page.text and "North relief" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    bad = analyst.post("/planning/territory-drafts", data={"csrf_token": token.group(1), "on": "soon"})
    assert bad.status_code == 422 and "not a date" in bad.text
    detail = analyst.get(f"/planning/territory-drafts/{draft.id}")
    assert "3 of 3 territories" in detail.text and "optimal" in detail.text and "/approve" not in detail.text
    manager = signed_in(company, "m1@x.io")
    seen = manager.get(f"/planning/territory-drafts/{draft.id}")
    assert "/approve" in seen.text and "Start a design" not in manager.get("/planning/territory-drafts").text
    mtoken = re.search(r'name="csrf_token" value="([^"]+)"', seen.text)
    assert mtoken is not None
    approved = manager.post(f"/planning/territory-drafts/{draft.id}/approve", data={"csrf_token": mtoken.group(1)})
    assert approved.status_code == 200 and "draft approved" in approved.text
    published = analyst.post(
        f"/planning/territory-drafts/{draft.id}/publish",
        data={"csrf_token": token.group(1), "effective_from": "2025-04-01"},
    )
    assert published.status_code == 200 and "published: 3 accounts move on 2025-04-01" in published.text
    assert signed_in(company, "r1@x.io").get("/planning/territory-drafts").status_code == 403
    assert 'href="/planning/territory-drafts"' in analyst.get("/planning/territories").text


def test_the_territory_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: WriteFile) -> None:
    from typer.testing import CliRunner

    from openspm.cli import territory_scenarios as cli
    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["calendar", "create", "2025"]).exit_code == 0
    for kind, body in (("accounts", ACCOUNTS), ("territories", TERRITORIES), ("account_territories", CURRENT)):
        assert runner.invoke(app, ["import", kind, str(write(f"{kind}.csv", body))]).exit_code == 0
    monkeypatch.setattr(cli, "actor", lambda: "cli:author")
    made = runner.invoke(app, ["territory", "draft", "--on", "2025-03-01", "--solver", "greedy", "--time-limit", "5"])
    assert made.exit_code == 0, made.output
    said = " ".join(made.output.split())  # Rich wraps long lines
    assert "scenario 1 'territories on 2025-03-01' as of 2025-03-01: draft" in said
    assert "3 moves of 7 accounts" in said and "3 of 3 territories in band (before: 0)" in said
    listed = runner.invoke(app, ["territory", "list"])
    assert listed.exit_code == 0 and "│ 1 " in listed.output
    own = runner.invoke(app, ["territory", "approve", "1"])
    assert own.exit_code != 0 and "someone else must decide it" in own.output
    monkeypatch.setattr(cli, "actor", lambda: "cli:reviewer")
    assert runner.invoke(app, ["territory", "approve", "1"]).exit_code == 0
    bad = runner.invoke(app, ["territory", "publish", "1", "--from", "April"])
    assert bad.exit_code != 0 and "not a date" in bad.output
    published = runner.invoke(app, ["territory", "publish", "1", "--from", "2025-04-01"])
    assert published.exit_code == 0 and "accounts move on 2025-04-01" in published.output
    shown = runner.invoke(app, ["territory", "show", "1", "--json"])
    assert '"status": "published"' in shown.output and '"effective_from": "2025-04-01"' in shown.output
