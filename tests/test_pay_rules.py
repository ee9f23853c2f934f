"""The pay stage's arithmetic: draws, holds, clawbacks, adjustments and pay-currency conversion.

Goldens of issue 5 exactly (1: a recoverable and a non-recoverable draw; 2: a 50% clawback on early
termination), hand-worked cases for the rest, and a property: over any sequence of months no cent appears or
disappears (Σ payments − Σ (earnings + adjustments + clawbacks) = draw balance owed + forgiven − still held).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from openspm.calc.rules.draws import DrawTerms, apply_draw, draw_month, draw_terms
from openspm.core.errors import InvalidInput
from openspm.core.money import D
from openspm.plan.load import PlanError, parse_plan
from openspm.plan.models import DrawKind, HoldUntil
from tests.test_plan_errors import plan

RECOVERABLE, NON_RECOVERABLE = DrawKind.RECOVERABLE, DrawKind.NON_RECOVERABLE


def n(*values: int | str) -> tuple[Decimal, ...]:
    """Exact amounts from ints or text, to compare with a tuple of results."""
    return tuple(D(v) for v in values)


def paid(terms: DrawTerms | None, *earned: str, balance: str = "0", first: int = 0) -> list[Decimal]:
    schedule = apply_draw(
        terms, [(f"M{i:02d}", D(e)) for i, e in enumerate(earned)], first_month_of_plan=first, balance=D(balance)
    )
    return [m.paid for m in schedule.months]


# --- draws: golden 1 -------------------------------------------------------------------------------


def test_golden_1_recoverable_draw_pays_1500_then_2000_and_the_balance_is_back_to_0() -> None:
    schedule = apply_draw(DrawTerms(RECOVERABLE, D(1500), periods=2), [("Aug", D(500)), ("Sep", D(3000))])
    aug, sep = schedule.months
    assert (aug.paid, aug.advance, aug.recovery, aug.balance) == n(1500, 1000, 0, 1000)
    assert (sep.paid, sep.advance, sep.recovery, sep.balance) == n(2000, 0, 1000, 0)
    assert (schedule.balance, schedule.forgiven) == n(0, 0)


def test_golden_1_non_recoverable_draw_pays_1500_then_3000_and_forgives_the_shortfall() -> None:
    schedule = apply_draw(DrawTerms(NON_RECOVERABLE, D(1500), periods=2), [("Aug", D(500)), ("Sep", D(3000))])
    aug, sep = schedule.months
    assert (aug.paid, aug.forgiven, aug.balance) == n(1500, 1000, 0)
    assert (sep.paid, sep.forgiven, sep.recovery) == n(3000, 0, 0)
    assert (schedule.balance, schedule.forgiven) == n(0, 1000)


# --- draws: caps, guarantee ending, termination ------------------------------------------------------


def test_recovery_in_a_guaranteed_month_only_takes_earnings_above_the_draw() -> None:
    # balance 1,000; earned 2,000: only 500 is above the draw, so 500 is recovered and 1,500 paid.
    month = draw_month(DrawTerms(RECOVERABLE, D(1500)), "M", D(2000), guaranteed=True, balance=D(1000))
    assert (month.recovery, month.paid, month.balance) == n(500, 1500, 500)


def test_recovery_cap_limits_each_month_and_recovery_continues_after_the_guarantee() -> None:
    terms = DrawTerms(RECOVERABLE, D(1500), periods=1, recovery_cap=D("0.5"))
    schedule = apply_draw(terms, [("M1", D(0)), ("M2", D(1200)), ("M3", D(3000)), ("M4", D(3000))])
    assert [m.guaranteed for m in schedule.months] == [True, False, False, False]
    assert [m.recovery for m in schedule.months] == [0, 600, 900, 0]
    assert [m.paid for m in schedule.months] == [1500, 600, 2100, 3000]
    assert [m.balance for m in schedule.months] == [1500, 900, 0, 0]
    assert [m.cap_room for m in schedule.months] == [0, 600, 1500, 1500]


def test_the_cap_room_rounds_down_to_the_plan_scale_so_recovery_never_exceeds_the_cap() -> None:
    month = draw_month(DrawTerms(RECOVERABLE, D(100), recovery_cap=D("0.5")), "M", D("0.03"), False, D(10))
    assert (month.cap_room, month.recovery, month.paid) == (D("0.01"), D("0.01"), D("0.02"))


def test_guarantee_counts_months_from_the_plan_start_and_then_ends() -> None:
    terms = DrawTerms(NON_RECOVERABLE, D(1000), periods=3)
    # The run starts in the payee's third month of plan: one guaranteed month left.
    assert paid(terms, "0", "0", "200", first=2) == [1000, 0, 200]
    assert paid(DrawTerms(NON_RECOVERABLE, D(1000)), "0", "0", "0", first=40) == [1000, 1000, 1000]


def test_a_negative_month_in_the_guarantee_is_topped_up_to_the_draw_and_owed_if_recoverable() -> None:
    month = draw_month(DrawTerms(RECOVERABLE, D(1500)), "M", D(-200), guaranteed=True)
    assert (month.paid, month.advance, month.balance) == n(1500, 1700, 1700)
    outside = draw_month(DrawTerms(RECOVERABLE, D(1500)), "M", D(-200), guaranteed=False, balance=D(50))
    assert (outside.paid, outside.recovery, outside.balance) == n(-200, 0, 50)


def test_termination_reports_the_balance_still_owed_and_later_earnings_keep_recovering() -> None:
    terms = DrawTerms(RECOVERABLE, D(2000), periods=12)
    schedule = apply_draw(terms, [("M1", D(500)), ("M2", D(800)), ("M3", D(300))], terminated_in="M2", balance=D(0))
    assert [m.guaranteed for m in schedule.months] == [True, True, False]
    assert schedule.owed_at_termination == D(2700)  # 1,500 + 1,200
    assert schedule.months[2].recovery == 300  # a trailing earning after leaving repays part of it
    assert schedule.balance == D(2400)
    assert apply_draw(terms, [("M1", D(500))]).owed_at_termination is None


def test_a_balance_carried_without_draw_terms_is_still_recovered() -> None:
    month = draw_month(None, "M", D(700), guaranteed=True, balance=D(500))
    assert month.guaranteed is False
    assert (month.recovery, month.paid, month.balance) == n(500, 200, 0)


def test_draw_terms_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="above 0"):
        DrawTerms(RECOVERABLE, D(0))
    with pytest.raises(ValueError, match="fraction"):
        DrawTerms(RECOVERABLE, D(1), recovery_cap=D("1.5"))
    with pytest.raises(ValueError, match="negative"):
        draw_month(DrawTerms(RECOVERABLE, D(1)), "M", D(1), True, D(-1))


# --- the plan's pay section -------------------------------------------------------------------------

PAY = """\
pay:
  draw: {kind: recoverable, amount: "param.draw", periods: 3, recovery_cap: 0.5}
  holds:
    - {component: commission, until: payment_received}
