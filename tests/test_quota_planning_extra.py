"""Quota drafts with new-hire ramps and managers rolled up bottom-up (SQLite and PostgreSQL): the ramp lowers a new
hire's weight and early quarters while the total stays exact; managers carry their team's quotas × the factor per
level; the roll-up view compares each manager's team total with their own quota."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from openspm.core.errors import InvalidInput, NotFound
from openspm.ingest.service import import_file
from openspm.planning.quotas import QuotaParams, decide, draft_quotas, publish, quota_draft, rollup
from tests.conftest import WriteFile
from tests.test_quota_planning import company as quota_company  # noqa: F401  (the fixture, reused)

D = Decimal
PARAMS = QuotaParams(
    year="FY2026",
    plan="ae",
    measure="bookings",
    target=D(2000000),
    over_assignment=D("1.2"),
    alpha=D("0.5"),
    seasonality=(D(20), D(25), D(25), D(30)),
)


@pytest.fixture
def company(quota_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    """A1 and A2 report to M, M and A3 to the director Dee; M and Dee are on the reps' plan too."""
    more = {
        "payees": "id,name,pay_currency,hire_date\nM,Mo,USD,2019-01-01\nDEE,Dee,USD,2018-01-01\n",
        "reporting_lines": "payee,manager,effective_from\nA1,M,2025-01-01\nA2,M,2025-01-01\nM,DEE,2025-01-01\n"
        "A3,DEE,2026-01-01\n",
        "plan_assignments": "payee,plan,effective_from\nM,ae,2025-01-01\nDEE,ae,2025-01-01\n",
    }
    for kind, body in more.items():
        report = import_file(quota_company, kind, write(f"extra-{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    return quota_company


def test_a_ramp_scales_a_new_hires_weight_and_quarters_and_the_total_stays_exact(quota_company: Engine) -> None:  # noqa: F811
    plain = draft_quotas(quota_company, PARAMS, name="plain", actor="analyst@x.io")
    ramped = draft_quotas(quota_company, replace(PARAMS, ramp=(D("0.25"), D("0.5"), D("0.75"))), name="r", actor="a")
    before, after = ({x.payee: x for x in d.lines} for d in (plain, ramped))
    # A3 is hired 1 April: April 0.25, May 0.5, June 0.75, then 6 full months: (1.5 + 6) / 12 of the year, not 9/12
    assert before["A3"].weight == D("0.1") * D(9) / D(12) and after["A3"].weight == D("0.1") * D("7.5") / D(12)
    assert after["A3"].ramp == {"FY2026-Q2": D("0.5"), "FY2026-Q3": D(1), "FY2026-Q4": D(1)}
    assert after["A1"].ramp == {} and after["A2"].ramp == {}  # hired in 2020: fully ramped
    assert after["A3"].annual < before["A3"].annual and after["A1"].annual > before["A1"].annual
    assert sum(x.annual for x in ramped.lines) == ramped.street == D(2400000) and ramped.unallocated == 0
    q = after["A3"].quarters
    # Q2 weighs 25 × 0.5 against 25 and 30: the quarters keep adding up to the year
    assert sum(q.values()) == after["A3"].annual and q["FY2026-Q2"] * 2 - q["FY2026-Q3"] in (D(-1), D(0), D(1))
    assert quota_draft(quota_company, ramped.id) == ramped  # the ramp is stored
    with pytest.raises(InvalidInput, match="ramp factors"):
        draft_quotas(quota_company, replace(PARAMS, ramp=(D("1.5"),)), name="x", actor="a")


def test_managers_carry_their_teams_quotas_times_the_factor_per_level_and_are_published(company: Engine) -> None:
    draft = draft_quotas(company, replace(PARAMS, managers_over=D("1.05")), name="levels", actor="analyst@x.io")
    lines = {x.payee: x for x in draft.lines}
    reps = ("A1", "A2", "A3")
    assert [lines[p].level for p in reps] == [None, None, None] and (lines["M"].level, lines["DEE"].level) == (1, 2)
    assert sum(lines[p].annual for p in reps) == draft.street  # managers are not in the reps' allocation
    for quarter in ("FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"):
        team = lines["A1"].quarters[quarter] + lines["A2"].quarters[quarter]
        assert lines["M"].quarters[quarter] == (team * D("1.05")).quantize(D(1))
        below = lines["M"].quarters[quarter] + lines["A3"].quarters.get(quarter, D(0))
        assert lines["DEE"].quarters[quarter] == (below * D("1.05")).quantize(D(1))
    assert lines["DEE"].annual == sum(lines["DEE"].quarters.values())
    assert lines["M"].projected_attainment is None and draft.fairness is not None and draft.fairness.payees == 2

    view = {r.manager: r for r in rollup(company, draft.id)}
    assert (view["M"].reps, view["M"].team_total, view["M"].own) == (
        2,
        lines["A1"].annual + lines["A2"].annual,
        lines["M"].annual,
    )
    assert view["DEE"].reps == 3 and view["DEE"].team_total == draft.street
    # A1 and A2 count × 1.05² (through M), A3 reports to Dee directly: × 1.05
    assert view["DEE"].ratio is not None and D("1.05") < view["DEE"].ratio < D("1.1025")

    decide(company, draft.id, "manager@x.io", True)
    assert publish(company, draft.id, "admin@x.io") == 14 + 2 * 5  # the managers' 4 quarters and year each


def test_a_managers_plan_names_the_managers_and_bad_levels_say_why(company: Engine, write: WriteFile) -> None:
    with pytest.raises(NotFound, match="unknown plan"):
        draft_quotas(company, replace(PARAMS, managers_over=D("1.05"), managers_plan="nope"), name="x", actor="a")
    with pytest.raises(InvalidInput, match="managers_over"):
        draft_quotas(company, replace(PARAMS, managers_over=D(0)), name="x", actor="a")
    # the reps' plan as the managers' plan: only those with a team get a line; the plain draft rolls nobody up
    plain = draft_quotas(company, PARAMS, name="plain", actor="a")
    assert all(x.level is None for x in plain.lines) and {x.payee for x in plain.lines} == {
        "A1",
        "A2",
        "A3",
        "M",
        "DEE",
    }
    assert rollup(company, plain.id)[0].own is None
