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