"""


def test_a_pay_section_parses_with_exact_decimals_and_a_parameter_amount() -> None:
    parsed = parse_plan(plan(head="parameters: {draw: 1500}\n", tail=PAY), "plan.yaml")
    assert parsed.pay is not None and parsed.pay.draw is not None
    assert parsed.pay.draw.recovery_cap == D("0.5") and isinstance(parsed.pay.draw.recovery_cap, Decimal)
    assert parsed.pay.holds[0].until is HoldUntil.PAYMENT_RECEIVED
    terms = draw_terms(parsed.pay.draw, {"param.draw": D(1500)})
    assert terms == DrawTerms(RECOVERABLE, D(1500), 3, D("0.5"), 2)
    with pytest.raises(InvalidInput, match="no value"):
        draw_terms(parsed.pay.draw, {"param.draw": None})


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            "pay:\n  holds: [{component: bonus, until: manual}]\n",
            "plan.yaml @ pay.holds[0].component: unknown component 'bonus'; the plan defines: commission",
        ),
        (
            "pay:\n  holds: [{component: '*', until: manual}, {component: '*', until: plan_accepted}]\n",
            "plan.yaml @ pay.holds[1].component: '*' is held twice; give one hold per component",
        ),
        (
            "pay:\n  holds: [{component: commission, until: paid}]\n",
            "plan.yaml @ pay.holds[0].until: 'paid' is not allowed here; use 'payment_received', 'plan_accepted' "
            "or 'manual'",
        ),
        (
            "pay:\n  draw: {kind: non_recoverable, amount: 1000, recovery_cap: 0.5}\n",
            "plan.yaml @ pay.draw: recovery_cap applies to a recoverable draw; a non-recoverable draw is never "
            "recovered",
        ),
        (
            "pay:\n  draw: {kind: recoverable, amount: -5}\n",
            "plan.yaml @ pay.draw: a draw amount must be above 0, not -5",
        ),
        (
            "pay:\n  draw: {kind: recoverable, amount: 'quota.draw'}\n",
            "plan.yaml @ pay.draw.amount: unknown name 'quota.draw' in 'quota.draw'",
        ),
        (
            "pay:\n  draw: {kind: recoverable, amount: 100, periods: 0}\n",
            "plan.yaml @ pay.draw.periods: must be at least 1, not 0",
        ),
        (
            "pay:\n  draw: {kind: recoverable, amount: 100, recovery: 0.5}\n",
            "plan.yaml @ pay.draw.recovery: unknown key (check the spelling; see docs/plans.md)",
        ),
    ],
    ids=[
        "unknown-component",
        "held-twice",
        "unknown-condition",
        "cap-on-guarantee",
        "negative",
        "bad-name",
        "zero-periods",
        "typo",
    ],
)
def test_pay_section_mistakes_name_the_file_and_key(tail: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(plan(tail=tail), "plan.yaml")
    assert str(caught.value) == message
