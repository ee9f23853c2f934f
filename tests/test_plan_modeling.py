"""Plan modeling on the demo company (one small demo store for the module): history equals the engine's runs,
a simulated draw equal to history pays what history paid, draws are seeded and paired, caps and thresholds are
counted from the traces, the report is byte-identical, and the job, API, pages and CLI by role."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.cli.main import app as cli_app
from openspm.core.errors import InvalidInput, NotFound
from openspm.demo.service import DEMO_PASSWORD, load_demo
from openspm.insights import monte_carlo, plan_model_report
from openspm.insights.plan_modeling import (
    Candidate,
    ModelParams,
    capture_month,
    check_params,
    model_json,
    model_plan,
    simulate_month,
)
from openspm.jobs.plan_models import submit_model
from openspm.jobs.queue import InProcessQueue
from openspm.plan.load import parse_plan
from openspm.runs.service import compute
from openspm.store.db import make_engine, migrate
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_api import assert_error
from tests.test_web import SECRET, csrf_of

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
BASELINE = (ROOT / "src/openspm/demo/plans/ae_commission.yaml").read_text(encoding="utf-8")
CANDIDATE = (ROOT / "examples/plans/ae-commission-candidate.yaml").read_text(encoding="utf-8")
TIGHT_CAP = BASELINE.replace(
    "    payout: {timing: true_up, negative: claw}\n",
    "    cap: {amount: 2000, per: period}\n    payout: {timing: true_up, negative: claw}\n",
    1,
)
MONTHS = ["FY2026-M02", "FY2026-M03"]  # M03 ends the quarter: true-up, the kicker's gate


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("model")
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    migrate(engine)
    load_demo(engine, folder / "files", seed=11, scale=0.03)
    yield engine
    engine.dispose()


def _engine_totals(engine: Engine, plans: dict[str, str] | None = None) -> tuple[dict[str, Decimal], int]:
    """Σ ae-commission earnings per payee over MONTHS from `runs.service.compute` (with a candidate document in
    place of the stored version when given), and how many earnings cut something at a cap."""
    documents = {k: parse_plan(v, k) for k, v in (plans or {}).items()}
    per: dict[str, Decimal] = {}
    cuts = 0
    with Session(engine) as session:
        for month in MONTHS:
            _ctx, results, _counts = compute(session, month, plans=documents or None)
            for e in results.earnings:
                if e.plan == "ae-commission":
                    per[e.payee] = per.get(e.payee, D(0)) + e.amount
                    cuts += e.cut > 0
    return per, cuts


def test_history_pays_what_the_engine_pays_for_the_baseline_and_a_candidate(demo: Engine) -> None:
    params = ModelParams("ae-commission", MONTHS[0], MONTHS[-1], (Candidate("capped", TIGHT_CAP),), draws=0)
    model = model_plan(demo, params)
    baseline, candidate = model.versions
    expected, _ = _engine_totals(demo)
    assert baseline.history.per_payee == expected and sum(expected.values()) > 0
    capped, cuts = _engine_totals(demo, {"ae-commission": TIGHT_CAP})
    assert candidate.history.per_payee == capped
    assert candidate.history.cap_hits == cuts > 0 and baseline.history.cap_hits == 0
    assert candidate.history.total < baseline.history.total
    assert not model.simulated and model.versions[0].draws == []
    result = model_json(model)
    change = result["changes"][0]
    assert change["losers"] > 0 and change["gainers"] == 0
    assert D(change["total_delta"]) == candidate.history.total - baseline.history.total
    worst = change["top_losses"][0]
    assert D(worst["delta"]) == min(capped[p] - expected[p] for p in expected)
    # cost of sales: payout over the primary measure (bookings) of the plan's payees
    assert result["primary"] == "bookings"
    h = result["versions"][0]["history"]
    assert D(h["cost_of_sales"]) == (baseline.history.total / baseline.history.primary).quantize(D("0.000001"))


def test_a_draw_equal_to_history_pays_exactly_what_history_paid(demo: Engine) -> None:
    """The simulation evaluates the plan's rules through the incent stage: handed the historical measures of a
    month, it pays the engine's earnings of that month to the cent, component by component."""
    with Session(demo) as session:
        for month in MONTHS:
            for state in capture_month(session, month, "ae-commission", [None, parse_plan(CANDIDATE, "c")]):
                history = {(e.payee, e.component): e.amount for e in state.earnings}
                again = simulate_month(state, [part.values.by_month for part in state.parts])
                assert {(e.payee, e.component): e.amount for e in again} == history
                assert any(v != 0 for v in history.values())


