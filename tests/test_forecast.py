"""Forecasting: stage probabilities from history (arithmetic worked by hand on a tiny store, SQLite and
PostgreSQL), the pipeline-weighted forecast's sums, the calibrated win-probability model on the demo's time-based
hold-out, the features behind each score adding up to it, and the faces (API, page, CLI) with who sees what."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.access.visibility import subtree
from openspm.cli.main import app as cli
from openspm.demo.service import load_demo
from openspm.insights.pipeline import forecast, pipeline_forecast, totals
from openspm.insights.win_probability import (
    evaluate,
    load_deals,
    score_deals,
    stage_calibration,
    stage_order,
    win_probabilities,
)
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from openspm.web.app import create_app
from tests.test_web import SECRET, csrf_of

DEMO_PASSWORD = "openspm-demo"

# --- a tiny store with a known answer ------------------------------------------------------

# (id, status, stage, stage_reached, CRM probability, amount, currency, close date)
TINY = [
    # closed: 10 deals, 4 won. Reached (last open stage): won W1 Negotiation, W2 Negotiation, W3 Proposal, W4 none
    ("W1", "won", "Closed Won", "Negotiation", "1", "100.00", "USD", date(2025, 3, 1)),
    ("W2", "won", "Closed Won", "Negotiation", "1", "100.00", "USD", date(2025, 4, 1)),
    ("W3", "won", "Closed Won", "Proposal", "1", "100.00", "USD", date(2025, 5, 1)),
    ("W4", "won", "Closed Won", None, "1", "100.00", "USD", date(2025, 6, 1)),
    ("L1", "lost", "Closed Lost", "Prospecting", "0", "100.00", "USD", date(2025, 3, 2)),
    ("L2", "lost", "Closed Lost", "Prospecting", "0", "100.00", "USD", date(2025, 4, 2)),
    ("L3", "lost", "Closed Lost", "Qualification", "0", "100.00", "USD", date(2025, 5, 2)),
    ("L4", "lost", "Closed Lost", "Proposal", "0", "100.00", "USD", date(2025, 6, 2)),
    ("L5", "lost", "Closed Lost", "Negotiation", "0", "100.00", "USD", date(2025, 7, 2)),
    ("L6", "lost", "Closed Lost", "Qualification", "0", "100.00", "USD", date(2025, 8, 2)),
    # open: the CRM probabilities give the stage order
    ("O1", "open", "Proposal", None, "0.50", "10000.00", "USD", date(2026, 1, 15)),
    ("O2", "open", "Prospecting", None, "0.10", "4000.00", "USD", date(2026, 1, 20)),
    ("O3", "open", "Negotiation", None, "0.75", "1000.00", "EUR", date(2026, 2, 10)),
    ("O4", "open", "Qualification", None, "0.20", "333.33", "USD", date(2026, 4, 1)),
]


def tiny_store(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        payee = m.Payee(external_id="P1", name="Pat Rep", pay_currency="USD", region="EMEA")
        account = m.Account(external_id="A1", name="Acme", industry="Software", size="MM", region="EMEA")
        session.add_all([payee, account])
        session.add(
            m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2025, 1, 1), rate=Decimal("1.1"))
        )
        session.flush()
        for ext, status, stage, reached, probability, amount, currency, close in TINY:
            attributes = {"stage_reached": reached} if reached else {}
            session.add(
                m.Opportunity(
                    external_id=ext,
                    name=f"deal {ext}",
                    account_id=account.id,
                    owner_id=payee.id,
                    stage=stage,
                    probability=Decimal(probability),
                    amount=Decimal(amount),
                    currency=currency,
                    close_date=close,
                    created_date=date(2025, 1, 1),
                    status=status,
                    attributes=attributes,
                )
            )


def test_stage_probabilities_from_history_worked_by_hand(engine: Engine) -> None:
    """Every closed deal reached Prospecting: 4/10. Qualification: reached by W1-W3 (3 won) and L3-L6 (4 lost)
    = 3/7. Proposal: W1-W3, L4, L5 = 3/5. Negotiation: W1, W2, L5 = 2/3. W4 (no stage_reached) counts for
    Prospecting only."""
    tiny_store(engine)
    with Session(engine) as session:
        deals = load_deals(session)
    assert stage_order(deals) == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    rates = {r.stage: r for r in stage_calibration(deals)}
    assert [(r.reached, r.won) for r in rates.values()] == [(10, 4), (7, 3), (5, 3), (3, 2)]
    assert rates["Prospecting"].probability == Decimal("0.4000")
    assert rates["Qualification"].probability == Decimal("0.4286")  # 3/7 = 0.428571...
    assert rates["Proposal"].probability == Decimal("0.6000")
    assert rates["Negotiation"].probability == Decimal("0.6667")
    assert rates["Negotiation"].crm_probability == Decimal("0.75")
    eur = next(d for d in deals if d.id == "O3")
    assert eur.amount_reporting == Decimal("1100.000")  # 1,000.00 EUR at 1.1


def test_pipeline_forecast_sums_worked_by_hand(engine: Engine) -> None:
    """2026-01: O1 10,000.00 × CRM 0.50 = 5,000.00 and × history 0.6000 = 6,000.00; O2 4,000.00 × 0.10 = 400.00
    and × 0.4000 = 1,600.00 → CRM 5,400.00, stage 7,600.00. 2026-02: O3 1,100.00 USD × 0.75 = 825.00 and
    × 0.6667 = 733.37. 2026-04: O4 333.33 × 0.20 = 66.666 → 66.67 and × 0.4286 = 142.865… → 142.87."""
    tiny_store(engine)
    with Session(engine) as session:
        deals = load_deals(session)
        by_quarter = pipeline_forecast(session, period="quarter")
    scores = score_deals(deals)
    rows = forecast(scores, as_of=date(2026, 1, 1), period="month")
    got = {r.period: (r.deals, r.pipeline, r.crm, r.stage) for r in rows}
    assert got == {
        "2026-01": (2, Decimal("14000.00"), Decimal("5400.00"), Decimal("7600.00")),
        "2026-02": (1, Decimal("1100.00"), Decimal("825.00"), Decimal("733.37")),
        "2026-04": (1, Decimal("333.33"), Decimal("66.67"), Decimal("142.87")),
    }
    for r in rows:
        assert Decimal(0) <= r.model <= r.pipeline and r.model == r.model.quantize(Decimal("0.01"))
    total = totals(rows)
    assert total is not None and total.pipeline == Decimal("15433.33") and total.crm == Decimal("6291.67")
    assert [(r.period, r.deals) for r in by_quarter] == [("2026-Q1", 3), ("2026-Q2", 1)]
    assert sum(r.model for r in by_quarter) == total.model  # each deal's product is rounded before summing
    by_rep = forecast(scores, as_of=date(2026, 1, 1), period="month", by="rep")
    assert {r.group for r in by_rep} == {"Pat Rep (P1)"}


# --- the demo company ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo company at scale 0.05 (150 opportunities) in a SQLite file."""
    folder = tmp_path_factory.mktemp("forecast")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    migrate(engine)
    load_demo(engine, folder / "files", seed=7, scale=0.05)
    yield engine
    engine.dispose()


