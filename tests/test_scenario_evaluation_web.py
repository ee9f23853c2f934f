"""Planning scenario evaluations as jobs, through the API and the pages (SQLite and PostgreSQL): the job keeps
what the engine gives (the same figures as `evaluate_scenario`), histograms and comparisons add up, bad
scenarios are refused before anything is queued, and who may run and read them by role."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from openspm.auth.service import set_passwords
from openspm.core.errors import InvalidInput
from openspm.ingest.service import import_file
from openspm.jobs import service as jobs
from openspm.jobs.planning_evaluations import SCENARIO, submit_scenario_evaluation
from openspm.jobs.queue import InProcessQueue
from openspm.plan.load import PlanError
from openspm.planning.scenario_evaluation import (
    HISTOGRAM_LABELS,
    compare_evaluations,
    evaluate_scenario,
    evaluation_result,
    histogram,
)
from openspm.planning.territory_scenarios import draft_territories
from tests.conftest import WriteFile
from tests.test_access import PASSWORD
from tests.test_api import assert_error, client_with_token
from tests.test_scenario_evaluation import PLAN
from tests.test_scenario_evaluation import company as scenario_company  # noqa: F401  (the fixture it builds on)
from tests.test_territory_scenarios import PARAMS
from tests.test_web import csrf_of, signed_in

D = Decimal
USERS = (
    "email,name,roles,payee\nanalyst@x.io,Al,comp_analyst,\nfinance@x.io,Fin,finance,\n"
    "m@x.io,Mo,manager,M\np1@x.io,North,rep,P1\n"
)
DOUBLED = PLAN.replace("RATE", "0.20")
QUOTAS = "payee,measure,period,amount,currency\nP1,bookings,FY2025,10000,USD\nP2,bookings,FY2025,10000,USD\n"


@pytest.fixture
def company(scenario_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    """The territory company (three reps, seven deals, a 10% plan) with year quotas for P1 and P2, a manager M
    over P1, and users of every role."""
    more = {
        "payees": "id,name,pay_currency\nM,Mo,USD\n",
        "reporting_lines": "payee,manager,effective_from\nP1,M,2025-01-01\n",
        "quotas": QUOTAS,
        "users": USERS,
    }
    for kind, body in more.items():
        report = import_file(scenario_company, kind, write(f"sw-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    set_passwords(scenario_company, PASSWORD, actor="test")
    return scenario_company


def test_the_histogram_buckets_attainment_by_ten_points() -> None:
    assert len(HISTOGRAM_LABELS) == 21 and HISTOGRAM_LABELS[0] == "0–10%" and HISTOGRAM_LABELS[-1] == "≥200%"
    counts = histogram([0.05, 0.95, 1.0, 2.5, -0.2, 1.999])
    assert counts[0] == 2 and counts[9] == 1 and counts[10] == 1 and counts[19] == 1 and counts[20] == 1
    assert sum(counts) == 6


def test_a_scenario_evaluation_job_keeps_what_the_engine_gives(company: Engine) -> None:
    direct = evaluate_scenario(company, plan_text=DOUBLED, basis_year="FY2025")
    queue = InProcessQueue(company)
    try:
        job = submit_scenario_evaluation(company, queue, {"plan_text": DOUBLED, "basis": "FY2025"}, "analyst@x.io")
        assert job.state == "queued" and job.params["name"] == "terr: Territory plan (candidate)"
        done = queue.wait(job.id, timeout=120)
    finally:
        queue.shutdown()
    assert done.state == "succeeded" and done.progress == 1, done.error
    assert done.message == "evaluated on FY2025: cost 5,600.00 USD"
    result = done.result
    assert result is not None
    assert result["baseline"]["cost"] == {"USD": "2800.00"} and result["scenario"]["cost"] == {"USD": "5600.00"}
    assert result == evaluation_result(direct)  # the job keeps exactly what the replay gives
    # P1 and P2 have a 10,000 quota each: their attainment is their bookings over it, in the same bucket either way
    assert sum(result["histogram"]["baseline"]) == 2 == sum(result["histogram"]["scenario"])
    assert result["histogram"]["baseline"] == result["histogram"]["scenario"]
    paid = {p: D(a) for p, a in result["per_payee"]["scenario"].items()}
    assert sum(paid.values(), D(0)) == D(5600) and result["names"]["P1"] == "North Rep"


def test_bad_scenarios_are_refused_before_anything_is_queued(company: Engine) -> None:
    queue = InProcessQueue(company)
    try:
        with pytest.raises(InvalidInput, match="name a quota draft"):
            submit_scenario_evaluation(company, queue, {"basis": "FY2025"}, "analyst@x.io")
        with pytest.raises(PlanError, match="kind"):
            bad = DOUBLED.replace("kind: flat_rate", "kind: flat_rat")
            submit_scenario_evaluation(company, queue, {"plan_text": bad}, "analyst@x.io")
    finally:
        queue.shutdown()
    assert jobs.jobs(company, kind=SCENARIO)[1] == 0


def test_comparing_evaluations_side_by_side(company: Engine) -> None:
    draft = draft_territories(company, PARAMS, name="rebalance", actor="analyst@x.io")
    moved = evaluation_result(evaluate_scenario(company, territory_draft=draft.id, basis_year="FY2025"))
    doubled = evaluation_result(evaluate_scenario(company, plan_text=DOUBLED, basis_year="FY2025"))
    c = compare_evaluations([(1, "moves", moved), (2, "doubled", doubled)])
    assert [x.label for x in c.columns] == ["baseline", "moves", "doubled"] and c.same_baseline
    base, a, b = c.columns
    assert base.cost == D(2800) and base.cost_change == 0 and base.job is None
    assert a.cost == D(2800) and a.cost_change == 0  # moves shift who is paid, not what is paid in all
    assert b.cost == D(5600) and b.cost_change == D(2800) and b.cost_of_sales_change == pytest.approx(0.1)
    assert sum(b.histogram) == 2 and c.labels == HISTOGRAM_LABELS
    rows = {x.payee: x for x in c.payees}
    assert set(rows) == {"P1", "P2", "P3"}  # everyone's pay doubles under the candidate
    for x in rows.values():
        assert x.scenarios[1] == 2 * x.baseline and x.changes[1] == x.baseline
        assert x.changes[0] == x.scenarios[0] - x.baseline
    assert sum((x.changes[0] for x in rows.values()), D(0)) == 0 and any(x.changes[0] for x in rows.values())
    other = {**doubled, "months": ["FY2025-M01"]}
    with pytest.raises(InvalidInput, match="compare like with like"):
        compare_evaluations([(1, "moves", moved), (3, "one month", other)])
    with pytest.raises(InvalidInput, match="at least one"):
        compare_evaluations([])


def _wait(client: TestClient, job_id: int) -> dict[str, Any]:
    for _ in range(600):
        job = client.get(f"/api/v1/planning/scenario-evaluations/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the evaluation job did not finish")


def test_the_scenario_evaluation_api_by_role(company: Engine) -> None:
    url = "/api/v1/planning/scenario-evaluations"
    analyst = client_with_token(company, "analyst@x.io")
    started = analyst.post(url, json={"plan_text": DOUBLED, "basis": "FY2025", "name": "double"})
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "scenario_evaluation" and started.json()["params"]["plan_source"] == "pasted YAML"
    done = _wait(analyst, started.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["scenario"]["cost"] == {"USD": "5600.00"}

    finance = client_with_token(company, "finance@x.io")  # finance runs evaluations too (a read of the engine)
    stored = finance.post(url, json={"plan_version": "terr:1", "basis": "FY2025"})
    assert stored.status_code == 202, stored.text
    second = _wait(finance, stored.json()["id"])
    assert second["params"]["plan_source"] == "terr v1" and second["result"]["scenario"]["cost"] == {"USD": "2800.00"}

    compared = analyst.get(f"{url}/compare", params={"job": [done["id"], second["id"]]})
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert [c["cost"] for c in body["columns"]] == ["2800.00", "5600.00", "2800.00"]
    assert [c["cost_change"] for c in body["columns"]] == ["0.00", "2800.00", "0.00"]
    assert body["same_baseline"] is True and {x["payee"] for x in body["payees"]} == {"P1", "P2", "P3"}
    assert analyst.get(url).json()["total"] == 2

    manager = client_with_token(company, "m@x.io")  # reads, their team only
    seen = manager.get(f"{url}/{done['id']}").json()
    assert set(seen["result"]["per_payee"]["scenario"]) == {"P1"} and seen["result"]["scenario"]["cost"]
    assert {x["payee"] for x in manager.get(f"{url}/compare", params={"job": [done["id"]]}).json()["payees"]} == {"P1"}
    assert_error(manager.post(url, json={"plan_text": DOUBLED}), 403, "forbidden")
    rep = client_with_token(company, "p1@x.io")
    assert_error(rep.get(url), 403, "forbidden")
    assert_error(rep.get(f"{url}/{done['id']}"), 403, "forbidden")
    assert_error(rep.post(url, json={"plan_text": DOUBLED}), 403, "forbidden")
    assert_error(
        client_with_token(company, "analyst@x.io", "read").post(url, json={"plan_text": DOUBLED}), 403, "forbidden"
    )

    assert_error(analyst.post(url, json={"basis": "FY2025"}), 422, "invalid_input")
    assert_error(analyst.post(url, json={"plan_text": DOUBLED.replace("plan: terr", "plan: nope")}), 404, "not_found")
    assert_error(analyst.post(url, json={"plan_version": "terr:9"}), 404, "not_found")
    assert_error(analyst.post(url, json={"plan_text": DOUBLED, "quota_draft": 999}), 404, "not_found")
    assert_error(analyst.post(url, json={"plan_text": DOUBLED, "surprise": 1}), 422, "invalid_input")
    queued = jobs.submit(company, SCENARIO, {"name": "never run"}, "test")  # queued, never run
    assert_error(analyst.get(f"{url}/compare", params={"job": [done["id"], queued.id]}), 409, "conflict")
    assert_error(analyst.get(f"{url}/999"), 404, "not_found")
    other_kind = jobs.submit(company, "run", {}, "test")
    assert_error(analyst.get(f"{url}/{other_kind.id}"), 404, "not_found")


def _wait_page(client: TestClient, job_id: int) -> None:
    for _ in range(600):
        answer = client.get(f"/planning/scenarios/{job_id}/status")
        if 'data-state="succeeded"' in answer.text or 'data-state="failed"' in answer.text:
            return
        time.sleep(0.1)
    raise AssertionError("the evaluation did not finish")


def test_the_scenario_pages(company: Engine) -> None:
    page = signed_in(company, "analyst@x.io")
    listing = page.get("/planning/scenarios")
    assert listing.status_code == 200 and "Evaluate a scenario" in listing.text and "terr v1" in listing.text
    draft = draft_territories(company, PARAMS, name="rebalance", actor="analyst@x.io")
    linked = page.get(f"/planning/territory-drafts/{draft.id}")
    assert f'href="/planning/scenarios?territory_draft={draft.id}"' in linked.text
    preselected = page.get(f"/planning/scenarios?territory_draft={draft.id}")
    assert f'<option value="{draft.id}" selected>#{draft.id} rebalance (draft)</option>' in preselected.text
    refused = page.post(
        "/planning/scenarios",
        data={
            "csrf_token": csrf_of(page, "/planning/scenarios"),
            "document": DOUBLED.replace("kind: flat_rate", "kind: flat_rat"),
        },
    )
    assert refused.status_code == 422 and "candidate plan @ components" in refused.text and "flat_rat" in refused.text
    started = page.post(
        "/planning/scenarios",
        data={
            "csrf_token": csrf_of(page, "/planning/scenarios"),
            "document": DOUBLED,
            "basis": "FY2025",
            "name": "double the rate",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    _wait_page(page, job_id)
    shown = page.get(f"/planning/scenarios/{job_id}")
    assert "double the rate" in shown.text and "5,600.00" in shown.text and "+2,800.00" in shown.text
    assert 'id="attainment-histogram"' in shown.text and "scenario_chart.js" in shown.text
    data = re.search(r'<script type="application/json" id="attainment-data">(.*?)</script>', shown.text, re.S)
    assert data is not None and '"baseline"' in data.group(1)
    compared = page.get(f"/planning/scenarios/compare?job={job_id}&job={job_id}")
    assert compared.status_code == 200 and "Scenarios compared" in compared.text
    assert page.get("/planning/scenarios/jobs").text.count(f'data-job="{job_id}"') == 1

    finance = signed_in(company, "finance@x.io").get("/planning/scenarios")
    assert "Evaluate a scenario" in finance.text
    manager = signed_in(company, "m@x.io")
    assert "Evaluate a scenario" not in manager.get("/planning/scenarios").text
    assert "5,600.00" in manager.get(f"/planning/scenarios/{job_id}").text
    forbidden = manager.post(
        "/planning/scenarios", data={"csrf_token": csrf_of(manager, "/planning/scenarios"), "document": DOUBLED}
    )
    assert forbidden.status_code == 403
    rep = signed_in(company, "p1@x.io")
    assert rep.get("/planning/scenarios").status_code == 403
    assert rep.get(f"/planning/scenarios/{job_id}").status_code == 403