def test_monte_carlo_is_seeded_paired_and_counts_thresholds(demo: Engine) -> None:
    same = Candidate("same", BASELINE)
    params = ModelParams("ae-commission", MONTHS[0], MONTHS[-1], (same, Candidate("candidate", CANDIDATE)), draws=4)
    first = model_json(model_plan(demo, params))
    again = model_json(model_plan(demo, params))
    first.pop("seconds"), again.pop("seconds")
    assert first == again
    other = model_json(model_plan(demo, ModelParams(**{**params.__dict__, "seed": 8, "candidates": (same,)})))
    assert other["versions"][0]["simulation"] != first["versions"][0]["simulation"]
    base, copy, _cand = first["versions"]
    assert base["simulation"] == copy["simulation"]  # the same document on the same draws pays the same
    assert all(r["simulated_delta"] == "0.00" for r in first["changes"][0]["payees"] if r["simulated_delta"])
    sim = base["simulation"]
    t = sim["total"]
    assert D(t["p10"]) <= D(t["p50"]) <= D(t["p90"]) <= D(t["p99"]) <= D(t["max"])
    # the quarter's kicker gate and the year bonus: thresholds evaluated every draw the same number of times
    assert sim["thresholds_mean"] == base["history"]["thresholds"] > 0
    assert first["fits"] and first["fits"][0]["role"] == "AE" and first["fits"][0]["observations"] > 0
    assert sum(sum(c) for c in first["histogram"]["counts"].values()) == 4 * 3


def test_bad_parameters_are_refused_before_anything_runs(demo: Engine) -> None:
    with pytest.raises(InvalidInput, match="at least one candidate"):
        check_params(ModelParams("ae-commission", MONTHS[0], MONTHS[0], ()))
    other = (ROOT / "src/openspm/demo/plans/sdr_meetings.yaml").read_text(encoding="utf-8")
    with pytest.raises(InvalidInput, match="not 'ae-commission'"):
        check_params(ModelParams("ae-commission", MONTHS[0], MONTHS[0], (Candidate("x", other),)))
    broken = BASELINE.replace("rate: 0.128", "rate: lots")
    with pytest.raises(InvalidInput, match=r"x @ components"):
        check_params(ModelParams("ae-commission", MONTHS[0], MONTHS[0], (Candidate("x", broken),)))
    with pytest.raises(InvalidInput, match="method"):
        check_params(ModelParams("ae-commission", MONTHS[0], MONTHS[0], (Candidate("x", BASELINE),), method="x"))
    with pytest.raises(NotFound, match="unknown month 'FY2099-M01'"):
        model_plan(demo, ModelParams("ae-commission", "FY2099-M01", MONTHS[0], (Candidate("x", BASELINE),)))


def test_fitting_and_drawing_attainment() -> None:
    model = monte_carlo.fit({"AE": [0, 0.5, 1, 2, 1], "SDR": [1.0]}, "lognormal")
    ae = model.fit_of("AE")
    assert ae.zero_share == 0.2 and ae.mu == pytest.approx(0.0) and ae.sigma == pytest.approx(0.4901, abs=1e-4)
    assert model.fit_of("SDR").pooled  # one observation: the pool's fit
    draws = model.draw(np.random.default_rng(1), "AE", 20_000)
    assert abs((draws == 0).mean() - 0.2) < 0.02 and (draws >= 0).all()
    boot = monte_carlo.fit({"AE": [0, 0.5, 1, 2, 1]}, "bootstrap")
    assert set(boot.draw(np.random.default_rng(1), "AE", 500)) == {0, 0.5, 1, 2}
    with pytest.raises(InvalidInput):
        monte_carlo.fit({}, "normal")
    tails = monte_carlo.percentiles([1, 2, 3, 4, 100])
    assert tails["p50"] == 3 and tails["max"] == 100
    bins = monte_carlo.histogram({"a": [1, 2, 3], "b": [3, 4]}, bins=3)
    assert bins["edges"] == [1, 2, 3, 4] and bins["counts"] == {"a": [1, 1, 1], "b": [0, 0, 2]}


@pytest.fixture(scope="module")
def modeled(demo: Engine) -> dict[str, object]:
    params = ModelParams("ae-commission", MONTHS[0], MONTHS[-1], (Candidate("candidate", CANDIDATE),), draws=5)
    return model_json(model_plan(demo, params))


def test_the_report_is_one_page_and_byte_identical(modeled: dict[str, object]) -> None:
    html = plan_model_report.render_html(modeled, 3)
    assert "Plan model: ae-commission" in html and "Model 3" in html and "<svg" in html and "candidate" in html
    first, second = plan_model_report.render_pdf(modeled, 3), plan_model_report.render_pdf(modeled, 3)
    assert first.startswith(b"%PDF") and first == second
    from weasyprint import HTML  # type: ignore[import-untyped]

    assert len(HTML(string=html).render().pages) == 1