def test_demo_closed_deals_carry_the_stage_they_reached_and_it_predicts_winning(demo: Engine) -> None:
    with Session(demo) as session:
        deals = load_deals(session)
    closed = [d for d in deals if d.closed]
    assert closed and all(d.stage_reached for d in closed)
    assert all(d.stage_reached is None for d in deals if d.status == "open")
    rates = [r.probability or Decimal(0) for r in stage_calibration(deals)]
    assert rates[-1] > rates[0] > 0  # Negotiation wins more often than Prospecting


def test_model_beats_the_base_rate_and_the_crm_on_the_hold_out(demo: Engine) -> None:
    with Session(demo) as session:
        deals = load_deals(session)
    e = evaluate(deals)
    assert e.cut == date(2026, 6, 1) and e.test_deals > 15
    brier = {x.name: x.brier for x in e.metrics}
    auc = {x.name: x.auc for x in e.metrics}
    assert brier["model"] < brier["base rate"] - 0.05, brier
    assert brier["model"] < brier["stage"] < brier["crm"], brier
    assert auc["model"] is not None and auc["model"] > 0.75, auc
    for bins in e.bins.values():
        assert sum(b.rows for b in bins) == e.test_rows
        assert all(b.low <= b.predicted <= b.high and 0 <= b.observed <= 1 for b in bins)


