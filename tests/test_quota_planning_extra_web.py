"""Ramps, manager levels and capacity plans through the API, the pages and the CLI (SQLite and PostgreSQL): the API
and the draft form take a ramp and a managers' factor; the capacity page is for admin, comp analyst, finance and
managers (reps 403) and shows the month-by-month hiring plan; `openspm capacity plan` and `openspm quota rollup`."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from openspm.cli.main import app
from openspm.ingest.service import import_file
from tests.conftest import WriteFile
from tests.test_api import assert_error, client_with_token
from tests.test_quota_planning import company as quota_company  # noqa: F401  (the fixtures, reused)
from tests.test_quota_planning_web import DRAFT
from tests.test_quota_planning_web import company as web_company  # noqa: F401
from tests.test_web import signed_in

runner = CliRunner()
CAPACITY = {
    "months": "6",
    "target_per_month": "100000",
    "quota_per_head": "10000",
    "attainment": "0.8",
    "ramp": "0.25,0.5,0.75",
    "attrition": "0.015",
    "lead_months": "2",
    "tenures": "24,24,24,24,24,24,24,24,24,24,24,6",
}


@pytest.fixture
def company(web_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    """The web fixture (M manages A1) with M on the reps' plan too."""
    body = "payee,plan,effective_from\nM,ae,2025-01-01\n"
    assert import_file(web_company, "plan_assignments", write("m-plan.csv", body), actor="test").rejected == 0
    return web_company


def test_the_api_takes_a_ramp_and_a_managers_factor(company: Engine) -> None:
    analyst = client_with_token(company, "analyst@x.io")
    body = {**DRAFT, "max_change": None, "ramp": ["0.25", "0.5", "0.75"], "managers_over": "1.05"}
    made = analyst.post("/api/v1/planning/quota-drafts", json=body)
    assert made.status_code == 201, made.text
    lines = {x["payee"]: x for x in made.json()["lines"]}
    assert lines["A3"]["ramp"] == {"FY2026-Q2": "0.50", "FY2026-Q3": "1", "FY2026-Q4": "1"}
    assert lines["A1"]["ramp"] == {} and lines["A1"]["level"] is None and lines["M"]["level"] == 1
    assert lines["M"]["quarters"] == {
        q: str((Decimal(v) * Decimal("1.05")).quantize(Decimal(1))) for q, v in lines["A1"]["quarters"].items()
    }
    assert sum(Decimal(x["annual"]) for p, x in lines.items() if p != "M") == Decimal(made.json()["street"])
    assert_error(analyst.post("/api/v1/planning/quota-drafts", json={**body, "ramp": ["2"]}), 422, "invalid_input")
    assert analyst.post("/api/v1/planning/quota-drafts", json={**body, "managers_over": "0"}).status_code == 422
    assert_error(
        analyst.post("/api/v1/planning/quota-drafts", json={**body, "managers_plan": "nope"}), 404, "not_found"
    )


def test_the_draft_form_takes_a_ramp_and_shows_it(company: Engine) -> None:
    analyst = signed_in(company, "analyst@x.io")
    page = analyst.get("/planning/quotas")
    assert 'href="/planning/capacity"' in page.text and 'name="ramp"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {**DRAFT, "seasonality": "", "csrf_token": token.group(1), "ramp": "0.25,0.5,0.75", "managers_over": "1.05"}
    bad = analyst.post("/planning/quotas", data={**form, "ramp": "half"})
    assert bad.status_code == 422 and "ramp &#39;half&#39; is not a number" in bad.text
    made = analyst.post("/planning/quotas", data=form, follow_redirects=False)
    assert made.status_code == 303
    detail = analyst.get(made.headers["location"]).text
    assert "ramp Q2 0.50, Q3 1.00, Q4 1.00" in detail and "manager, level 1" in detail


def test_the_capacity_page_by_role(company: Engine) -> None:
    analyst = signed_in(company, "analyst@x.io")
    page = analyst.get("/planning/capacity", params=CAPACITY)
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr(?: class=\"short\")?><td class=\"num\">(\d+)</td>", page.text)
    assert rows == ["0", "1", "2", "3", "4", "5"]
    assert "12 in seat" in page.text and "short in months 0, 1, 2, 3" in page.text
    for email in ("admin@x.io", "finance@x.io", "m@x.io"):
        assert signed_in(company, email).get("/planning/capacity").status_code == 200
    assert signed_in(company, "a1@x.io").get("/planning/capacity").status_code == 403
    bad = analyst.get("/planning/capacity", params={**CAPACITY, "ramp": "3"})
    assert bad.status_code == 422 and "ramp factors" in bad.text
    both = analyst.get("/planning/capacity", params={**CAPACITY, "targets": "1,2"})
    assert both.status_code == 422 and "either" in both.text
    store = analyst.get("/planning/capacity", params={**CAPACITY, "tenures": "", "plan": "ae", "on": "2026-01-01"})
    assert store.status_code == 200 and "3 in seat" in store.text  # A1, A2 and M; A3 starts in April
    assert analyst.get("/planning/capacity", params={**CAPACITY, "plan": "nope"}).status_code == 404


def test_the_cli_capacity_plan_and_rollup(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    args = ["capacity", "plan", "--months", "6", "--target-per-month", "100000", "--quota-per-head", "10000"]
    args += ["--ramp", "0.25,0.5,0.75", "--attrition-monthly", "0.015", "--lead-months", "2", "--json"]
    result = runner.invoke(app, [*args, "--in-seat-tenures", CAPACITY["tenures"]])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["in_seat"] == [int(x) for x in CAPACITY["tenures"].split(",")] and len(plan["months"]) == 6
    opened, arriving = plan["months"][0]["open_requisitions"], plan["months"][2]["arriving"]
    assert opened == arriving > 0 and sum(m["arriving"] for m in plan["months"]) == arriving  # 2 months' lead
    # a hire ramps 3 months: month 5 is the first a hire opened now can reach ramped; earlier months are not filled
    # with four times the heads at a quarter's productivity (month 4 is covered by the hires at three quarters)
    assert [Decimal(m["short"]) > 0 for m in plan["months"]] == [True] * 4 + [False] * 2
    assert Decimal(plan["months"][2]["short"]) < Decimal(plan["months"][1]["short"])  # the hires soften it
    store = runner.invoke(app, [*args, "--in-seat-from-store", "--plan", "ae", "--on", "2026-01-01"])
    assert store.exit_code == 0, store.output
    assert json.loads(store.output)["in_seat"] == [72, 72, 120]  # A1, A2 hired January 2020; M without a hire date
    neither = runner.invoke(app, args)
    assert neither.exit_code != 0 and "either --in-seat-tenures" in neither.output
    assert "15.00 → 15 seats" in runner.invoke(app, ["capacity", "--target", "12000000", "--quota", "1000000"]).output

    analyst = client_with_token(company, "analyst@x.io")
    made = analyst.post("/api/v1/planning/quota-drafts", json={**DRAFT, "managers_over": "1.05"}).json()
    shown = runner.invoke(app, ["quota", "rollup", str(made["id"])])
    assert shown.exit_code == 0 and "M " in shown.output and "1.0500" in shown.output, shown.output
