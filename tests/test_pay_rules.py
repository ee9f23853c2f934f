"""The pay stage's arithmetic: draws, holds, clawbacks, adjustments and pay-currency conversion.

Goldens of issue 5 exactly (1: a recoverable and a non-recoverable draw; 2: a 50% clawback on early
termination), hand-worked cases for the rest, and a property: over any sequence of months no cent appears or
disappears (Σ payments − Σ (earnings + adjustments + clawbacks) = draw balance owed + forgiven − still held).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openspm.calc.rules.clawbacks import (
    Cancellation,
    ClawbackMethod,
    ClawbackTerms,
    CommissionPaid,
    allocate,
    clawback,
    clawbacks,
    months_served,
)
from openspm.calc.rules.draws import DrawTerms, apply_draw, draw_month, draw_terms
from openspm.calc.rules.holds import HeldEarning, HoldKey, hold_earning, hold_for, release_holds
from openspm.calc.stages.incent import Earning
from openspm.calc.stages.pay import (
    Adjustment,
    LineKind,
    PayBalance,
    PayeePay,
    Payment,
    PayRate,
    convert,
    month_number,
    pay,
    rate_on,
)
from openspm.core.errors import InvalidInput
from openspm.core.money import D
from openspm.plan.load import PlanError, parse_plan
from openspm.plan.models import DrawKind, Hold, HoldUntil, PayPolicy
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


MISTAKES = [
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
        "plan.yaml @ pay.draw: recovery_cap applies to a recoverable draw; a non-recoverable draw is never recovered",
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
]


@pytest.mark.parametrize(
    ("tail", "message"),
    MISTAKES,
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


PAY_GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "pay.md").read_text(encoding="utf-8")


def test_the_pay_guide_shows_valid_plans_tested_messages_and_every_line_kind() -> None:
    fenced = re.findall(r"^```(\w*)\n(.*?)^```$", PAY_GUIDE, flags=re.M | re.S)
    plans = [text for language, text in fenced if language == "yaml" and text.startswith("version: 1")]
    assert plans
    for text in plans:
        assert parse_plan(text, "docs/pay.md").pay is not None
    shown = [line for language, text in fenced if language == "" for line in text.splitlines() if "@ pay." in line]
    assert len(shown) >= 4
    for line in shown:
        mistake = next(t for t, m in MISTAKES if m == line)  # every message shown is one asserted above
        with pytest.raises(PlanError, match=re.escape(line.split(": ", 1)[1])):
            parse_plan(plan(tail=mistake), "plan.yaml")
    for kind in LineKind:
        assert f"| `{kind.value}` |" in PAY_GUIDE, f"docs/pay.md does not describe the {kind.value} line"


# --- holds ------------------------------------------------------------------------------------------

COMMISSION_HOLD = Hold(component="commission", until=HoldUntil.PAYMENT_RECEIVED)
EVERYTHING_HOLD = Hold(component="*", until=HoldUntil.PLAN_ACCEPTED)


def key(component: str = "commission", period: str = "FY2025-M03", payee: str = "P1") -> HoldKey:
    return HoldKey("p", payee, component, period)


def test_the_hold_naming_a_component_wins_over_the_star_hold() -> None:
    assert hold_for("commission", [EVERYTHING_HOLD, COMMISSION_HOLD]) == COMMISSION_HOLD
    assert hold_for("bonus", [EVERYTHING_HOLD, COMMISSION_HOLD]) == EVERYTHING_HOLD
    assert hold_for("bonus", [COMMISSION_HOLD]) is None


def test_only_positive_earnings_whose_condition_is_unmet_are_held() -> None:
    assert hold_earning(key(), D(1000), [COMMISSION_HOLD], set()) == HeldEarning(
        key(), D(1000), HoldUntil.PAYMENT_RECEIVED
    )
    assert hold_earning(key(), D(-300), [COMMISSION_HOLD], set()) is None
    assert hold_earning(key(), D(1000), [COMMISSION_HOLD], {key()}) is None
    assert hold_earning(key("bonus"), D(1000), [COMMISSION_HOLD], set()) is None


def test_release_pays_what_was_held_and_keeps_the_rest() -> None:
    held = {
        key(): HeldEarning(key(), D(1000), HoldUntil.MANUAL),
        key(period="FY2025-M04"): HeldEarning(key(period="FY2025-M04"), D(500), HoldUntil.MANUAL),
    }
    releases, still = release_holds(held, {key(), key(period="FY2025-M09")}, "FY2025-M05")
    assert [(r.held.key.period, r.amount, r.period) for r in releases] == [("FY2025-M03", D(1000), "FY2025-M05")]
    assert list(still) == [key(period="FY2025-M04")]


# --- clawbacks: golden 2 ----------------------------------------------------------------------------

ORIGINAL = CommissionPaid("p", "P1", "commission", "FY2025-M01", "T1", D(10000))


def test_golden_2_early_termination_half_way_claws_back_half_linked_to_the_original() -> None:
    cancelled = Cancellation(
        "C1", "T1", cancelled_on=date(2025, 7, 1), anchor=date(2025, 1, 1), term_start=date(2025, 1, 1), term_months=12
    )
    line = clawback(ORIGINAL, cancelled, ClawbackTerms(ClawbackMethod.PRO_RATA, window_months=12), "FY2025-M07")
    assert line.amount == D("-5000.00")
    assert line.fraction == D("0.5")
    assert (line.original.transaction, line.original.period, line.original.component) == (
        "T1",
        "FY2025-M01",
        "commission",
    )
    assert (line.period, line.cancellation) == ("FY2025-M07", "C1")
    assert line.reason == "cancelled within the window: pro rata, 6 of 12 months unserved"
    full = clawback(ORIGINAL, cancelled, ClawbackTerms(ClawbackMethod.FULL, window_months=12), "FY2025-M07")
    assert full.amount == D("-10000.00")


def test_outside_the_window_there_is_no_clawback_and_the_line_says_why() -> None:
    cancelled = Cancellation("C1", "T1", cancelled_on=date(2025, 5, 30), anchor=date(2025, 3, 1))
    line = clawback(ORIGINAL, cancelled, ClawbackTerms(window_days=90), "FY2025-M05")
    assert line.amount == 0
    assert line.reason == "cancelled on 2025-05-30, outside the window [2025-03-01, 2025-05-30): no clawback"
    inside = Cancellation("C1", "T1", cancelled_on=date(2025, 5, 29), anchor=date(2025, 3, 1), share=D("0.25"))
    assert clawback(ORIGINAL, inside, ClawbackTerms(window_days=90), "FY2025-M05").amount == D("-2500.00")


def test_a_started_month_counts_as_served() -> None:
    assert months_served(date(2025, 1, 1), date(2025, 7, 1)) == 6
    assert months_served(date(2025, 1, 1), date(2025, 7, 2)) == 7
    assert months_served(date(2025, 1, 15), date(2025, 1, 15)) == 0


def test_an_aggregate_earning_is_shared_pro_rata_to_credit_and_the_shares_add_up() -> None:
    assert allocate(D(1000), {"T1": D(300), "T2": D(700)}, D(1000)) == {"T1": D(300), "T2": D(700)}
    thirds = allocate(D(100), {"T1": D(1), "T2": D(1), "T3": D(1)}, D(3))
    assert sum(thirds.values()) == 100
    assert sorted(thirds.values()) == [D("33.33"), D("33.33"), D("33.34")]
    assert allocate(D(100), {"T1": D(0)}, D(0)) == {"T1": D(0)}


def test_a_cancellation_claws_back_each_component_that_paid_its_transaction() -> None:
    others = [
        ORIGINAL,
        CommissionPaid("p", "P1", "spif", "FY2025-M01", "T1", D(200)),
        ORIGINAL.__class__("p", "P1", "commission", "FY2025-M01", "T2", D(50)),
    ]
    cancelled = Cancellation("C1", "T1", cancelled_on=date(2025, 2, 1), anchor=date(2025, 1, 10))
    lines = clawbacks(others, cancelled, ClawbackTerms(window_days=90), "FY2025-M02")
    assert [(c.original.component, c.amount) for c in lines] == [("commission", D(-10000)), ("spif", D(-200))]


# --- the pay stage ----------------------------------------------------------------------------------

AUG, SEP, OCT, NOV = "FY2025-M08", "FY2025-M09", "FY2025-M10", "FY2025-M11"


def earning(period: str, amount: str, component: str = "commission", payee: str = "P1") -> Earning:
    return Earning("p", 1, payee, period, component, period, None, None, None, None, D(amount), D(0), "USD")


def kinds(payment: Payment) -> list[tuple[str, Decimal]]:
    return [(line.kind.value, line.amount) for line in payment.lines]


def test_pay_golden_1_recoverable_draw_lines_and_balances() -> None:
    payee = PayeePay(
        "P1",
        "USD",
        earnings=[earning(AUG, "500"), earning(SEP, "3000")],
        draw=DrawTerms(RECOVERABLE, D(1500), periods=2),
        plan_start=AUG,
    )
    payments, after = pay([AUG, SEP], [payee], None, {}, plan="p", currency="USD")
    aug, sep = payments
    assert kinds(aug) == [("earning", D(500)), ("draw_advance", D(1000))]
    assert kinds(sep) == [("earning", D(3000)), ("draw_recovery", D(-1000))]
    assert [p.pay_amount for p in payments] == [D("1500.00"), D("2000.00")]
    assert aug.balance.draw_owed == 1000
    assert after["P1"] == PayBalance()


def test_pay_golden_1_non_recoverable_draw_forgives() -> None:
    payee = PayeePay(
        "P1",
        "USD",
        earnings=[earning(AUG, "500"), earning(SEP, "3000")],
        draw=DrawTerms(NON_RECOVERABLE, D(1500), periods=2),
        plan_start=AUG,
    )
    payments, after = pay([AUG, SEP], [payee], None, {}, plan="p", currency="USD")
    assert kinds(payments[0]) == [("earning", D(500)), ("guarantee_forgiven", D(1000))]
    assert [p.amount for p in payments] == [1500, 3000]
    assert (after["P1"].draw_owed, after["P1"].forgiven_to_date) == n(0, 1000)


def test_pay_holds_until_payment_received_then_releases_into_that_month() -> None:
    payee = PayeePay(
        "P1",
        "USD",
        earnings=[earning(AUG, "1000"), earning(SEP, "500"), earning(SEP, "80", "bonus")],
        released={OCT: {HoldKey("p", "P1", "commission", AUG)}},
    )
    policy = PayPolicy(holds=[COMMISSION_HOLD])
    payments, after = pay([AUG, SEP, OCT], [payee], policy, {}, plan="p", currency="USD")
    aug, sep, oct_ = payments
    assert kinds(aug) == [("earning", D(1000)), ("hold", D(-1000))]
    assert aug.amount == 0 and aug.balance.held_total == 1000
    assert kinds(sep) == [("earning", D(500)), ("hold", D(-500)), ("earning", D(80))]
    assert kinds(oct_) == [("release", D(1000))]
    assert oct_.lines[0].source == {"plan": "p", "component": "commission", "period": AUG}
    assert oct_.lines[0].reason == "released: payment_received"
    assert list(after["P1"].held) == [HoldKey("p", "P1", "commission", SEP)]


def test_pay_a_hold_whose_condition_is_met_in_its_own_month_is_paid_at_once() -> None:
    payee = PayeePay("P1", "USD", earnings=[earning(AUG, "1000")], released={AUG: {key(period=AUG)}})
    payments, _ = pay([AUG], [payee], PayPolicy(holds=[COMMISSION_HOLD]), {}, plan="p", currency="USD")
    assert kinds(payments[0]) == [("earning", D(1000))]


def test_pay_adjustments_prior_period_adjustments_and_clawbacks_are_lines_with_their_source() -> None:
    cancelled = Cancellation(
        "C1", "T1", cancelled_on=date(2025, 9, 1), anchor=date(2025, 1, 1), term_start=date(2025, 1, 1), term_months=12
    )
    claw = clawback(ORIGINAL, cancelled, ClawbackTerms(ClawbackMethod.PRO_RATA, window_months=12), SEP)
    payee = PayeePay(
        "P1",
        "USD",
        earnings=[earning(SEP, "3000")],
        adjustments=[
            Adjustment("A1", "P1", SEP, D("250.50"), "SPIFF_MISSED", "approved by J. Doe"),
            Adjustment("A2", "P1", SEP, D("-40"), "RECALC", prior_period="FY2025-M06"),
        ],
        clawbacks=[claw],
    )
    (payment,), _ = pay([SEP], [payee], None, {}, plan="p", currency="USD")
    assert kinds(payment) == [
        ("earning", D(3000)),
        ("adjustment", D("250.50")),
        ("prior_period_adjustment", D(-40)),
        ("clawback", D("-3333.33")),  # 4 of 12 months unserved
    ]
    assert payment.lines[1].source == {"adjustment": "A1"} and payment.lines[1].reason == "SPIFF_MISSED"
    assert payment.lines[2].source == {"adjustment": "A2", "period": "FY2025-M06"}
    assert payment.lines[3].source == {
        "plan": "p",
        "component": "commission",
        "period": "FY2025-M01",
        "transaction": "T1",
        "cancellation": "C1",
    }
    assert payment.amount == D("-122.83")  # a negative payment: owed back (no draw here)


def test_pay_converts_to_the_pay_currency_once_and_the_lines_add_up_to_the_total() -> None:
    rate = PayRate("USD", "EUR", D("0.9133"), date(2025, 8, 31))
    payee = PayeePay(
        "P1",
        "EUR",
        earnings=[earning(AUG, "10.05"), earning(AUG, "10.05", "bonus"), earning(AUG, "10.05", "spif")],
        rates={AUG: rate},
    )
    (payment,), _ = pay([AUG], [payee], None, {}, plan="p", currency="USD")
    # 30.15 × 0.9133 = 27.535995 → 27.54; each line 9.178665 → 9.18, three of them 27.54
    assert payment.pay_amount == D("27.54")
    assert [line.pay_amount for line in payment.lines] == [D("9.18"), D("9.18"), D("9.18")]
    assert (payment.rate, payment.rate_date, payment.pay_currency) == (D("0.9133"), date(2025, 8, 31), "EUR")
    assert convert([D("0.005"), D("0.005"), D("0.005")], D(1)) == [
        D("0.00"),
        D("0.01"),
        D("0.01"),
    ]  # remainder −0.01 on the first
    assert convert([D("0.333"), D("0.333"), D("0.334")], D(1)) == [D("0.33"), D("0.33"), D("0.34")]
    assert convert([D("100.4")], D(1), 0) == [D(100)]
    with pytest.raises(InvalidInput, match="no USD rate for FY2025-M08"):
        pay([AUG], [PayeePay("P1", "EUR", earnings=[earning(AUG, "1")])], None, {}, plan="p", currency="USD")


def test_rate_on_takes_the_latest_rate_on_or_before_the_day() -> None:
    rates = [PayRate("USD", "EUR", D("0.9"), date(2025, 1, 1)), PayRate("USD", "EUR", D("0.95"), date(2025, 3, 1))]
    assert rate_on(rates, "USD", "EUR", date(2025, 3, 1)).rate == D("0.95")
    assert rate_on(rates, "USD", "EUR", date(2025, 2, 28)).rate == D("0.9")
    assert rate_on(rates, "USD", "USD", date(2025, 2, 28)).rate == 1
    with pytest.raises(InvalidInput, match="no FX rate from USD to GBP"):
        rate_on(rates, "USD", "GBP", date(2025, 2, 28))


def test_pay_termination_reports_the_draw_balance_owed_and_stops_the_guarantee() -> None:
    payee = PayeePay(
        "P1",
        "USD",
        earnings=[earning(AUG, "200"), earning(OCT, "100")],
        draw=DrawTerms(RECOVERABLE, D(1000)),
        plan_start=AUG,
        terminated_in=SEP,
    )
    payments, after = pay([AUG, SEP, OCT, NOV], [payee], None, {}, plan="p", currency="USD")
    assert [p.amount for p in payments] == [1000, 1000, 0, 0]
    assert after["P1"].owed_at_termination == D(1800)
    assert after["P1"].draw_owed == D(1700)  # October's trailing 100 recovered


def test_pay_carries_balances_from_the_month_before() -> None:
    payee = PayeePay(
        "P1", "USD", earnings=[earning(OCT, "5000")], draw=DrawTerms(RECOVERABLE, D(1500), periods=2), plan_start=AUG
    )
    before = {"P1": PayBalance(draw_owed=D(1000))}
    (payment,), after = pay([OCT], [payee], None, before, plan="p", currency="USD")
    assert kinds(payment) == [("earning", D(5000)), ("draw_recovery", D(-1000))]
    assert payment.draw is not None and not payment.draw.guaranteed
    assert after["P1"].draw_owed == 0


def test_pay_refuses_inputs_outside_the_months_paid() -> None:
    payee = PayeePay("P1", "USD", earnings=[earning(SEP, "1")])
    with pytest.raises(ValueError, match="not among the months paid"):
        pay([AUG], [payee], None, {}, plan="p", currency="USD")
    with pytest.raises(ValueError, match="in order"):
        pay([SEP, AUG], [payee], None, {}, plan="p", currency="USD")
    assert month_number("FY2026-M01") - month_number("FY2025-M12") == 1


# --- property: no cent appears or disappears ---------------------------------------------------------

MONTHS = [f"FY2025-M{m:02d}" for m in range(1, 13)]
cents = st.integers(min_value=-300_000, max_value=800_000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[str], PayeePay, PayPolicy]:
    count = draw(st.integers(min_value=1, max_value=12))
    months = MONTHS[:count]
    earnings = [
        earning(month, str(draw(cents)), component)
        for month in months
        for component in draw(st.sets(st.sampled_from(["commission", "bonus", "spif"])))
    ]
    adjustments = [
        Adjustment(
            f"A{i}",
            "P1",
            draw(st.sampled_from(months)),
            draw(cents),
            "CODE",
            prior_period=draw(st.none() | st.just("FY2024-M12")),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    claws = [
        clawback(
            CommissionPaid("p", "P1", "commission", "FY2024-M06", f"T{i}", draw(cents).copy_abs()),
            Cancellation(
                f"C{i}",
                f"T{i}",
                date(2025, 1, 1),
                date(2024, 6, 1),
                term_start=date(2024, 6, 1),
                term_months=draw(st.integers(1, 24)),
            ),
            ClawbackTerms(draw(st.sampled_from(list(ClawbackMethod))), window_months=draw(st.integers(1, 12))),
            draw(st.sampled_from(months)),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    held_components = draw(st.lists(st.sampled_from(["commission", "*"]), unique=True))
    policy = PayPolicy(holds=[Hold(component=c, until=HoldUntil.MANUAL) for c in held_components])
    released: dict[str, set[HoldKey]] = {}
    for e in earnings:
        when = draw(st.none() | st.sampled_from(months))  # never, or a month (before its own: ignored)
        if when is not None:
            released.setdefault(when, set()).add(HoldKey("p", "P1", e.component, e.period))
    terms = None
    if draw(st.booleans()):
        kind = draw(st.sampled_from(list(DrawKind)))
        cap = draw(st.none() | st.sampled_from([D("0.25"), D("0.5"), D("1")])) if kind is RECOVERABLE else None
        terms = DrawTerms(kind, draw(cents.filter(lambda c: c > 0)), draw(st.none() | st.integers(1, 12)), cap)
    start = draw(st.sampled_from(["FY2024-M11", *months]))
    return (
        months,
        PayeePay(
            "P1",
            "USD",
            earnings=earnings,
            adjustments=adjustments,
            clawbacks=claws,
            draw=terms,
            plan_start=start,
            terminated_in=draw(st.none() | st.sampled_from(months)),
            released=released,
        ),
        policy,
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_cent_appears_or_disappears(case: tuple[list[str], PayeePay, PayPolicy]) -> None:
    months, payee, policy = case
    payments, after = pay(months, [payee], policy, {}, plan="p", currency="USD")
    paid = sum((p.amount for p in payments), Decimal(0))
    inputs = sum((e.amount for e in payee.earnings), Decimal(0))
    inputs += sum((a.amount for a in payee.adjustments), Decimal(0))
    inputs += sum((c.amount for c in payee.clawbacks), Decimal(0))
    balance = after["P1"]
    assert paid - inputs == balance.draw_owed + balance.forgiven_to_date - balance.held_total
    for payment in payments:
        assert payment.amount == sum((line.amount for line in payment.lines), Decimal(0))
        assert payment.pay_amount == sum((line.pay_amount for line in payment.lines), Decimal(0))
        assert payment.balance.draw_owed >= 0 and payment.balance.held_total >= 0
        month = payment.draw
        if month is not None:
            assert 0 <= month.recovery <= month.balance_before
            terms = payee.draw
            if month.cap_room is not None:
                assert terms is not None and terms.recovery_cap is not None
                assert month.recovery <= month.cap_room <= terms.recovery_cap * max(month.earned, Decimal(0))
            if month.guaranteed:
                assert terms is not None and payment.amount >= terms.amount
