"""Gamification (SQLite and PostgreSQL): leaderboards (ranking, ties, scopes, the opt-out), contest files and
their errors, live standings and the close, badges awarded once, notifications.

The company is `tests.test_access.build_company`: R1 8,000 (Jan) + 2,000 (Feb); R2 4,000.50 (Jan, under M1) +
12,000 (Feb, under M2); R3 3,000 (Jan); quarterly bookings quota 20,000 each; January and February run.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.gamification import (
    add_contest_for,
    award_badges_for,
    badges_for,
    close_contest_for,
    leaderboard_for,
    mark_read_for,
    notifications_for,
    set_ranking_public_for,
    standings_for,
    unread_for,
)
from openspm.core.errors import Conflict, NotFound
from openspm.demo.service import DEMO_CONTEST
from openspm.gamification.contests import parse_contest
from openspm.gamification.leaderboard import competition_ranks
from openspm.ingest.service import import_file
from openspm.plan.load import PlanError
from openspm.runs.live import LiveEngine, TransactionChange
from openspm.runs.service import run_period
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company, who

CONTEST = """
contest: winter-push
name: Winter push
kind: contest
plan: ae
window: {from: FY2025-M01, to: FY2025-M02}
participants: {roles: []}
eligible: "amount > 3000"
metric: {sum: amount}
threshold: 5000
prizes:
  - {rank: 1, amount: 1000}
  - {rank: 2, amount: 500}
