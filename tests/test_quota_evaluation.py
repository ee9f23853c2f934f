"""Connected evaluation of quota drafts (SQLite and PostgreSQL): the replay gives exactly what the paying engine
gives — the baseline column equals the stored runs before publishing, the draft column equals the runs after
publishing the same draft — and the API and pages by role."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.core.errors import InvalidInput, NotFound
from openspm.ingest.service import import_file
from openspm.planning.evaluation import evaluate_quota_draft, evaluate_quota_drafts, saved_evaluation
from openspm.planning.quotas import decide, draft_quotas, publish
from openspm.runs.service import latest_run, run_period
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_api import assert_error, client_with_token
from tests.test_quota_planning import PARAMS
from tests.test_quota_planning import company as quota_company  # noqa: F401  (the fixture it builds on)
from tests.test_quota_planning_web import company as web_company  # noqa: F401  (the fixture, reused)
from tests.test_web import signed_in

D = Decimal
MONTHS = ["FY2026-M01", "FY2026-M02", "FY2026-M03", "FY2026-M04", "FY2026-M05"]
SALES = (
    "id,date,account,product,amount,currency,owner\n"
    "S1,2026-01-15,X1,SKU1,150000,USD,A1\nS2,2026-02-10,X2,SKU1,180000,USD,A2\n"
    "S3,2026-03-20,X1,SKU1,250000,USD,A1\nS4,2026-04-05,X3,SKU1,90000,USD,A3\n"
    "S5,2026-05-12,X1,SKU1,120000,USD,A1\nS6,2026-05-30,X2,SKU1,40000,USD,A2\n"
)
FY2026_QUOTAS = (  # what stands before the draft: A1 and A2 have quarterly quotas, A3 none
    "payee,measure,period,amount,currency\n"
    "A1,bookings,FY2026-Q1,200000,USD\nA1,bookings,FY2026-Q2,200000,USD\nA1,bookings,FY2026,800000,USD\n"
    "A2,bookings,FY2026-Q1,150000,USD\nA2,bookings,FY2026-Q2,150000,USD\nA2,bookings,FY2026,600000,USD\n"
)


@pytest.fixture
def company(web_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    """The quota-planning company with five months of FY2026 deals and quotas, those months run."""
    for kind, body in (("transactions", SALES), ("quotas", FY2026_QUOTAS)):
        assert import_file(web_company, kind, write(f"eval-{kind}.csv", body), actor="test").rejected == 0
    return web_company


def _stored(engine: Engine, months: list[str]) -> tuple[Decimal, dict[str, Decimal]]:
    """Σ the newest runs' AE earnings of `months`, in all and per payee."""
    per: dict[str, Decimal] = {}
    with Session(engine) as session:
        for month in months:
            run = latest_run(session, month)
            for e in session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id)):
                if e.plan == "ae":
                    per[e.payee] = per.get(e.payee, D(0)) + e.amount
    return sum(per.values(), D(0)), per


def test_the_replay_equals_the_paying_engine_before_and_after_publishing(company: Engine) -> None:
    for month in MONTHS:
        run_period(company, month, actor="test")
    before, before_per = _stored(company, MONTHS)
    draft = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")

    seen: list[str] = []
    result = evaluate_quota_draft(company, draft.id, basis_year="FY2026", on_month=lambda i, n, text: seen.append(text))
    assert result.basis == "FY2026" and result.months == MONTHS  # up to the last month with deals
    assert seen[0] == "FY2026-M01: the quotas as they stand" and seen[-1] == "done" and len(seen) == 2 * 5 + 1
    assert result.baseline.cost == {"USD": before} and result.baseline.per_payee == before_per
    assert result.baseline.revenue == D(830000) == result.drafts[draft.id].revenue  # deals do not change
    assert result.baseline.quota == D(1400000)  # A1 and A2's year quotas; A3 has none
    assert result.baseline.attainment.payees == 2

    figures = result.drafts[draft.id]
    assert figures.quota == D(2400000)
    assert figures.cost_of_sales == pytest.approx(float(figures.cost["USD"] / D(830000)))
    # A1: 520,000 on 1,500,000; A2: 220,000 on 600,000; A3: 90,000 on 300,000
    assert figures.attainment.payees == 3
    assert figures.attainment.mean == pytest.approx((520 / 1500 + 220 / 600 + 90 / 300) / 3)
    assert figures.attainment.at_or_above_quota == 0 and figures.attainment.below_half == 3

    decide(company, draft.id, "manager@x.io", True)
    publish(company, draft.id, "admin@x.io")
    for month in MONTHS:
        run_period(company, month, actor="test")
    after, after_per = _stored(company, MONTHS)
    assert figures.cost == {"USD": after} and figures.per_payee == after_per  # same engine, same numbers
    assert after != before  # the quotas made a difference
    changes = {c.payee: c.change for c in [*result.gains[draft.id], *result.losses[draft.id]]}
    assert changes == {p: after_per.get(p, D(0)) - before_per.get(p, D(0)) for p in changes}
    assert all(c.change > 0 for c in result.gains[draft.id]) and all(c.change < 0 for c in result.losses[draft.id])