def test_the_features_behind_a_score_add_up_to_it(demo: Engine) -> None:
    """baseline + Σ contributions = the calibrated log-odds, so expit of it is the score (to its 4 places)."""
    with Session(demo) as session:
        deals = load_deals(session)
        probabilities = win_probabilities(session)
    scores = score_deals(deals)
    assert {s.deal.id for s in scores} == {d.id for d in deals if d.status == "open"} == set(probabilities)
    for s in scores:
        z = s.baseline_log_odds + sum(c.log_odds for c in s.contributions)
        assert abs(1 / (1 + math.exp(-z)) - float(s.probability)) <= 0.00005
        assert probabilities[s.deal.id] == s.probability and Decimal(0) <= s.probability <= Decimal(1)
        assert len({c.feature for c in s.contributions}) == len(s.contributions)
        assert [abs(c.log_odds) for c in s.contributions] == sorted(
            (abs(c.log_odds) for c in s.contributions), reverse=True
        )
    stage = next(c for c in scores[0].contributions if c.feature == "stage")
    assert stage.value == scores[0].deal.stage


def _user(engine: Engine, role: str) -> tuple[str, int]:
    """A demo user with `role` who owns at least one open deal (directly, or a manager through the team)."""
    with Session(engine) as session:
        owners = set(session.scalars(select(m.Opportunity.owner_id).where(m.Opportunity.status == "open")))
        rows = session.execute(
            select(m.User.email, m.User.payee_id)
            .join(m.UserRole, m.UserRole.user_id == m.User.id)
            .join(m.Role, m.Role.id == m.UserRole.role_id)
            .where(m.Role.name == role, m.User.payee_id.is_not(None))
            .order_by(m.User.email)
        ).all()
        for email, payee in rows:
            team = subtree(session, payee, date(2026, 12, 31), date(2027, 1, 1)) if role == "manager" else {payee}
            if team & owners and (role == "rep" or len(team) > 1):
                return email, payee
    raise AssertionError(f"no {role} owning an open deal")