pay_period: FY2025-M03
"""

SPIF = """
contest: deal-spif
name: Deal SPIF
kind: spif
plan: ae
window: {from: FY2025-M01, to: FY2025-M02}
metric: {count: transactions}
payout: {per_unit: 100, cap: 150}
pay_period: FY2025-M03
"""


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def test_competition_ranking_shares_the_better_rank_and_skips() -> None:
    ranked = competition_ranks([("a", Decimal(300)), ("b", Decimal(500)), ("c", Decimal(300)), ("d", Decimal(100))])
    assert [(k, r) for k, _, r in ranked] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]
    assert competition_ranks([]) == []


def test_leaderboard_values_counts_attainment_ties_and_scopes(company: Engine) -> None:
    admin = who(company, "admin@x.io")
    board = leaderboard_for(company, admin, measure="bookings", period="FY2025-Q1")
    assert [(r.rank, r.payee, r.value) for r in board.rows] == [
        (1, "R2", Decimal("16000.50")),
        (2, "R1", Decimal(10000)),
        (3, "R3", Decimal(3000)),
    ]
    counts = leaderboard_for(company, admin, measure="bookings", period="FY2025-Q1", metric="count")
    assert [(r.rank, r.payee, r.value) for r in counts.rows] == [
        (1, "R1", Decimal(2)),
        (1, "R2", Decimal(2)),
        (3, "R3", Decimal(1)),
    ]
    # a month's attainment against a third of the quarterly quota: 8,000 / 6,666.67 = 1.2
    month = leaderboard_for(company, admin, measure="bookings", period="FY2025-M01", metric="attainment")
    assert [(r.payee, round(r.value or 0, 4)) for r in month.rows] == [
        ("R1", Decimal("1.2")),
        ("R2", Decimal("0.6001")),
        ("R3", Decimal("0.45")),
    ]
    # r1's team in January is M1's: R1 and R2; the viewer's row is marked
    team = leaderboard_for(company, who(company, "r1@x.io"), measure="bookings", period="FY2025-M01", scope="team")
    assert [(r.payee, r.me) for r in team.rows] == [("R1", True), ("R2", False)] and team.my_rank == 1
    with pytest.raises(NotFound, match="no stored values of measure 'nope'"):
        leaderboard_for(company, admin, measure="nope", period="FY2025-Q1")


def test_an_opted_out_rep_sees_their_rank_and_others_see_hidden(company: Engine) -> None:
    assert set_ranking_public_for(company, who(company, "r1@x.io"), False) is False
    period = {"measure": "bookings", "period": "FY2025-Q1"}
    own = leaderboard_for(company, who(company, "r1@x.io"), **period)
    assert (own.rows[1].payee, own.rows[1].me, own.my_rank) == ("R1", True, 2)
    other = leaderboard_for(company, who(company, "r3@x.io"), **period)
    assert [(r.rank, r.name, r.value, r.hidden) for r in other.rows] == [
        (1, "Bob", Decimal("16000.50"), False),
        (2, "(hidden)", None, True),
        (3, "Cy", Decimal(3000), False),
    ]
    assert "R1" not in {r.payee for r in other.rows}
    # R1's manager and the admin may see R1's data anyway
    assert leaderboard_for(company, who(company, "m1@x.io"), **period).rows[1].payee == "R1"
    assert leaderboard_for(company, who(company, "admin@x.io"), **period).rows[1].payee == "R1"
    set_ranking_public_for(company, who(company, "r1@x.io"), True)
    assert leaderboard_for(company, who(company, "r3@x.io"), **period).rows[1].payee == "R1"


def test_contest_files_are_checked_with_file_and_key() -> None:
    cases = {
        CONTEST.replace("threshold:", "treshold:"): "c.yaml @ treshold: unknown key",
        CONTEST.replace('"amount > 3000"', "\"prodcut.family == 'A'\""): "c.yaml @ eligible: eligible: unknown name",
        CONTEST.replace("kind: contest", "kind: raffle"): "c.yaml @ kind: 'raffle' is not allowed",
        CONTEST.replace("{sum: amount}", "{sum: amount, count: credits}"): "c.yaml @ metric: give exactly one",
        SPIF.replace("payout: {per_unit: 100, cap: 150}", ""): "c.yaml: a spif pays per unit",
        CONTEST.replace("amount: 500", "amount: -5"): "c.yaml @ prizes[1].amount: must be more than 0",
        "contest: [": "c.yaml: not valid YAML",
    }
    for text, message in cases.items():
        with pytest.raises(PlanError) as caught:
            parse_contest(text, "c.yaml")
        assert str(caught.value).startswith(message), str(caught.value)
    assert parse_contest(CONTEST).prizes[0].amount == Decimal(1000)


def test_contest_store_references_and_rights(company: Engine) -> None:
    analyst = who(company, "analyst@x.io")
    with pytest.raises(Forbidden):
        add_contest_for(company, who(company, "r1@x.io"), CONTEST)
    with pytest.raises(PlanError, match=r"c\.yaml @ plan: unknown plan 'nope'"):
        add_contest_for(company, analyst, CONTEST.replace("plan: ae", "plan: nope"), "c.yaml")
    with pytest.raises(PlanError, match=r"@ window\.to: 'FY2024-M12' is not a month"):
        add_contest_for(company, analyst, CONTEST.replace("to: FY2025-M02", "to: FY2024-M12"), "c.yaml")
    added = add_contest_for(company, analyst, CONTEST)
    assert (added.key, added.status, added.first_month, added.last_month) == (
        "winter-push",
        "active",
        "FY2025-M01",
        "FY2025-M02",
    )
    with pytest.raises(Conflict, match="exists"):
        add_contest_for(company, analyst, CONTEST)


def test_standings_follow_posted_transactions_and_the_close_proposes_adjustments(company: Engine) -> None:
    analyst, rep3 = who(company, "analyst@x.io"), who(company, "r3@x.io")
    add_contest_for(company, analyst, CONTEST)
    first = standings_for(company, rep3, "winter-push")
    # R2: 4,000.50 + 12,000; R1: 8,000 (the 2,000 deal is not > 3,000); R3's 3,000 is not eligible
    assert [(s.rank, s.payee, s.value, s.award) for s in first.rows] == [
        (1, "R2", Decimal("16000.50"), Decimal(1000)),
        (2, "R1", Decimal(8000), Decimal(500)),
    ]
    assert first.my_rank is None and first.currency == "USD"
    LiveEngine(company, "FY2025-M02").apply(
        [TransactionChange("T9", date(2025, 2, 10), "A2", "SKU1", Decimal(20000), "USD", owner="R3")], actor="test"
    )
    live = standings_for(company, rep3, "winter-push")
    assert [(s.rank, s.payee, s.award) for s in live.rows] == [
        (1, "R3", Decimal(1000)),
        (2, "R2", Decimal(500)),
        (3, "R1", None),
    ]
    assert live.my_rank == 1
    titles = [n.title for n in notifications_for(company, rep3)]
    assert titles == ["Winter push: you are now #1"]
    assert [n.title for n in notifications_for(company, who(company, "r1@x.io"))] == ["Winter push: you dropped to #3"]
    with pytest.raises(Forbidden):
        close_contest_for(company, rep3, "winter-push")
    closed = close_contest_for(company, analyst, "winter-push")
    assert closed.pay_period == "FY2025-M03"
    assert [(a["payee"], a["amount"], a["status"]) for a in closed.adjustments] == [
        ("R3", "1000", "pending"),
        ("R2", "500", "pending"),
    ]
    with Session(company) as session:
        rows = session.execute(
            select(m.Adjustment.amount, m.Adjustment.reason_code, m.Adjustment.status, m.Adjustment.period)
        ).all()
        assert sorted(rows) == [
            (Decimal(500), "spiff", "pending", "FY2025-M03"),
            (Decimal(1000), "spiff", "pending", "FY2025-M03"),
        ]
    assert [b.badge for b in badges_for(company, rep3) if b.badge == "contest_winner"] == ["contest_winner"]
    assert any("has ended: you finished #1 and won 1000" in n.title for n in notifications_for(company, rep3))
    with pytest.raises(Conflict, match="already closed"):
        close_contest_for(company, analyst, "winter-push")
    assert standings_for(company, rep3, "winter-push").final


def test_spif_pays_per_unit_with_a_cap(company: Engine) -> None:
    analyst = who(company, "analyst@x.io")
    add_contest_for(company, analyst, SPIF)
    rows = standings_for(company, analyst, "deal-spif").rows
    assert [(s.payee, s.value, s.award) for s in rows] == [
        ("R1", Decimal(2), Decimal("150.00")),
        ("R2", Decimal(2), Decimal("150.00")),
        ("R3", Decimal(1), Decimal("100.00")),
    ]


def test_badges_are_awarded_once_with_their_date(company: Engine) -> None:
    admin = who(company, "admin@x.io")
    with pytest.raises(Forbidden):
        award_badges_for(company, who(company, "r1@x.io"))
    report = award_badges_for(company, admin, today=date(2025, 3, 15))
    got = {(b.payee, b.badge, b.key, b.earned_on) for b in report.awarded}
    assert got == {
        ("R1", "first_deal", "first", date(2025, 1, 10)),
        ("R2", "first_deal", "first", date(2025, 1, 20)),
        ("R3", "first_deal", "first", date(2025, 1, 21)),
        ("R1", "quota_month", "bookings:FY2025-M01", date(2025, 1, 31)),  # 8,000 / 6,666.67
        ("R2", "quota_month", "bookings:FY2025-M02", date(2025, 2, 28)),  # 12,000 / 6,666.67
    }
    notes = unread_for(company, who(company, "r1@x.io"))
    assert notes == 2
    assert award_badges_for(company, admin, today=date(2025, 3, 15)).awarded == []
    assert unread_for(company, who(company, "r1@x.io")) == 2
    with Session(company) as session:
        assert session.scalar(select(func.count()).select_from(m.Badge)) == 5
    assert {b.payee for b in badges_for(company, who(company, "r1@x.io"))} == {"R1"}
    assert {b.payee for b in badges_for(company, who(company, "finance@x.io"))} == {"R1", "R2", "R3"}


def test_notifications_are_marked_read_by_their_owner_only(company: Engine) -> None:
    award_badges_for(company, who(company, "admin@x.io"), today=date(2025, 3, 15))
    r1, r2 = who(company, "r1@x.io"), who(company, "r2@x.io")
    mine = notifications_for(company, r1)
    assert len(mine) == 2 and not any(n.read for n in mine)
    with pytest.raises(NotFound):
        mark_read_for(company, r2, mine[0].id)
    assert mark_read_for(company, r1, mine[0].id) == 1
    assert unread_for(company, r1) == 1
    assert mark_read_for(company, r1) == 1 and unread_for(company, r1) == 0
    assert len(notifications_for(company, r1, unread_only=True)) == 0


def test_the_example_contests_and_the_demos_are_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "examples" / "contests").glob("*.yaml"))
    assert len(files) >= 2
    for path in files:
        parse_contest(path.read_text(encoding="utf-8"), str(path))
    demo = parse_contest(DEMO_CONTEST.read_text(encoding="utf-8"))
    assert demo == parse_contest((root / "examples" / "contests" / "analytics-blitz.yaml").read_text(encoding="utf-8"))


def test_a_streak_of_three_months_and_a_team_contest(company: Engine, write: WriteFile) -> None:
    """R1 at quota in January (8,000), February (2,000 + 5,000) and March (7,000) against 6,666.67 a month: one
    streak badge on March. A contest for M2's team in February has R2 (moved to M2 on 1 February) and R3 only."""
    rows = "id,date,account,product,amount,currency,owner\nT6,2025-02-11,A1,SKU1,5000,USD,R1\nT7,2025-03-03,A1,SKU1,7000,USD,R1\n"
    assert import_file(company, "transactions", write("more.csv", rows), actor="test").rejected == 0
    run_period(company, "FY2025-M02", actor="test")
    run_period(company, "FY2025-M03", actor="test")
    report = award_badges_for(company, who(company, "admin@x.io"), today=date(2025, 4, 15))
    streaks = [(b.payee, b.key, b.earned_on) for b in report.awarded if b.badge == "streak"]
    assert streaks == [("R1", "bookings:FY2025-M03", date(2025, 3, 31))]
    quarters = [(b.payee, b.key) for b in report.awarded if b.badge == "quota_quarter"]
    assert quarters == [("R1", "bookings:FY2025-Q1")]  # 22,000 of 20,000
    team = CONTEST.replace("participants: {roles: []}", "participants: {teams: [M2]}").replace(
        "from: FY2025-M01", "from: FY2025-M02"
    )
    add_contest_for(company, who(company, "analyst@x.io"), team.replace("threshold: 5000", "threshold: 0"))
    rows_ = standings_for(company, who(company, "admin@x.io"), "winter-push").rows
    assert [(s.payee, s.value) for s in rows_] == [("R2", Decimal(12000))]  # R3 had no February deal over 3,000