def test_the_default_basis_is_last_year_mapped_by_quarter_and_bad_requests_say_why(company: Engine) -> None:
    draft = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    other = draft_quotas(company, PARAMS, name="same again", actor="analyst@x.io")
    result = evaluate_quota_drafts(company, [draft.id, other.id])
    assert result.basis == "FY2025" and result.months == ["FY2025-M01"]
    assert result.quarters["FY2026-Q1"] == "FY2025-Q1"
    # January 2025: A1 booked 300,000 against the draft's Q1 300,000 (the baseline's 250,000)
    assert result.baseline.cost == {"USD": D("22500.00")}  # A1 17,500 (1.2 of 250,000), A2 5,000
    assert result.drafts[draft.id].cost == {"USD": D("20000.00")}  # A1 at 300,000: 15,000; A2 5,000
    assert replace(result.drafts[other.id], scenario="") == replace(result.drafts[draft.id], scenario="")
    with pytest.raises(NotFound, match="unknown basis year"):
        evaluate_quota_draft(company, draft.id, basis_year="FY2031")
    with pytest.raises(InvalidInput, match="not a month of FY2025"):
        evaluate_quota_draft(company, draft.id, months=["FY2026-M01"])
    with pytest.raises(NotFound, match="unknown quota scenario"):
        evaluate_quota_draft(company, 999)