def test_a_model_runs_as_a_job(demo: Engine) -> None:
    queue = InProcessQueue(demo)
    params = ModelParams("ae-commission", MONTHS[0], MONTHS[0], (Candidate("candidate", CANDIDATE),), draws=3)
    try:
        job = submit_model(demo, queue, params, "analyst@x.io")
        assert job.state == "queued" and job.params["candidates"][0]["label"] == "candidate"
        done = queue.wait(job.id, timeout=120)
    finally:
        queue.shutdown()
    assert done.state == "succeeded" and done.progress == 1, done.error
    assert done.result is not None and done.result["draws"] == 3 and len(done.result["versions"]) == 2
    with pytest.raises(NotFound):
        submit_model(demo, queue, ModelParams("ae-commission", "FY2026-M13", "FY2026-M13", params.candidates), "a")


def _someone(engine: Engine, role: str) -> str:
    """The email of a demo user holding `role`."""
    from sqlalchemy import select

    from openspm.store import models as m

    with Session(engine) as session:
        email = session.scalars(
            select(m.User.email)
            .join(m.UserRole, m.UserRole.user_id == m.User.id)
            .join(m.Role, m.Role.id == m.UserRole.role_id)
            .where(m.Role.name == role)
            .order_by(m.User.email)
        ).first()
    assert email is not None
    return email


def _token_client(engine: Engine, email: str) -> TestClient:
    from openspm.auth.service import create_token

    _, token = create_token(engine, email, ["write"], actor="test")
    return TestClient(create_app(engine, secret=SECRET), headers={"Authorization": f"Bearer {token}"})


