"""Quota setting and capacity arithmetic (openspm.planning): the worked examples of DOMAIN.md and the module
docstrings, and invariants under Hypothesis (quotas add up to the total to the cent; nobody leaves their band)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openspm.core.errors import InvalidInput
from openspm.planning.capacity import hiring_plan, payees_needed
from openspm.planning.quota_setting import allocate, blended_weights, share_at_quota, street_quota

D = Decimal


def test_the_worked_quota_example() -> None:
    street = street_quota(D("10000000"), D("500000"), D("1.2"))
    assert street == D("11400000.0")
    weights = blended_weights({"A": D(300), "B": D(100)}, {"A": D(200), "B": D(200)}, D("0.6"))
    assert weights == {"A": D("0.65"), "B": D("0.35")}
    free = allocate(street, weights)
    assert free.quotas == {"A": D("7410000.00"), "B": D("3990000.00")} and free.capped == {}
    held = allocate(street, weights, previous={"A": D(5000000), "B": D(5000000)}, max_change=D("0.3"))
    assert held.quotas == {"A": D("6500000.00"), "B": D("4900000.00")}
    assert held.capped == {"A": "ceiling"} and held.unallocated == 0


def test_a_total_nobody_can_carry_is_reported_not_spread() -> None:
    held = allocate(D(100), {"A": D(1), "B": D(1)}, previous={"A": D(10), "B": D(10)}, max_change=D("0.5"))
    assert held.quotas == {"A": D("15.00"), "B": D("15.00")} and held.unallocated == D(70)
    assert held.capped == {"A": "ceiling", "B": "ceiling"}


def test_thirds_round_by_largest_remainder_to_the_exact_total() -> None:
    split = allocate(D(100), {"A": D(1), "B": D(1), "C": D(1)})
    assert split.quotas == {"A": D("33.34"), "B": D("33.33"), "C": D("33.33")}
    assert sum(split.quotas.values()) == D(100)


def test_weights_fall_back_to_what_exists_and_refuse_nonsense() -> None:
    assert blended_weights({"A": D(1), "B": D(3)}, {}, D("0.6")) == {"A": D("0.25"), "B": D("0.75")}
    assert blended_weights({}, {"A": D(1), "B": D(1)}, D("0.6")) == {"A": D("0.5"), "B": D("0.5")}
    for bad in (
        lambda: blended_weights({"A": D(1)}, {}, D("1.5")),
        lambda: blended_weights({"A": D(-1)}, {"A": D(1)}, D("0.5")),
        lambda: blended_weights({"A": D(0)}, {"A": D(0)}, D("0.5")),
        lambda: street_quota(D(1), D(0), D(0)),
        lambda: share_at_quota(0.9, 0),
    ):
        with pytest.raises(InvalidInput):
            bad()


def test_fairness_share_at_quota() -> None:
    assert round(share_at_quota(1 / 1.2, 0.3), 2) == 0.29  # DOMAIN.md: about 29% at quota
    assert share_at_quota(1.0, 0.3) == pytest.approx(0.5)


money = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    total=money,
    weights=st.lists(st.decimals(min_value=D("0.001"), max_value=D(1000), places=3), min_size=1, max_size=8),
    previous=st.lists(money, min_size=8, max_size=8),
    cap=st.decimals(min_value=D("0.05"), max_value=D(1), places=2),
)
def test_quotas_add_up_and_stay_in_band_up_to_a_cent(
    total: Decimal, weights: list[Decimal], previous: list[Decimal], cap: Decimal
) -> None:
    names = [f"P{i}" for i in range(len(weights))]
    before = dict(zip(names, previous, strict=False))
    result = allocate(total, dict(zip(names, weights, strict=True)), previous=before, max_change=cap)
    assert sum(result.quotas.values()) + result.unallocated == total
    for name, quota in result.quotas.items():
        assert before[name] * (1 - cap) - D("0.01") <= quota <= before[name] * (1 + cap) + D("0.01")
    if result.unallocated:
        assert len(result.capped) == len(names)


def test_payees_needed_worked_example() -> None:
    needed = payees_needed(D(12000000), D(1000000), D("0.8"), D("0.10"), D("0.05"))
    assert needed.quantize(D("0.01")) == D("17.65")
    with pytest.raises(InvalidInput):
        payees_needed(D(1), D(1), D(1), D("0.6"), D("0.4"))


def test_a_hiring_plan_opens_requisitions_early_enough_to_be_ramped_in_time() -> None:
    # 2 payees in seat; from month 6 the target needs 4; a hire takes 2 months to start and ramps 0.5, 0.75.
    targets = [D(200)] * 6 + [D(400)] * 6
    plan = hiring_plan(
        targets,
        quota_per_head=D(100),
        expected_attainment=D(1),
        in_seat_tenure=[24, 24],
        ramp=[D("0.5"), D("0.75")],
        lead_months=2,
    )
    assert [p.required for p in plan] == [D(2)] * 6 + [D(4)] * 6
    assert [p.arriving for p in plan] == [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]  # ramped by month 6
    assert [p.open_requisitions for p in plan] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert all(p.short == 0 for p in plan) and plan[6].expected == D(4)


def test_attrition_means_more_hires_and_an_unreachable_month_is_shown_short() -> None:
    plan = hiring_plan(
        [D(300)] * 4, quota_per_head=D(100), expected_attainment=D(1), in_seat_tenure=[12, 12], lead_months=2
    )
    assert [p.short for p in plan][:2] == [D(1), D(1)] and plan[2].arriving == 1 and plan[3].short == 0
    leaving = hiring_plan(
        [D(200)] * 12,
        quota_per_head=D(100),
        expected_attainment=D(1),
        in_seat_tenure=[12, 12],
        monthly_attrition=D("0.05"),
    )
    assert sum(p.arriving for p in leaving) >= 1 and all(p.short == 0 for p in leaving)