def _client(engine: Engine, email: str) -> TestClient:
    client = TestClient(create_app(engine, secret=SECRET))
    answer = client.post(
        "/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def test_api_gives_each_role_the_deals_it_may_see(demo: Engine) -> None:
    admin = _client(demo, "admin@demo.openspm.io")
    everything = admin.get("/api/v1/insights/win-probability", params={"limit": 1000}).json()
    with Session(demo) as session:
        open_count = len(list(session.scalars(select(m.Opportunity.id).where(m.Opportunity.status == "open"))))
        payees = dict(session.execute(select(m.Payee.id, m.Payee.external_id)).tuples().all())
    assert everything["total"] == open_count == len(everything["items"])
    first = everything["items"][0]
    assert set(first) >= {"probability", "stage_probability", "crm_probability", "contributions", "baseline_log_odds"}

    email, payee = _user(demo, "rep")
    mine = _client(demo, email).get("/api/v1/insights/win-probability", params={"limit": 1000}).json()
    assert mine["total"] >= 1 and {d["owner"] for d in mine["items"]} == {payees[payee]}

    email, manager = _user(demo, "manager")
    with Session(demo) as session:
        team = {payees[p] for p in subtree(session, manager, date(2026, 12, 31), date(2027, 1, 1))}
    client = _client(demo, email)
    theirs = client.get("/api/v1/insights/win-probability", params={"limit": 1000}).json()
    assert theirs["total"] >= 1 and {d["owner"] for d in theirs["items"]} <= team
    assert theirs["total"] < everything["total"]

    forecast_all = admin.get("/api/v1/insights/pipeline-forecast", params={"period": "quarter", "by": "region"}).json()
    rows = forecast_all["rows"]
    assert sum(Decimal(r["pipeline"]) for r in rows) == Decimal(forecast_all["total"]["pipeline"])
    assert sum(r["deals"] for r in rows) == open_count
    assert {s["stage"] for s in forecast_all["stages"]} == {"Prospecting", "Qualification", "Proposal", "Negotiation"}
    team_forecast = client.get("/api/v1/insights/pipeline-forecast").json()
    assert team_forecast["total"]["deals"] == theirs["total"]
    assert admin.get("/api/v1/insights/pipeline-forecast", params={"by": "planet"}).status_code == 422

    calibration = admin.get("/api/v1/insights/win-probability/calibration").json()
    assert calibration["cut"] == "2026-06-01" and set(calibration["bins"]) == {"model", "uncalibrated", "stage", "crm"}


def test_the_forecast_page_shows_the_forecast_the_calibration_and_the_deals(demo: Engine) -> None:
    admin = _client(demo, "admin@demo.openspm.io")
    page = admin.get("/insights/forecast", params={"period": "quarter", "by": "team"})
    assert page.status_code == 200
    for text in ("Pipeline-weighted forecast", "Stage probabilities from history", "Model calibration", "Open deals",
                 'id="chart-calibration"', "/static/forecast.js", 'href="/insights/forecast"', "features behind"):  # fmt: skip
        assert text in page.text, text
    data = json.loads(page.text.split('id="forecast-data">')[1].split("</script>")[0])
    assert data["periods"] and set(data["calibration"]) == {"model", "uncalibrated", "stage", "crm"}
    assert admin.get("/static/forecast.js").status_code == 200

    email, payee = _user(demo, "rep")
    rep_page = _client(demo, email).get("/insights/forecast")
    assert rep_page.status_code == 200 and "for the deals you own" in rep_page.text
    with Session(demo) as session:
        others = session.scalars(
            select(m.Opportunity.external_id).where(m.Opportunity.status == "open", m.Opportunity.owner_id != payee)
        ).all()
    assert not any(f">{ext}<" in rep_page.text for ext in others)
    assert admin.get("/insights/forecast", params={"by": "planet"}).status_code == 422


def test_an_empty_store_forecasts_nothing_and_says_why_a_model_cannot_be_trained(engine: Engine) -> None:
    from openspm.access.forecast import calibration_for, forecast_for
    from openspm.access.principal import Principal
    from openspm.core.errors import InvalidInput

    admin = Principal(1, "a@x.io", "A", frozenset({"admin"}))
    view = forecast_for(engine, admin)
    assert view.rows == [] and view.total is None and view.scores == []
    with pytest.raises(InvalidInput, match="no closed deals"):
        calibration_for(engine, admin)


def test_cli_pipeline_win_probability_and_calibration_files(
    demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", str(demo.url))
    runner = CliRunner()
    result = runner.invoke(cli, ["forecast", "pipeline", "--period", "quarter", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["rows"] and Decimal(answer["total"]["model"]) <= Decimal(answer["total"]["pipeline"])
    result = runner.invoke(cli, ["forecast", "win-probability", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["deals"][0]["contributions"]
    png = shutil.which("/usr/bin/chromium") is not None
    out = tmp_path / "out" / "reliability.svg"
    result = runner.invoke(
        cli, ["forecast", "calibration", "--out", str(out), "--json", *([] if png else ["--no-png"])]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"][0]["name"] == "model"
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "reliability on the hold-out" in svg and svg.count("<circle") >= 8
    if png:
        assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(cli, ["forecast", "calibration", "--out", str(out), "--cut", "2030-01-01", "--no-png"])
    assert bad.exit_code == 2 and "no deal closed on or after 2030-01-01" in bad.stderr
