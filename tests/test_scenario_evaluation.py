"""Connected evaluation of a whole planning scenario (SQLite and PostgreSQL): a territory draft replayed as if
published before the basis gives what real runs give after publishing it; a candidate plan version gives what
real runs give after adding it; both together; the CLI side by side."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.core.errors import InvalidInput
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plan.load import PlanError
from openspm.planning.evaluation import evaluate_quota_draft
from openspm.planning.quotas import draft_quotas
from openspm.planning.scenario_evaluation import evaluate_scenario
from openspm.planning.territory_scenarios import TerritoryDraft, decide, draft_territories, publish
from openspm.plans.service import add_plan
from openspm.runs.service import latest_run, run_period
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import PLAN as AE_PLAN
from tests.test_quota_evaluation import company as quota_eval_company  # noqa: F401  (the fixture, reused)
from tests.test_quota_planning import PARAMS as QUOTA_PARAMS
from tests.test_quota_planning import company as quota_company  # noqa: F401  (the fixture it builds on)
from tests.test_quota_planning_web import company as web_company  # noqa: F401  (the fixture it builds on)
from tests.test_territory_scenarios import ACCOUNTS, CURRENT, PARAMS, TERRITORIES

D = Decimal
MONTHS = ["FY2025-M01", "FY2025-M02"]
PLAN = """
version: 1
plan: terr
name: Territory plan
currency: USD
effective_from: 2025-01-01
crediting:
  direct: {sources: [territory], roles: [owner]}
measures:
  - {name: bookings, sum: amount, roles: [direct]}
components:
  - {name: commission, kind: flat_rate, measure: bookings, period: month, rate: RATE}
"""
FILES = {
    "payees": "id,name,pay_currency\nP1,North Rep,USD\nP2,Mid Rep,USD\nP3,South Rep,USD\n",
    "accounts": ACCOUNTS,
    "territories": TERRITORIES,
    "account_territories": CURRENT,
    "territory_assignments": "territory,payee,role,share,effective_from\n"
    "X1,P1,owner,100%,2025-01-01\nX2,P2,owner,100%,2025-01-01\nX3,P3,owner,100%,2025-01-01\n",
    "products": "id,name,family\nSKU1,Seat,Platform\n",
    "transactions": "id,date,account,product,amount,currency\n"
    + "".join(f"T{i},2025-0{1 + i % 2}-1{i % 9},B{i},SKU1,{1000 * i},USD\n" for i in range(1, 8)),
}


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    """Seven accounts in three territories, one rep each, a 10% flat plan crediting by territory, seven deals."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    for kind, body in FILES.items():
        report = import_file(engine, kind, write(f"scen-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    add_plan(engine, write("terr.yaml", PLAN.replace("RATE", "0.10")), actor="test")
    assignments = "payee,plan,effective_from\nP1,terr,2025-01-01\nP2,terr,2025-01-01\nP3,terr,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("scen-pa.csv", assignments), actor="test").rejected == 0
    return engine


def _draft(engine: Engine) -> TerritoryDraft:
    draft = draft_territories(engine, PARAMS, name="rebalance", actor="analyst@x.io")
    assert draft.moves, "the fixture's draft moves accounts"
    return draft


def _real(engine: Engine) -> dict[str, Decimal]:
    """Run the months and return Σ the plan's earnings per payee."""
    per: dict[str, Decimal] = {}
    with Session(engine) as session:
        for month in MONTHS:
            run_period(engine, month, actor="test")
            run = latest_run(session, month)
            for e in session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id)):
                if e.plan == "terr" and e.amount:
                    per[e.payee] = per.get(e.payee, D(0)) + e.amount
    return per


def _nonzero(per: dict[str, Decimal]) -> dict[str, Decimal]:
    return {p: a for p, a in per.items() if a}


def test_a_territory_draft_replays_as_real_runs_after_publishing_it(company: Engine) -> None:
    draft = _draft(company)
    result = evaluate_scenario(company, territory_draft=draft.id, basis_year="FY2025")
    assert result.plan == "terr" and result.measure == "bookings" and result.months == MONTHS
    assert result.baseline.revenue == result.scenario.revenue == D(28000)  # every deal is credited once either way
    assert result.parts["territories"].startswith(f"#{draft.id} rebalance")
    before = _real(company)
    assert _nonzero(result.baseline.per_payee) == before
    decide(company, draft.id, "admin@x.io", approve=True)
    publish(company, draft.id, "analyst@x.io", date(2025, 1, 1))
    after = _real(company)
    assert after != before  # the moves change who is paid
    assert _nonzero(result.scenario.per_payee) == after
    assert result.scenario.cost == {"USD": sum(after.values(), D(0))}