def _signed_in(engine: Engine, email: str) -> TestClient:
    client = TestClient(create_app(engine, secret=SECRET))
    answer = client.post(
        "/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _wait(client: TestClient, job_id: int) -> dict[str, object]:
    for _ in range(1200):
        job = client.get(f"/api/v1/plans/model/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the model job did not finish")


def test_the_api_by_role(demo: Engine) -> None:
    analyst = _token_client(demo, "comp.analyst@demo.openspm.io")
    body = {"plan": "ae-commission", "from": MONTHS[0], "to": MONTHS[0], "versions": [1], "draws": 2}
    started = analyst.post("/api/v1/plans/model", json={**body, "candidates": [{"label": "c", "text": CANDIDATE}]})
    assert started.status_code == 202, started.text
    job = _wait(analyst, started.json()["id"])
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert [v["label"] for v in result["versions"]] == ["baseline", "version 1", "c"]  # type: ignore[index]
    # the stored version 1 is the version in force: the same payouts, on history and on every draw
    assert result["changes"][0]["total_delta"] == "0.00"  # type: ignore[index]
    pdf = analyst.get(f"/api/v1/plans/model/{job['id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == analyst.get(f"/api/v1/plans/model/{job['id']}/report.pdf").content
    finance = _token_client(demo, "finance@demo.openspm.io")
    assert finance.get("/api/v1/plans/model").json()["total"] >= 1
    for email in (_someone(demo, "manager"), _someone(demo, "rep")):
        assert_error(_token_client(demo, email).post("/api/v1/plans/model", json=body), 403, "forbidden")
        assert_error(_token_client(demo, email).get(f"/api/v1/plans/model/{job['id']}"), 403, "forbidden")
    assert_error(analyst.post("/api/v1/plans/model", json={**body, "versions": [9]}), 404, "not_found")
    bad = {**body, "versions": [], "candidates": [{"label": "c", "text": "plan: ["}]}
    assert_error(analyst.post("/api/v1/plans/model", json=bad), 422, "invalid_input")
    assert_error(analyst.post("/api/v1/plans/model", json={**body, "draws": 10**6}), 422, "invalid_input")
    assert_error(analyst.get("/api/v1/plans/model/999999"), 404, "not_found")


def test_the_pages(demo: Engine) -> None:
    analyst = _signed_in(demo, "comp.analyst@demo.openspm.io")
    page = analyst.get("/plans/model")
    assert page.status_code == 200 and "Start a model" in page.text and 'value="ae-commission"' in page.text
    token = csrf_of(analyst, "/plans/model")
    form = {"csrf_token": token, "plan": "ae-commission", "start": "FY2026-M01", "end": "FY2026-M01", "draws": "2"}
    refused = analyst.post("/plans/model", data={**form, "candidate_yaml": CANDIDATE, "end": "soon"})
    assert refused.status_code == 404 and "unknown month" in refused.text and "paste a plan" in refused.text
    broken = analyst.post("/plans/model", data={**form, "candidate_yaml": "plan: ["})
    assert broken.status_code == 422
    chosen = {
        **form,
        "candidate_yaml": CANDIDATE,
        "candidate_label": "steeper",
        "versions": ["ae-commission:1", "sdr-meetings:1"],
    }
    started = analyst.post("/plans/model", data=chosen, follow_redirects=False)
    assert started.status_code == 303, started.text
    job_id = int(re.search(r"model\+(\d+)\+queued", started.headers["location"]).group(1))  # type: ignore[union-attr]
    _wait(_token_client(demo, "comp.analyst@demo.openspm.io"), job_id)
    result = analyst.get(f"/plans/model/{job_id}")
    assert result.status_code == 200 and 'id="model-histogram"' in result.text and "steeper" in result.text
    assert "version 1" in result.text  # the ticked version of the chosen plan; a tick of another plan is ignored
    assert 'id="model-charts"' in result.text and "/static/plan_modeling.js" in result.text
    assert analyst.get(f"/plans/model/{job_id}/report.pdf").content.startswith(b"%PDF")
    assert "Plan model: ae-commission" in analyst.get(f"/plans/model/{job_id}/report.html").text
    assert analyst.get("/static/plan_modeling.js").status_code == 200
    assert 'href="/plans/model"' in analyst.get("/plans").text
    assert _signed_in(demo, _someone(demo, "rep")).get("/plans/model").status_code == 403
    assert _signed_in(demo, "finance@demo.openspm.io").get(f"/plans/model/{job_id}").status_code == 200


def test_the_cli(demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", str(demo.url))
    candidate = tmp_path / "steeper.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    report = tmp_path / "model.pdf"
    args = ["plan", "model", "--plan", "ae-commission", "--candidate", str(candidate), "--from", MONTHS[0]]
    answer = CliRunner().invoke(cli_app, [*args, "--to", MONTHS[1], "--draws", "2", "--report", str(report), "--json"])
    assert answer.exit_code == 0, answer.output
    result = json.loads(answer.output)
    assert [v["label"] for v in result["versions"]] == ["baseline", "steeper"] and result["draws"] == 2
    assert report.read_bytes().startswith(b"%PDF")
    text = CliRunner().invoke(cli_app, [*args, "--to", MONTHS[0], "--draws", "0"])
    assert text.exit_code == 0 and "steeper" in text.output and "history" in text.output
    bad = CliRunner().invoke(cli_app, [*args, "--to", "FY2099-M01"])
    assert bad.exit_code != 0 and "unknown month" in bad.output


def test_on_both_stores_history_matches_the_stored_runs(engine: Engine, write: WriteFile) -> None:
    """A small company on SQLite and PostgreSQL: the baseline's history is what the stored runs paid, the
    candidate's what `compute` pays with it, and bootstrap draws of a 3-payee company are seeded."""
    from sqlalchemy import select

    from openspm.runs.service import latest_run
    from openspm.store import models as m
    from tests.test_access import PLAN as AE_PLAN
    from tests.test_access import build_company

    company = build_company(engine, write)
    richer = AE_PLAN.replace("rate: 0.05", "rate: 0.06")
    params = ModelParams("ae", "FY2025-M01", "FY2025-M02", (Candidate("richer", richer),), draws=3, method="bootstrap")
    model = model_plan(company, params)
    stored: dict[str, Decimal] = {}
    with Session(company) as session:
        for month in ("FY2025-M01", "FY2025-M02"):
            run = latest_run(session, month)
            for e in session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id)):
                stored[e.payee] = stored.get(e.payee, D(0)) + e.amount
        expected: dict[str, Decimal] = {}
        for month in ("FY2025-M01", "FY2025-M02"):
            for earning in compute(session, month, plans={"ae": parse_plan(richer, "richer")})[1].earnings:
                expected[earning.payee] = expected.get(earning.payee, D(0)) + earning.amount
    assert model.versions[0].history.per_payee == stored and sum(stored.values()) > 0
    assert model.versions[1].history.per_payee == expected
    assert model_json(model)["changes"][0]["gainers"] == 3
    assert [d.total for d in model.versions[0].draws] == [
        d.total for d in model_plan(company, params).versions[0].draws
    ]


def test_drawing_history_own_attainment_pays_history(demo: Engine) -> None:
    """The Monte Carlo path end to end for one draw: each payee-month's attainment set to its historical
    attainment (measure ÷ month quota) rebuilds the measures (attainment × quota, other measures scaled alike)
    and pays what the engine paid, to the cent."""
    from openspm.insights.plan_modeling import _Basis

    with Session(demo) as session:
        (state,) = capture_month(session, "FY2026-M03", "ae-commission", [None])
    basis = _Basis(state, "bookings")
    drawn = {}
    for part in basis.parts:
        for payee, month, quota, hist in part["rows"]:
            drawn[(payee.external_id, month)] = hist["bookings"] / quota if quota else D(0)
    by_month, factors, _total = basis.synthetic(drawn)
    again = simulate_month(state, by_month, factors, basis.evaluators)
    assert {(e.payee, e.component): e.amount for e in again} == {
        (e.payee, e.component): e.amount for e in state.earnings
    }
