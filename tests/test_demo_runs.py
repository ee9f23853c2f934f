"""The demo company's plans run for every month of its two years, and each run is recorded."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openspm.demo.service import load_demo
from openspm.plan.load import load_plan
from openspm.runs.service import months_with_data, run_period
from openspm.store import models as m
from openspm.store.db import make_engine

PLANS = Path(__file__).resolve().parents[1] / "src" / "openspm" / "demo" / "plans"


def test_demo_plans_are_valid_plan_files() -> None:
    ids = {load_plan(path).plan for path in PLANS.glob("*.yaml")}
    assert ids == {"ae-commission", "manager-override", "sdr-meetings"}


def test_every_month_of_the_demo_runs_and_is_recorded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    load_demo(engine, tmp_path / "demo", seed=5, scale=0.05)
    months = months_with_data(engine)
    assert months[0] == "FY2025-M01" and months[-1] == "FY2026-M12" and len(months) == 24
    totals = {}
    for month in months:
        summary = run_period(engine, month, actor="test")
        assert summary.plans == {"ae-commission": 1, "manager-override": 1, "sdr-meetings": 1}
        totals[month] = summary.total.get("USD", Decimal(0))
    with Session(engine) as session:
        statuses = [tuple(row) for row in session.execute(select(m.Run.status, func.count()).group_by(m.Run.status))]
        components = set(session.scalars(select(m.RunEarning.component).distinct()))
    assert statuses == [("completed", 24)]
    assert components == {
        "commission", "analytics_kicker", "annual_bonus", "team_override", "team_attainment_bonus",
        "meeting_spif", "monthly_bonus",
    }  # fmt: skip
    assert all(total > 0 for total in totals.values())
    # Quarter ends pay the quarterly components too, so they exceed the months around them.
    assert totals["FY2025-M03"] > totals["FY2025-M02"]


def test_the_demo_closes_its_first_year_and_pays_every_month(tmp_path: Path) -> None:
    from openspm.close.documents import month_documents
    from openspm.close.service import approve, close, status
    from openspm.runs.pay import payments_of

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    load_demo(engine, tmp_path / "demo", seed=5, scale=0.05)
    year = [f"FY2025-M{i:02d}" for i in range(1, 13)]
    for month in [*year, "FY2026-M01"]:
        run_period(engine, month, actor="test")
    for month in year:
        approve(engine, month, "test")
        close(engine, month, "test", month_documents)
    assert [s.status for s in status(engine, "FY2025")] == ["closed"] * 12
    with Session(engine) as session:
        for month in year:
            payments = payments_of(session, month)
            earned = sum((p.earned for p in payments), Decimal(0))
            run = session.scalars(select(m.Run).where(m.Run.period == month)).one()
            stored = sum(session.scalars(select(m.RunEarning.amount).where(m.RunEarning.run_id == run.id)), Decimal(0))
            assert payments and earned == stored  # every earning is in a payment
            for p in payments:
                assert p.amount == sum((Decimal(line["amount"]) for line in p.lines), Decimal(0))
    # Nothing changed after the close: the next year pays no prior-period adjustment.
    run_period(engine, "FY2026-M02", actor="test")
    with Session(engine) as session:
        kinds = {line["kind"] for p in payments_of(session, "FY2026-M02") for line in p.lines}
    assert "prior_period_adjustment" not in kinds
