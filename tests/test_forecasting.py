"""Time-series forecasts, accuracy arithmetic, commits roll-up and forecast-vs-actual tracking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.insights import commits, series
from openspm.insights.accuracy import accuracy
from openspm.insights.bookings import load_bookings
from openspm.insights.forecasts import accuracy_report, backtest, make_series_forecast, snapshot_pipeline
from openspm.store import models as m
from openspm.store.db import make_engine, transaction

D = Decimal


# --- accuracy arithmetic ---------------------------------------------------------------------------------


def test_mape_wape_and_bias_of_the_worked_example() -> None:
    a = accuracy([(D(110), D(100)), (D(90), D(100))])
    assert (a.n, a.mape, a.wape, a.bias) == (2, D("0.1000"), D("0.1000"), D("0.0000"))


def test_zero_actuals_are_skipped_by_mape_but_count_in_wape_and_bias() -> None:
    a = accuracy([(D(50), D(100)), (D(20), D(0))])
    assert a.mape == D("0.5000")
    assert a.zero_actuals == 1
    assert a.wape == D("0.7000")  # (50 + 20) / 100
    assert a.bias == D("-0.3000")  # (-50 + 20) / 100


def test_all_zero_actuals_give_no_ratio_and_no_pairs_give_none() -> None:
    a = accuracy([(D(5), D(0)), (D(0), D(0))])
    assert (a.mape, a.wape, a.bias, a.zero_actuals) == (None, None, None, 2)
    empty = accuracy([])
    assert (empty.n, empty.mape, empty.wape) == (0, None, None)


def test_over_forecasting_is_a_positive_bias() -> None:
    assert accuracy([(D(120), D(100)), (D(130), D(100))]).bias == D("0.2500")
    assert accuracy([(D(80), D(100))]).bias == D("-0.2000")


# --- series ----------------------------------------------------------------------------------------------


def test_the_seasonal_naive_baseline_repeats_the_last_season() -> None:
    assert series.seasonal_naive([float(i) for i in range(1, 13)], 3, 12) == [1.0, 2.0, 3.0]
    assert series.seasonal_naive([1.0, 2.0, 3.0, 4.0], 5, 3) == [2.0, 3.0, 4.0, 2.0, 3.0]
    assert series.seasonal_naive([], 2, 12) == [0.0, 0.0]


def test_season_lengths_follow_the_history() -> None:
    assert (series.season_for(24), series.season_for(18), series.season_for(5)) == (12, 3, 1)
    assert (series.baseline_season(12), series.baseline_season(11), series.baseline_season(2)) == (12, 3, 1)


def test_a_seasonal_series_is_forecast_by_every_method_and_the_baseline() -> None:
    pattern = [100.0, 100.0, 300.0] * 8  # quarter-end spikes, 24 months
    found = series.forecast({"s": pattern}, 6)[0]
    assert set(found.values) == {*series.METHODS, series.BASELINE}
    assert found.seasons[series.BASELINE] == 12
    assert found.values[series.BASELINE] == [100.0, 100.0, 300.0, 100.0, 100.0, 300.0]
    ets = found.values["auto_ets"]
    assert ets[2] > 2 * ets[0] and ets[5] > 2 * ets[3]  # the model keeps the quarter-end spike
    assert all(v >= 0 for values in found.values.values() for v in values)


def test_a_short_history_falls_back_and_says_so() -> None:
    found = series.forecast_one("s", [5.0, 7.0], 2)
    assert found.values == {series.BASELINE: [7.0, 7.0]}
    assert any("too short" in note for note in found.notes)
    quarterly = series.forecast_one("q", [10.0, 10.0, 40.0] * 3, 3)
    assert quarterly.seasons["auto_ets"] == 3 and quarterly.seasons[series.BASELINE] == 3


def test_unknown_methods_and_horizons_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown forecast method"):
        series.forecast({"s": [1.0] * 12}, 3, ["prophet"])
    with pytest.raises(ValueError, match="horizon"):
        series.forecast({"s": [1.0] * 12}, 0)


# --- a small company in the store (SQLite and PostgreSQL) ------------------------------------------------


def _company(engine: Engine) -> dict[str, int]:
    """A VP over managers M1 (reps A, B) and M2 (rep C); 24 months of sales on three accounts in two regions,
    one in EUR; calendar periods for 2025-2027."""
    with transaction(engine) as s:
        cal = m.Calendar(name="fiscal")
        s.add(cal)
        s.flush()
        for year in (2025, 2026, 2027):
            s.add(m.Period(calendar_id=cal.id, name=f"FY{year}-Q1", kind="quarter", start_date=date(year, 1, 1),
                           end_date=date(year, 4, 1), fiscal_year=year))  # fmt: skip
        ids: dict[str, int] = {}
        for ext in ("VP", "M1", "M2", "A", "B", "C"):
            p = m.Payee(external_id=ext, name=f"Payee {ext}", pay_currency="USD")
            s.add(p)
            s.flush()
            ids[ext] = p.id
        for rep, boss in (("M1", "VP"), ("M2", "VP"), ("A", "M1"), ("B", "M1"), ("C", "M2")):
            s.add(m.ReportingLine(payee_id=ids[rep], manager_id=ids[boss], effective_from=date(2024, 1, 1)))
        product = m.Product(external_id="P", name="P", family="F")
        s.add(product)
        s.add(m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2024, 1, 1), rate=D("1.1")))
        accounts = {}
        for ext, region, owner in (("AC1", "NA", "A"), ("AC2", "NA", "B"), ("AC3", "EMEA", "C")):
            acc = m.Account(external_id=ext, name=ext, region=region)
            s.add(acc)
            s.flush()
            accounts[ext] = acc.id
            s.add(
                m.AccountAssignment(account_id=acc.id, payee_id=ids[owner], share=D(1), effective_from=date(2024, 1, 1))
            )
        s.flush()
        n = 0
        for year in (2025, 2026):
            for month in range(1, 13):
                spike = 3 if month % 3 == 0 else 1
                for ext, amount, currency in (("AC1", 100, "USD"), ("AC2", 50, "USD"), ("AC3", 100, "EUR")):
                    n += 1
                    s.add(m.Transaction(external_id=f"T{n}", date=date(year, month, 10), account_id=accounts[ext],
                                        product_id=product.id, quantity=D(1), amount=D(amount * spike),
                                        currency=currency))  # fmt: skip
        s.add(m.Opportunity(external_id="O-WON", name="won", owner_id=ids["A"], stage="Negotiation",
                            probability=D("0.5"), amount=D(1000), currency="USD", close_date=date(2027, 2, 1)))  # fmt: skip
        s.add(m.Opportunity(external_id="O-LOST", name="lost", owner_id=ids["B"], stage="Proposal",
                            probability=D("0.2"), amount=D(500), currency="USD", close_date=date(2027, 2, 15)))  # fmt: skip
    return ids


def test_bookings_by_scope_convert_currency_and_roll_up_the_lines(engine: Engine) -> None:
    _company(engine)
    with Session(engine) as s:
        b = load_bookings(s)
    assert len(b.months) == 24 and b.regions == ["region:EMEA", "region:NA"]
    assert b.teams == ["team:M1", "team:M2"]
    assert b.amounts["region:EMEA"]["2025-01"] == D("110.00")  # 100 EUR × 1.1
    assert b.amounts["team:M1"]["2025-03"] == D(450)  # (100 + 50) × 3
    assert b.amounts["team:VP"]["2025-01"] == b.amounts["company"]["2025-01"] == D("260.00")
    assert b.amounts["payee:C"]["2025-02"] == D("110.00")


def test_commits_roll_up_to_managers_and_a_call_overrides_the_team(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        commits.enter(s, payee_id=ids["A"], period="FY2027-Q1", kind="commit", commit=D(100), best_case=D(150),
                      note=None, actor="a@x")  # fmt: skip
        commits.enter(s, payee_id=ids["A"], period="FY2027-Q1", kind="commit", commit=D(120), best_case=D(150),
                      note="raised", actor="a@x")  # fmt: skip
        commits.enter(s, payee_id=ids["B"], period="FY2027-Q1", kind="commit", commit=D(50), best_case=D(80),
                      note=None, actor="b@x")  # fmt: skip
        commits.enter(s, payee_id=ids["C"], period="FY2027-Q1", kind="commit", commit=D(30), best_case=None,
                      note=None, actor="c@x")  # fmt: skip
    with Session(engine) as s:
        tree = commits.rollup(s, ids["VP"], "FY2027-Q1")
        assert commits.top_managers(s, "FY2027-Q1") == [ids["VP"]]
        assert [e.commit for e in commits.history(s, ids["A"], "FY2027-Q1")] == [D(120), D(100)]
    m1, m2 = tree.children
    assert (m1.team_commit, m1.team_best_case, m1.effective_commit) == (D(170), D(230), D(170))
    assert (m2.effective_commit, m2.effective_best_case) == (D(30), D(30))  # no best case: the commit
    assert (tree.effective_commit, tree.reported, tree.reps) == (D(200), 3, 3)
    with transaction(engine) as s:
        commits.enter(s, payee_id=ids["M1"], period="FY2027-Q1", kind="call", commit=D(140), best_case=None,
                      note=None, actor="m1@x")  # fmt: skip
    with Session(engine) as s:
        tree = commits.rollup(s, ids["VP"], "FY2027-Q1")
        snapshots = s.scalar(
            select(func.count()).select_from(m.ForecastSnapshot).where(m.ForecastSnapshot.source == "commit")
        )
    assert tree.children[0].effective_commit == D(140)  # the call, not 170
    assert tree.children[0].effective_best_case == D(230)  # the call names no best case: the team's
    assert tree.effective_commit == D(170)
    assert snapshots == 8  # 4 commits with best cases where given, one call


def test_bad_commits_are_refused(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        with pytest.raises(InvalidInput, match="best case"):
            commits.enter(s, payee_id=ids["A"], period="FY2027-Q1", kind="commit", commit=D(100), best_case=D(50),
                          note=None, actor="a@x")  # fmt: skip
        with pytest.raises(InvalidInput, match="negative"):
            commits.enter(s, payee_id=ids["A"], period="FY2027-Q1", kind="commit", commit=D(-1), best_case=None,
                          note=None, actor="a@x")  # fmt: skip


def test_forecasts_commits_and_deals_are_scored_against_actuals(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:  # a commit for a quarter that has its actuals: A sold 100 + 100 + 300 in Q1 2026
        commits.enter(s, payee_id=ids["A"], period="FY2026-Q1", kind="commit", commit=D(400), best_case=D(600),
                      note=None, actor="a@x")  # fmt: skip
    made = make_series_forecast(engine, horizon=2, methods=("auto_ets",), actor="t")
    assert made.first_month == "2027-01" and made.rows == 2 * 2 * (1 + 2 + 2)  # 2 methods × 2 months × 5 scopes
    pipeline = snapshot_pipeline(engine, start=date(2027, 1, 1), end=date(2027, 4, 1), actor="t")
    assert pipeline["deals"] == 2
    report = accuracy_report(engine)
    rows = {(r.source, r.method, r.level): r.accuracy for r in report.rows}
    assert rows[("commit", "commit", "payee")].wape == D("0.2000")  # |400 - 500| / 500
    assert rows[("commit", "best_case", "payee")].bias == D("0.2000")
    assert report.pending == 2 * 2 * 5 + 2 + 1  # the 2027 series rows, the open deals and their (February) total
    with transaction(engine) as s:  # the deals close: one won, one lost
        s.execute(update(m.Opportunity).where(m.Opportunity.external_id == "O-WON").values(status="won"))
        s.execute(update(m.Opportunity).where(m.Opportunity.external_id == "O-LOST").values(status="lost"))
    report = accuracy_report(engine)
    deal = {(r.source, r.level): r.accuracy for r in report.rows}[("pipeline", "deal")]
    # forecasts 500 (1000 × 0.5) and 100 (500 × 0.2) against 1000 won and 0 lost
    assert (deal.n, deal.mape, deal.wape, deal.bias, deal.zero_actuals) == (
        2,
        D("0.5000"),
        D("0.6000"),
        D("-0.4000"),
        1,
    )
    assert {d.deal: d.actual for d in report.deals} == {"O-WON": D(1000), "O-LOST": D(0)}
    later = accuracy_report(engine, through=date(2027, 3, 1))
    assert any(r.source == "series" for r in later.rows)


def test_the_backtest_scores_each_method_and_the_baseline(engine: Engine) -> None:
    _company(engine)
    with Session(engine) as s:
        found = backtest(s, "2026-07", methods=("auto_ets",))
        with pytest.raises(InvalidInput, match="held-out"):
            backtest(s, "2027-01")
    assert found.train == ("2025-01", "2026-06") and found.holdout == ("2026-07", "2026-12")
    levels = {(r.level, r.method): r.accuracy for r in found.levels}
    assert set(levels) == {(lv, mt) for lv in ("company", "region", "team") for mt in ("auto_ets", "seasonal_naive")}
    assert levels[("company", "auto_ets")].n == 6 and levels[("team", "seasonal_naive")].n == 12
    # the company repeats exactly, so the seasonal-naive baseline is perfect
    assert levels[("company", "seasonal_naive")].wape == D(0)


def test_a_forecast_runs_as_a_job_with_progress(tmp_path: Path) -> None:
    from openspm.jobs.forecasts import submit_forecast
    from openspm.jobs.queue import InProcessQueue
    from openspm.store.db import migrate

    store = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(store)
    _company(store)
    queue = InProcessQueue(store)
    try:
        with pytest.raises(InvalidInput):
            submit_forecast(store, queue, 0, ["auto_ets"], "t")
        job = submit_forecast(store, queue, 3, ["auto_ets"], "t")
        done = queue.wait(job.id, timeout=120)
    finally:
        queue.shutdown()
    assert done.state == "succeeded", done.error
    assert done.result is not None and done.result["rows"] == 2 * 3 * 5
    with Session(store) as s:
        batch = s.scalars(select(m.ForecastSnapshot.batch).where(m.ForecastSnapshot.job_id == job.id)).first()
    assert batch == done.result["batch"]


def test_the_forecasts_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from openspm.cli.main import app
    from openspm.store.db import migrate

    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENSPM_DATABASE_URL", raising=False)
    store = make_engine(f"sqlite:///{tmp_path / 'openspm.db'}")
    migrate(store)
    _company(store)
    runner = CliRunner()
    shown = runner.invoke(app, ["forecast", "backtest", "--holdout-from", "2026-07", "--json"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["holdout"] == ["2026-07", "2026-12"]
    methods = {(r["level"], r["method"]) for r in found["levels"]}
    assert ("team", "seasonal_naive") in methods and ("region", "auto_ets") in methods
    table = runner.invoke(app, ["forecast", "backtest", "--holdout-from", "2026-07"])
    assert table.exit_code == 0 and "seasonal_naive" in table.output and "WAPE" in table.output
    bad = runner.invoke(app, ["forecast", "backtest", "--holdout-from", "July"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    made = runner.invoke(app, ["forecast", "series", "--horizon", "2", "--method", "auto_ets", "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["rows"] == 2 * 2 * 5
    entered = runner.invoke(app, ["forecast", "commit", "--payee", "A", "--period", "FY2026-Q1", "--commit", "400"])
    assert entered.exit_code == 0, entered.output
    call = runner.invoke(
        app, ["forecast", "commit", "--payee", "M1", "--period", "FY2026-Q1", "--commit", "900", "--call"]
    )
    assert call.exit_code == 0, call.output
    rolled = json.loads(runner.invoke(app, ["forecast", "commits", "--period", "FY2026-Q1", "--json"]).output)
    assert [(r["payee"], r["effective_commit"]) for r in rolled[:2]] == [("VP", "900.00"), ("M1", "900.00")]
    scored = json.loads(runner.invoke(app, ["forecast", "accuracy", "--json"]).output)
    commit_row = next(r for r in scored["rows"] if r["method"] == "commit")
    assert commit_row["wape"] == "0.2000"  # 400 against 500
    call_row = next(r for r in scored["rows"] if r["method"] == "call")
    assert call_row["level"] == "team" and call_row["actual"] == "750"  # M1: (100 + 50) × (1 + 1 + 3) in Q1 2026


def test_a_forecast_made_elsewhere_is_recorded_and_scored(engine: Engine) -> None:
    from openspm.insights.forecasts import record_forecast

    _company(engine)
    with transaction(engine) as s:
        record_forecast(s, source="pipeline", method="stage_weighted", scope="region:NA", start=date(2026, 3, 1),
                        end=date(2026, 4, 1), amount=D("500.004"), actor="t")  # fmt: skip
        with pytest.raises(InvalidInput):
            record_forecast(s, source="guess", method="x", scope="company", start=date(2026, 3, 1),
                            end=date(2026, 4, 1), amount=D(1), actor="t")  # fmt: skip
    row = {(r.source, r.method, r.level): r.accuracy for r in accuracy_report(engine).rows}[
        ("pipeline", "stage_weighted", "region")
    ]
    assert (row.forecast, row.actual, row.bias) == (D("500.00"), D(450), D("0.1111"))  # NA in March 2026: 3 × 150


def test_a_forecast_from_a_past_month_is_scored_at_once(engine: Engine) -> None:
    _company(engine)
    made = make_series_forecast(engine, horizon=6, methods=("auto_ets",), actor="t", first_month="2026-07")
    assert (made.first_month, made.history_months) == ("2026-07", 18)
    # the newest line is on 10 December: December counts once actuals are declared complete to its end
    assert {(r.method, r.level): r.accuracy.n for r in accuracy_report(engine).rows}[("auto_ets", "company")] == 5
    rows = {(r.source, r.method, r.level): r.accuracy for r in accuracy_report(engine, through=date(2027, 1, 1)).rows}
    baseline = rows[("series", "seasonal_naive", "company")]
    assert baseline.n == 6 and baseline.wape == D(0)  # the company repeats its year exactly
    assert rows[("series", "auto_ets", "team")].n == 6 * 2
    with pytest.raises(InvalidInput, match="nothing to forecast from"):
        make_series_forecast(engine, horizon=1, actor="t", first_month="2024-01")


def test_accuracy_per_scope(engine: Engine) -> None:
    _company(engine)
    make_series_forecast(engine, horizon=3, methods=("auto_ets",), actor="t", first_month="2026-07")
    report = accuracy_report(engine)
    scopes = {(r.method, r.level): r.accuracy for r in report.scopes}
    assert {s for _, s in scopes} == {"company", "region:EMEA", "region:NA", "team:M1", "team:M2"}
    assert scopes[("seasonal_naive", "region:EMEA")].actual == D("550.00")  # July..September: 110 + 110 + 330
    assert scopes[("seasonal_naive", "team:M1")].wape == D(0)