def test_the_cli_prints_the_drafts_beside_the_baseline_and_keeps_each(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openspm.cli.main import app

    first = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    second = draft_quotas(company, replace(PARAMS, over_assignment=D("1.5")), name="stretch", actor="analyst@x.io")
    monkeypatch.setenv("OPENSPM_DATABASE_URL", str(company.url.render_as_string(hide_password=False)))
    runner = CliRunner()
    shown = runner.invoke(app, ["quota", "evaluate", str(first.id), str(second.id), "--no-progress"])
    assert shown.exit_code == 0, shown.output
    assert "baseline" in shown.stdout and "stretch" in shown.stdout and "22,500.00 USD" in shown.stdout
    assert "20,000.00 USD" in shown.stdout and "losses: A1 Ann -2,500.00" in shown.stdout
    kept = [saved_evaluation(company, i) for i in (first.id, second.id)]
    assert kept[0] is not None and kept[0]["draft"]["cost"] == {"USD": "20000.00"}
    assert all(k and k["baseline"]["cost"] == {"USD": "22500.00"} for k in kept)
    as_json = runner.invoke(app, ["quota", "evaluate", str(first.id), "--basis", "FY2025", "--json", "--no-progress"])
    assert as_json.exit_code == 0 and '"20000.00"' in as_json.stdout
    bad = runner.invoke(app, ["quota", "evaluate", str(first.id), "--basis", "FY2031", "--no-progress"])
    assert bad.exit_code != 0 and "unknown basis year 'FY2031'" in bad.stderr


def _evaluated(client: Any, scenario_id: int, job_id: int) -> dict[str, Any]:
    """Wait for an evaluation job of the draft (followed through the draft's `evaluations`) to finish."""
    for _ in range(600):
        found = client.get(f"/api/v1/planning/quota-drafts/{scenario_id}/evaluations").json()
        job = next(j for j in found if j["id"] == job_id)
        if job["state"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the evaluation job did not finish")


def test_the_evaluate_api_and_page_by_role(company: Engine) -> None:
    draft = draft_quotas(company, PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    url = f"/api/v1/planning/quota-drafts/{draft.id}/evaluate"
    analyst = client_with_token(company, "analyst@x.io")
    started = analyst.post(url, json={"basis": "FY2025"})
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "quota_evaluation" and started.json()["params"] == {
        "scenario": draft.id,
        "basis": "FY2025",
    }
    done = _evaluated(analyst, draft.id, started.json()["id"])
    assert done["state"] == "succeeded" and done["result"]["cost"] == {"USD": "20000.00"}, done
    assert done["message"] == "evaluated on FY2025's deals (1 month)"
    shown = analyst.get(f"/api/v1/planning/quota-drafts/{draft.id}").json()
    assert shown["evaluation"]["basis"] == "FY2025" and shown["evaluation"]["draft"]["cost"] == {"USD": "20000.00"}
    assert shown["evaluation"]["baseline"]["cost"] == {"USD": "22500.00"}
    assert shown["evaluation"]["evaluated_by"] == "analyst@x.io"
    assert saved_evaluation(company, draft.id) == shown["evaluation"]
    manager = client_with_token(company, "m@x.io")
    managed = manager.post(url, json={})  # a manager may evaluate
    assert managed.status_code == 202, managed.text
    assert _evaluated(manager, draft.id, managed.json()["id"])["state"] == "succeeded"
    kept = manager.get(f"/api/v1/planning/quota-drafts/{draft.id}").json()["evaluation"]
    assert kept["evaluated_by"] == "m@x.io" and kept["losses"][0]["payee"] == "A1"  # A1: 17,500 → 15,000
    assert {x["payee"] for x in [*kept["gains"], *kept["losses"]]} <= {"A1"}  # their team
    assert_error(client_with_token(company, "finance@x.io").post(url, json={}), 403, "forbidden")  # finance reads only
    assert (
        client_with_token(company, "finance@x.io").get(f"/api/v1/planning/quota-drafts/{draft.id}").json()["evaluation"]
    )
    assert_error(client_with_token(company, "a1@x.io").post(url, json={}), 403, "forbidden")
    assert_error(client_with_token(company, "a1@x.io").get(f"{url[:-9]}/evaluations"), 403, "forbidden")
    assert_error(client_with_token(company, "m@x.io", "read").post(url, json={}), 403, "forbidden")
    assert_error(analyst.post("/api/v1/planning/quota-drafts/999/evaluate", json={}), 404, "not_found")
    assert_error(analyst.post(url, json={"basis": "FY2031"}), 404, "not_found")  # checked before queuing
    assert_error(analyst.post(url, json={"basis": 5}), 422, "invalid_input")
    assert len(analyst.get(f"/api/v1/planning/quota-drafts/{draft.id}/evaluations").json()) == 2

    page = signed_in(company, "analyst@x.io")
    shown_page = page.get(f"/planning/quotas/{draft.id}")
    assert "Evaluate on last year" in shown_page.text and "22,500.00" in shown_page.text
    assert (
        'aria-label="evaluation jobs"' in shown_page.text
        and "hx-trigger" not in shown_page.text.split('id="evaluation-jobs"')[1].split(">")[0]
    )  # nothing running: no polling
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown_page.text)
    assert token is not None
    posted = page.post(
        f"/planning/quotas/{draft.id}/evaluate",
        data={"csrf_token": token.group(1), "basis": ""},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and "queued" in posted.headers["location"]
    following = page.get(f"/planning/quotas/{draft.id}/evaluations", headers={"HX-Request": "true"})
    assert following.status_code == 200 and 'data-state="' in following.text
    for _ in range(600):
        following = page.get(f"/planning/quotas/{draft.id}/evaluations", headers={"HX-Request": "true"})
        if following.headers.get("HX-Refresh") == "true":
            break
        assert 'hx-trigger="every 1s"' in following.text  # polls while it runs
        time.sleep(0.1)
    else:
        raise AssertionError("the page's evaluation job did not finish")
    assert "succeeded" in following.text
    finance = signed_in(company, "finance@x.io").get(f"/planning/quotas/{draft.id}")
    assert "22,500.00" in finance.text and "Evaluate on last year" not in finance.text
