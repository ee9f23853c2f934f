"""The forecasts page and API by role (SQLite and PostgreSQL): readers see series and accuracy, reps only
commits; reps commit, managers call, the roll-up follows; forecast jobs for admin and comp analyst."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import assert_error, client_with_token
from tests.test_web import csrf_of, signed_in


def _wait(client: TestClient, job_id: int) -> dict[str, object]:
    for _ in range(600):
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the forecast job did not finish")


def test_the_forecast_and_commit_api_by_role(engine: Engine, write: WriteFile) -> None:
    company = build_company(engine, write)
    analyst = client_with_token(company, "analyst@x.io")
    job = analyst.post("/api/v1/insights/forecasts", json={"horizon": 2})
    assert job.status_code == 202, job.text
    done = _wait(analyst, job.json()["id"])
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert isinstance(result, dict) and result["first_month"] == "2025-03"
    # two months of history: only the baseline can forecast
    view = analyst.get("/api/v1/insights/forecasts", params={"scope": "company"}).json()
    assert view["methods"] == ["seasonal_naive"] and view["batch"] == result["batch"]
    assert [p["month"] for p in view["points"]] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert view["points"][0]["actual"] == "15000.50" and view["points"][2]["actual"] is None
    assert view["points"][2]["forecasts"]["seasonal_naive"] == "14000.00"  # the last month again
    manager = client_with_token(company, "m1@x.io")
    assert manager.get("/api/v1/insights/forecasts", params={"scope": "team:M1"}).status_code == 200
    assert manager.get("/api/v1/insights/forecasts/backtest", params={"holdout_from": "2025-02"}).status_code == 422
    rep = client_with_token(company, "r1@x.io")
    assert_error(rep.get("/api/v1/insights/forecasts"), 403, "forbidden")
    assert_error(rep.post("/api/v1/insights/forecasts", json={"horizon": 2}), 403, "forbidden")
    assert_error(manager.post("/api/v1/insights/forecasts", json={"horizon": 2}), 403, "forbidden")

    answer = rep.post("/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "1000", "best_case": "1500"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["kind"] == "commit" and answer.json()["payee"] == "R1"
    bad = rep.post("/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "1000", "best_case": "10"})
    assert_error(bad, 422, "invalid_input")
    assert_error(client_with_token(company, "r1@x.io", "read").post(
        "/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "1"}), 403, "forbidden")  # fmt: skip
    client_with_token(company, "r3@x.io").post(
        "/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "700"}
    )
    call = manager.post("/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "1800"})
    assert call.json()["kind"] == "call"
    rows = manager.get("/api/v1/insights/commits", params={"period": "FY2025-Q2"}).json()
    assert [(r["payee"], r["depth"]) for r in rows] == [("M1", 0), ("R1", 1)]  # R2 moved to M2 on 1 February
    assert (rows[0]["team_commit"], rows[0]["call"], rows[0]["effective_commit"]) == ("1000.00", "1800.00", "1800.00")
    everyone = client_with_token(company, "finance@x.io").get(
        "/api/v1/insights/commits", params={"period": "FY2025-Q2"}
    )
    assert {r["payee"] for r in everyone.json()} == {"M1", "M2", "R1", "R2", "R3"}
    assert_error(rep.get("/api/v1/insights/commits", params={"period": "FY2025-Q2", "payee": "R3"}), 404, "not_found")
    assert [e["commit"] for e in rep.get("/api/v1/insights/commits/history").json()] == ["1000.00"]
    huge = rep.post("/api/v1/insights/commits", json={"period": "FY2025-Q2", "commit": "1e20"})
    assert huge.status_code == 422
    accuracy = analyst.get("/api/v1/insights/forecasts/accuracy").json()
    assert accuracy["pending"] >= 1 and isinstance(accuracy["rows"], list)


def test_the_forecasts_page_by_role(engine: Engine, write: WriteFile) -> None:
    company = build_company(engine, write)
    admin = signed_in(company, "admin@x.io")
    page = admin.get("/insights/forecasts")
    assert page.status_code == 200
    assert 'id="forecast-chart"' in page.text and "Start forecast" in page.text and "Back-test" in page.text
    assert 'href="/help/web#forecasts"' in page.text
    assert admin.get("/insights/forecasts", params={"scope": "region:nowhere"}).status_code == 404
    started = admin.post(
        "/insights/forecasts",
        data={"csrf_token": csrf_of(admin, "/insights/forecasts"), "horizon": "2", "method": ["auto_ets"]},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    assert "forecast-jobs" in admin.get("/insights/forecasts/jobs").text

    rep = signed_in(company, "r1@x.io")
    page = rep.get("/insights/forecasts", params={"period": "FY2025-Q2"})
    assert page.status_code == 200 and 'id="forecast-chart"' not in page.text and "My commit" in page.text
    saved = rep.post(
        "/insights/forecasts/commits",
        data={
            "csrf_token": csrf_of(rep, "/insights/forecasts"),
            "period": "FY2025-Q2",
            "commit": "1,250",
            "best_case": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = rep.get("/insights/forecasts", params={"period": "FY2025-Q2"})
    assert "1,250.00" in page.text and "My entries for FY2025-Q2" in page.text
    refused = rep.post(
        "/insights/forecasts/commits",
        data={"csrf_token": csrf_of(rep, "/insights/forecasts"), "period": "FY2025-Q2", "commit": "lots"},
    )
    assert refused.status_code == 422 and "not a number" in refused.text
    assert rep.post("/insights/forecasts/commits", data={"period": "FY2025-Q2", "commit": "1"}).status_code == 403

    manager = signed_in(company, "m1@x.io")
    page = manager.get("/insights/forecasts", params={"period": "FY2025-Q2"})
    assert "My call for my team" in page.text and 'data-payee="R1"' in page.text and "Start forecast" not in page.text
    drilled = admin.get("/insights/forecasts", params={"period": "FY2025-Q2", "payee": "M2"})
    assert (
        'data-payee="R3"' in drilled.text and 'data-payee="R1"' not in drilled.text and "whole roll-up" in drilled.text
    )
    assert manager.get("/insights/forecasts", params={"period": "FY2025-Q2", "payee": "M2"}).status_code == 404