def test_a_candidate_plan_with_a_doubled_rate_pays_double(company: Engine, write: WriteFile) -> None:
    candidate = write("terr-v2.yaml", PLAN.replace("RATE", "0.20"))
    result = evaluate_scenario(company, plan_file=candidate, basis_year="FY2025")
    assert result.scenario.cost["USD"] == 2 * result.baseline.cost["USD"] == D(5600)
    assert result.scenario.cost_of_sales == 0.2 and result.baseline.cost_of_sales == 0.1
    add_plan(company, candidate, actor="test")  # the same document as a real version
    assert _nonzero(result.scenario.per_payee) == _real(company)


def test_territories_and_a_candidate_plan_together(company: Engine, write: WriteFile) -> None:
    draft = _draft(company)
    candidate = write("terr-v2.yaml", PLAN.replace("RATE", "0.20"))
    result = evaluate_scenario(company, territory_draft=draft.id, plan_file=candidate, basis_year="FY2025")
    assert set(result.parts) == {"territories", "plan"}
    decide(company, draft.id, "admin@x.io", approve=True)
    publish(company, draft.id, "analyst@x.io", date(2025, 1, 1))
    add_plan(company, candidate, actor="test")
    assert _nonzero(result.scenario.per_payee) == _real(company)


def test_a_quota_draft_with_a_candidate_plan(quota_eval_company: Engine) -> None:  # noqa: F811
    engine = quota_eval_company
    draft = draft_quotas(engine, QUOTA_PARAMS, name="FY2026 AEs", actor="analyst@x.io")
    alone = evaluate_quota_draft(engine, draft.id, basis_year="FY2026")
    doubled = AE_PLAN.replace("rate: 0.10}", "rate: 0.20}").replace("rate: 0.05}", "rate: 0.10}")
    assert "rate: 0.10}" in doubled and "rate: 0.20}" in doubled
    result = evaluate_scenario(engine, quota_draft=draft.id, plan_text=doubled, basis_year="FY2026")
    assert (result.plan, result.measure, result.months) == ("ae", "bookings", alone.months)
    assert set(result.parts) == {"quotas", "plan"}
    assert result.baseline.cost == alone.baseline.cost  # the store as it stands
    assert result.scenario.cost["USD"] == 2 * alone.drafts[draft.id].cost["USD"]  # the draft's quotas, twice the rates
    assert result.scenario.quota == alone.drafts[draft.id].quota and result.scenario.revenue == alone.baseline.revenue


def test_bad_candidates_and_empty_scenarios_are_refused(company: Engine, write: WriteFile) -> None:
    with pytest.raises(InvalidInput, match="name a quota draft"):
        evaluate_scenario(company, basis_year="FY2025")
    bad = PLAN.replace("RATE", "0.20").replace("kind: flat_rate", "kind: flat_rat")
    with pytest.raises(PlanError, match="kind"):
        evaluate_scenario(company, plan_text=bad, basis_year="FY2025")
    other = PLAN.replace("RATE", "0.20").replace("plan: terr", "plan: nope")
    with pytest.raises(Exception, match="not in the store"):
        evaluate_scenario(company, plan_text=other, basis_year="FY2025")


def test_the_planning_evaluate_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, company: Engine, write: WriteFile
) -> None:
    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    candidate = write("terr-v2.yaml", PLAN.replace("RATE", "0.20"))
    runner = CliRunner()
    shown = runner.invoke(app, ["planning", "evaluate", "--plan-file", str(candidate), "--basis", "FY2025"])
    assert shown.exit_code == 0, shown.output
    assert "baseline" in shown.output and "2,800.00 USD" in shown.output and "5,600.00 USD" in shown.output
    as_json = runner.invoke(app, ["planning", "evaluate", "--plan-file", str(candidate), "--basis", "FY2025", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["parts"] == {"plan": "terr: Territory plan (candidate)"} and D(data["baseline"]["cost"]["USD"]) == 2800
    assert D(data["scenario"]["cost"]["USD"]) == D(5600)
    refused = runner.invoke(app, ["planning", "evaluate", "--basis", "FY2025"])
    assert refused.exit_code != 0 and "name a quota draft" in refused.output
    bad = write("bad.yaml", PLAN.replace("RATE", "0.20").replace("kind: flat_rate", "kind: flat_rat"))
    refused = runner.invoke(app, ["planning", "evaluate", "--plan-file", str(bad), "--basis", "FY2025"])
    assert refused.exit_code != 0 and "kind" in refused.output
