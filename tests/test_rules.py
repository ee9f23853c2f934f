"""Rule arithmetic: tiers, caps, quota adjustments and true-up, on the worked examples and as properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openspm.calc.rules.caps import Capped, apply_cap, cap_limit
from openspm.calc.rules.quotas import (
    monthly_presence_weights,
    presence_fraction,
    prorated_quota,
    ramp_factor,
    seasonal_share,
)
from openspm.calc.rules.tiers import Band, TierLine, apply_tiers, bands_from_tiers
from openspm.calc.rules.true_up import increment
from openspm.core.errors import InvalidInput
from openspm.core.money import D, round_money
from openspm.plan.models import Cap, NegativeIncrement, Proration, Tier, TierMethod

MARGINAL, RETROACTIVE, SECTION, INTERPOLATED = (
    TierMethod.MARGINAL,
    TierMethod.RETROACTIVE,
    TierMethod.SECTION,
    TierMethod.INTERPOLATED,
)


def bands(*rows: tuple[str, str | None, str]) -> list[Band]:
    """Bands from (lower, upper or None, rate) text."""
    return [Band(D(lower), None if upper is None else D(upper), D(rate)) for lower, upper, rate in rows]


def pay(base: str, table: list[Band], method: TierMethod, boundary: str = "lower") -> Decimal:
    assert boundary in ("lower", "upper")
    return apply_tiers(D(base), table, method, "lower" if boundary == "lower" else "upper").amount


# --- tiers: worked examples ------------------------------------------------------------------------

HALF_THEN_SIXTY = bands(("0", "100000", "0.50"), ("100000", None, "0.60"))


def test_retroactive_pays_the_whole_base_at_the_band_reached_marginal_each_portion_at_its_rate() -> None:
    retro = apply_tiers(D(180000), HALF_THEN_SIXTY, RETROACTIVE)
    assert retro.amount == 108000
    assert retro.rate == D("0.60")
    assert retro.band == 1
    marginal = apply_tiers(D(180000), HALF_THEN_SIXTY, MARGINAL)
    assert marginal.amount == 98000
    assert marginal.rate is None
    assert marginal.lines == (
        TierLine(D(0), D(100000), D(100000), D("0.50"), D(50000)),
        TierLine(D(100000), None, D(80000), D("0.60"), D(48000)),
    )


def test_one_transaction_line_over_two_bands() -> None:
    table = bands(("0", "1000", "0.04"), ("1000", "2000", "0.10"))
    assert pay("1500", table, MARGINAL) == 90
    assert pay("1500", table, RETROACTIVE) == 150


def test_attainment_tiers_become_amount_bands_with_the_quota() -> None:
    tiers = [
        Tier(lower=D(0), upper=D(1), rate=D("0.06")),
        Tier(lower=D(1), upper=D("1.5"), rate=D("0.08")),
        Tier(lower=D("1.5"), upper=None, rate=D("0.10")),
    ]
    table = bands_from_tiers(tiers, scale_by=D(100000))
    assert table == bands(("0", "100000", "0.06"), ("100000", "150000", "0.08"), ("150000", None, "0.10"))
    assert pay("110000", table, RETROACTIVE) == 8800
    assert pay("110000", table, MARGINAL) == 6800
    assert bands_from_tiers(tiers) == bands(("0", "1", "0.06"), ("1", "1.5", "0.08"), ("1.5", None, "0.10"))


def test_section_pays_the_band_containing_the_base_and_nothing_outside_every_band() -> None:
    assert pay("1500", bands(("0", "1000", "0.05"), ("1000", None, "0.10")), SECTION) == 150
    gap = bands(("0", "1000", "0.05"), ("2000", None, "0.10"))
    result = apply_tiers(D(1500), gap, SECTION)
    assert (result.amount, result.rate, result.lines, result.band) == (D(0), D(0), (), None)
    assert pay("2500", gap, SECTION) == 250


def test_quarterly_accelerators_marginal() -> None:
    table = bands(("0", "100000", "0.05"), ("100000", "125000", "0.06"), ("125000", None, "0.07"))
    assert pay("150000", table, MARGINAL) == 8250  # 5,000 + 1,500 + 1,750


def test_boundary_value_goes_to_the_upper_band_unless_the_plan_says_upper() -> None:
    table = bands(("0", "100", "0.01"), ("100", None, "0.02"))
    assert pay("100", table, RETROACTIVE, "lower") == 2
    assert pay("100", table, RETROACTIVE, "upper") == 1


def test_interpolated_rate_runs_linearly_between_band_starts_and_is_flat_in_the_last_band() -> None:
    result = apply_tiers(D(50000), HALF_THEN_SIXTY, INTERPOLATED)
    assert (result.amount, result.rate, result.band) == (D(27500), D("0.55"), 0)
    assert pay("180000", HALF_THEN_SIXTY, INTERPOLATED) == 108000
    thirds = apply_tiers(D(100), bands(("0", "300", "0.03"), ("300", None, "0.06")), INTERPOLATED)
    assert thirds.rate == D("0.04")  # 0.03 + 0.03 × 100/300, exact to the context precision
    assert thirds.amount == 4


# --- tiers: edges ----------------------------------------------------------------------------------

STEPS = bands(("0", "100", "0.01"), ("100", "200", "0.02"))


@pytest.mark.parametrize(
    ("base", "boundary", "method", "amount", "band"),
    [
        # a shared boundary: only the whole-base methods care; interpolation is continuous there
        ("100", "lower", MARGINAL, "1", 1),
        ("100", "upper", MARGINAL, "1", 0),
        ("100", "lower", RETROACTIVE, "2", 1),
        ("100", "upper", RETROACTIVE, "1", 0),
        ("100", "lower", SECTION, "2", 1),
        ("100", "upper", SECTION, "1", 0),
        ("100", "lower", INTERPOLATED, "2", 1),
        ("100", "upper", INTERPOLATED, "2", 0),
        # the first band's lower bound belongs to it in both modes
        ("0", "lower", RETROACTIVE, "0", 0),
        ("0", "upper", RETROACTIVE, "0", 0),
        # a closed last band: its upper bound is outside it unless boundary is upper
        ("200", "lower", MARGINAL, "3", None),
        ("200", "upper", MARGINAL, "3", 1),
        ("200", "lower", RETROACTIVE, "4", None),  # past the table: the band reached is the last
        ("200", "upper", RETROACTIVE, "4", 1),
        ("200", "lower", SECTION, "0", None),
        ("200", "upper", SECTION, "4", 1),
        ("200", "lower", INTERPOLATED, "4", None),
        ("200", "upper", INTERPOLATED, "4", 1),
        ("250", "upper", MARGINAL, "3", None),  # nothing above a closed table pays marginally
    ],
)
def test_a_base_on_a_bound(base: str, boundary: str, method: TierMethod, amount: str, band: int | None) -> None:
    assert boundary in ("lower", "upper")
    result = apply_tiers(D(base), STEPS, method, "lower" if boundary == "lower" else "upper")
    assert (result.amount, result.band) == (D(amount), band)


def test_a_lower_bound_after_a_gap_starts_its_band_in_both_modes() -> None:
    gap = bands(("0", "1000", "0.05"), ("2000", None, "0.10"))
    for boundary in ("lower", "upper"):
        assert pay("2000", gap, SECTION, boundary) == 200
    assert pay("1000", gap, SECTION, "lower") == 0
    assert pay("1000", gap, SECTION, "upper") == 50  # (0, 1000] holds its upper bound


@pytest.mark.parametrize("method", list(TierMethod))
def test_a_zero_base_earns_nothing(method: TierMethod) -> None:
    result = apply_tiers(D(0), HALF_THEN_SIXTY, method)
    assert result.amount == 0
    assert result.band == 0


@pytest.mark.parametrize("method", list(TierMethod))
def test_a_negative_base_earns_nothing_when_the_table_starts_at_zero(method: TierMethod) -> None:
    result = apply_tiers(D(-5000), HALF_THEN_SIXTY, method)
    assert (result.amount, result.lines, result.band) == (D(0), (), None)


def test_a_table_reaching_below_zero_pays_negative_bases_by_the_same_arithmetic() -> None:
    table = bands(("-1000", "0", "0.05"), ("0", None, "0.10"))
    marginal = apply_tiers(D(-500), table, MARGINAL)
    assert marginal.amount == D("-25")
    assert marginal.lines == (TierLine(D(-1000), D(0), D(-500), D("0.05"), D("-25")),)
    assert pay("-500", table, RETROACTIVE) == -25
    assert pay("-500", table, SECTION) == -25
    assert pay("-1500", table, MARGINAL) == -50  # the part below the first band pays nothing
    assert pay("-1500", table, RETROACTIVE) == 0
    assert pay("500", table, MARGINAL) == 50  # marginal counts from 0, not from the first band


def test_a_table_starting_above_zero() -> None:
    table = bands(("1000", None, "0.10"))
    assert pay("1500", table, MARGINAL) == 50
    assert pay("1500", table, RETROACTIVE) == 150
    assert pay("999.99", table, RETROACTIVE) == 0
    assert pay("999.99", table, INTERPOLATED) == 0


def test_an_open_last_band_takes_any_base() -> None:
    huge = D("123456789012.34")
    assert pay(str(huge), HALF_THEN_SIXTY, MARGINAL) == 50000 + (huge - 100000) * D("0.60")
    assert pay(str(huge), HALF_THEN_SIXTY, SECTION) == huge * D("0.60")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([], "at least one band"),
        (bands(("0", "100", "0.01"), ("50", None, "0.02")), "overlap"),
        (bands(("0", None, "0.01"), ("100", None, "0.02")), "only the last band may be open-ended"),
        (bands(("100", "100", "0.01")), "must be above lower"),
    ],
)
def test_malformed_tables_are_refused(table: list[Band], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_tiers(D(1), table, MARGINAL)


def test_an_unknown_boundary_is_refused() -> None:
    with pytest.raises(ValueError, match="boundary must be"):
        apply_tiers(D(1), STEPS, MARGINAL, "middle")  # type: ignore[arg-type]


# --- tiers: properties -----------------------------------------------------------------------------

amounts = st.decimals(min_value=-100_000, max_value=10_000_000, places=2)
widths = st.decimals(min_value=D("0.01"), max_value=1_000_000, places=2)
fractions = st.decimals(min_value=0, max_value=1, places=4)


@st.composite
def tables(
    draw: st.DrawFn, *, lowest: int = -1000, ascending: bool = False, gaps: bool = True, open_end: bool | None = None
) -> list[Band]:
    """Valid rate tables: ascending bands, optional gaps, the last open or closed."""
    lower = draw(st.decimals(min_value=lowest, max_value=100_000, places=2))
    count = draw(st.integers(min_value=1, max_value=5))
    rates = draw(st.lists(fractions, min_size=count, max_size=count))
    if ascending:
        rates.sort()
    is_open = draw(st.booleans()) if open_end is None else open_end
    table = []
    for i, rate in enumerate(rates):
        last = i == count - 1
        upper = None if last and is_open else lower + draw(widths)
        table.append(Band(lower, upper, rate))
        if upper is not None:
            lower = upper + (draw(st.sampled_from([D(0), D(0), D(500)])) if gaps else D(0))
    return table


@given(tables(), amounts, amounts)
def test_marginal_never_falls_as_the_base_grows(table: list[Band], a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert apply_tiers(low, table, MARGINAL).amount <= apply_tiers(high, table, MARGINAL).amount


@given(tables(lowest=0, ascending=True), st.decimals(min_value=0, max_value=10_000_000, places=2))
def test_retroactive_pays_at_least_marginal_when_rates_ascend(table: list[Band], base: Decimal) -> None:
    assert apply_tiers(base, table, RETROACTIVE).amount >= apply_tiers(base, table, MARGINAL).amount


@given(tables(lowest=-1000, gaps=False, open_end=True), amounts)
def test_marginal_lines_add_up_to_the_total_and_cover_the_base(table: list[Band], base: Decimal) -> None:
    result = apply_tiers(base, table, MARGINAL)
    assert sum((line.amount for line in result.lines), D(0)) == result.amount
    assert all(line.amount == line.portion * line.rate for line in result.lines)
    covered = sum((line.portion for line in result.lines), D(0))
    if table[0].lower <= 0 and table[0].lower <= base:
        assert covered == base  # a table with no gap from its start through 0 covers the whole base


@given(tables(), amounts, st.sampled_from(list(TierMethod)))
def test_the_boundary_rule_only_matters_on_a_bound(table: list[Band], base: Decimal, method: TierMethod) -> None:
    bounds = {band.lower for band in table} | {band.upper for band in table if band.upper is not None}
    if base not in bounds:
        assert apply_tiers(base, table, method, "lower") == apply_tiers(base, table, method, "upper")


# --- caps ------------------------------------------------------------------------------------------


def test_a_monthly_cap_cuts_the_excess_and_says_how_much() -> None:
    earning = D("0.03") * D(400000)
    assert apply_cap(earning, D(10000)) == Capped(D(10000), D(2000))
    assert apply_cap(D(9000), D(10000)) == Capped(D(9000), D(0))


def test_a_yearly_cap_leaves_only_the_room_earlier_months_left() -> None:
    assert apply_cap(D(8000), D(50000), already_paid=D(45000)) == Capped(D(5000), D(3000))
    assert apply_cap(D(8000), D(50000), already_paid=D(50000)) == Capped(D(0), D(8000))
    assert apply_cap(D(8000), D(50000), already_paid=D(52000)) == Capped(D(0), D(8000))


def test_negative_amounts_pass_a_cap_uncut() -> None:
    assert apply_cap(D(-500), D(100), already_paid=D(100)) == Capped(D(-500), D(0))
    with pytest.raises(ValueError, match="cannot be negative"):
        apply_cap(D(1), D(-1))


def test_a_cap_limit_is_an_amount_or_a_multiple_of_target_incentive() -> None:
    assert cap_limit(Cap(amount=D(10000)), None) == 10000
    assert cap_limit(Cap(target_multiple=D(2)), D(60000)) == 120000
    with pytest.raises(InvalidInput, match=r"the cap is 2 × target incentive, but the payee has no target incentive"):
        cap_limit(Cap(target_multiple=D(2)), None)


@given(
    st.decimals(min_value=D("0.01"), max_value=10_000_000, places=2),
    st.decimals(min_value=0, max_value=10_000_000, places=2),
    st.decimals(min_value=-10_000_000, max_value=1, places=2),
)
def test_a_cap_is_never_exceeded(amount: Decimal, limit: Decimal, below_limit: Decimal) -> None:
    already_paid = limit + below_limit if below_limit <= 0 else D(0)
    capped = apply_cap(amount, limit, already_paid)
    assert already_paid + capped.amount <= limit
    assert capped.amount + capped.cut == amount
    assert capped.cut >= 0
    assert capped.amount >= 0


# --- quotas ----------------------------------------------------------------------------------------

QUARTERS = [D("0.2"), D("0.2"), D("0.2"), D("0.4")]
MONTHS12 = [D("0.05")] * 4 + [D("0.1")] * 4 + [D("0.1")] * 4


def test_seasonal_shares_split_a_year_into_quarters_or_months() -> None:
    assert seasonal_share(None, 0, 4) == D("0.25")
    assert round_money(seasonal_share(None, 11, 12), 6) == D("0.083333")
    assert seasonal_share(QUARTERS, 3, 4) == D("0.4")
    assert round_money(seasonal_share(QUARTERS, 11, 12), 6) == D("0.133333")
    assert round_money(seasonal_share(QUARTERS, 0, 12), 6) == D("0.066667")
    assert seasonal_share(MONTHS12, 1, 4) == D("0.25")  # 0.05 + 0.1 + 0.1
    assert seasonal_share(MONTHS12, 0, 12) == D("0.05")
    assert seasonal_share(QUARTERS, 0, 1) == 1
    with pytest.raises(ValueError, match="period index 4 is not one of 4 periods"):
        seasonal_share(QUARTERS, 4, 4)
    with pytest.raises(ValueError, match="5 seasonal weights do not split into 12 periods"):
        seasonal_share([D("0.2")] * 5, 0, 12)


Q1 = (date(2025, 1, 1), date(2025, 4, 1))


@pytest.mark.parametrize(
    ("hire", "termination", "method", "fraction"),
    [
        (date(2025, 3, 1), None, Proration.MONTHS, D(1) / 3),  # a hire on the 1st counts the month
        (date(2025, 3, 2), None, Proration.MONTHS, D(0)),  # a hire on the 2nd does not
        (None, date(2025, 3, 15), Proration.MONTHS, D(1)),  # a termination mid-month keeps the month
        (None, date(2025, 3, 1), Proration.MONTHS, D(2) / 3),  # the termination day is the first not employed
        (date(2025, 3, 2), None, Proration.DAYS, D(30) / 90),
        (date(2025, 2, 1), date(2025, 3, 1), Proration.DAYS, D(28) / 90),
        (date(2025, 3, 31), None, Proration.NONE, D(1)),
        (None, date(2025, 1, 1), Proration.NONE, D(0)),  # gone before the period starts
        (date(2025, 4, 1), None, Proration.DAYS, D(0)),  # hired after it ends
        (date(2025, 2, 1), date(2025, 2, 1), Proration.DAYS, D(0)),  # never employed
        (None, None, Proration.MONTHS, D(1)),
    ],
)
def test_presence_fraction(hire: date | None, termination: date | None, method: Proration, fraction: Decimal) -> None:
    assert presence_fraction(*Q1, hire, termination, method) == fraction


def test_presence_needs_a_sensible_period_and_employment() -> None:
    with pytest.raises(ValueError, match="before hire"):
        presence_fraction(*Q1, date(2025, 3, 1), date(2025, 2, 1), Proration.DAYS)
    with pytest.raises(ValueError, match="must be after its start"):
        presence_fraction(Q1[1], Q1[0], None, None, Proration.DAYS)
    with pytest.raises(ValueError, match="not a span of whole months"):
        presence_fraction(date(2025, 1, 15), date(2025, 2, 15), None, None, Proration.MONTHS)
    assert presence_fraction(date(2025, 1, 15), date(2025, 2, 15), date(2025, 2, 1), None, Proration.DAYS) == D(14) / 31


def test_ramp_factors_count_whole_months_from_the_hire_month() -> None:
    ramp = [D("0.5"), D("0.75")]
    hire = date(2025, 3, 15)
    assert ramp_factor(ramp, hire, date(2025, 3, 1)) == D("0.5")
    assert ramp_factor(ramp, hire, date(2025, 4, 1)) == D("0.75")
    assert ramp_factor(ramp, hire, date(2025, 5, 1)) == 1
    assert ramp_factor(ramp, hire, date(2026, 3, 1)) == 1
    assert ramp_factor(ramp, hire, date(2025, 1, 1)) == D("0.5")  # before the hire month: the first factor
    assert ramp_factor(ramp, None, date(2025, 3, 1)) == 1
    assert ramp_factor([], hire, date(2025, 3, 1)) == 1


def test_monthly_presence_weights() -> None:
    assert monthly_presence_weights(*Q1, date(2025, 2, 16), None, Proration.DAYS) == [D(0), D(13) / 28, D(1)]
    assert monthly_presence_weights(*Q1, date(2025, 2, 16), None, Proration.MONTHS) == [D(0), D(0), D(1)]
    assert monthly_presence_weights(*Q1, date(2025, 2, 16), None, Proration.NONE) == [D(1), D(1), D(1)]


def quarter(q: int, year: int = 2025) -> tuple[date, date]:
    start = date(year, 1 + 3 * q, 1)
    return start, date(year + 1, 1, 1) if q == 3 else date(year, 4 + 3 * q, 1)


def test_an_annual_quota_with_seasonality_and_a_hire_on_1_march() -> None:
    exact = [
        prorated_quota(
            D(100000),
            *quarter(q),
            year_start=date(2025, 1, 1),
            seasonality=QUARTERS,
            proration=Proration.MONTHS,
            hire=date(2025, 3, 1),
        )
        for q in range(4)
    ]
    assert exact[0] == D(20000) / 3  # exact to the context precision; rounding is the caller's
    quarters = [round_money(value) for value in exact]  # each period's quota at the plan's scale
    assert quarters == [D("6666.67"), D(20000), D(20000), D(40000)]
    assert sum(quarters) == D("86666.67")


def test_without_proration_a_payee_present_in_the_period_carries_its_whole_quota() -> None:
    got = prorated_quota(
        D(100000), *quarter(0), year_start=date(2025, 1, 1), seasonality=QUARTERS, hire=date(2025, 3, 1)
    )
    assert got == 20000


def test_proration_by_days_and_a_ramp_month_by_month() -> None:
    def quota(q: int) -> Decimal:
        return prorated_quota(
            D(120000),
            *quarter(q),
            year_start=date(2025, 1, 1),
            proration=Proration.DAYS,
            hire=date(2025, 3, 15),
            ramp=[D("0.5"), D("0.75")],
        )

    q1 = quota(0)
    assert q1 == D(85000) / 31  # 10,000 × 17/31 of March's days × 0.5
    q2 = quota(1)
    assert q2 == 27500  # 10,000 × (0.75 + 1 + 1)


def test_a_stored_period_quota_takes_only_proration_and_ramp() -> None:
    got = prorated_quota(
        D(30000),
        *quarter(0),
        year_start=date(2025, 1, 1),
        covers=quarter(0),
        proration=Proration.MONTHS,
        hire=date(2025, 3, 1),
    )
    assert got == 10000
    # twelve weights split a stored quarter by its months' relative weights: April 0.05, May 0.1, June 0.1
    april, may = (
        prorated_quota(
            D(30000),
            start,
            start.replace(month=start.month + 1),
            year_start=date(2025, 1, 1),
            covers=quarter(1),
            seasonality=MONTHS12,
        )
        for start in (date(2025, 4, 1), date(2025, 5, 1))
    )
    assert (april, may) == (D(6000), D(12000))  # 30,000 × 0.05 / 0.25 and 30,000 × 0.1 / 0.25
    zero = [D(0)] * 3 + [D("0.25")] * 3 + [D("0.125")] * 6
    assert prorated_quota(D(900), *quarter(0), year_start=date(2025, 1, 1), covers=quarter(0), seasonality=zero) == 900


def test_seasonality_follows_the_fiscal_year() -> None:
    last_month = (date(2026, 1, 1), date(2026, 2, 1))  # fiscal month 12 of the year starting February 2025
    got = prorated_quota(D(100000), *last_month, year_start=date(2025, 2, 1), seasonality=QUARTERS)
    assert round_money(got) == D("13333.33")


def test_a_period_outside_the_quota_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the quota"):
        prorated_quota(D(1), date(2026, 1, 1), date(2026, 2, 1), year_start=date(2025, 1, 1))
    with pytest.raises(ValueError, match="not in the fiscal year"):
        prorated_quota(D(1), *quarter(0, 2026), year_start=date(2025, 1, 1), covers=quarter(0, 2026))


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


@given(
    days, st.integers(min_value=1, max_value=400), st.none() | days, st.none() | days, st.sampled_from(list(Proration))
)
def test_presence_is_a_fraction_between_0_and_1(
    start: date, length: int, hire: date | None, termination: date | None, method: Proration
) -> None:
    if hire is not None and termination is not None and termination < hire:
        hire, termination = termination, hire
    end = start + timedelta(days=length)
    if method == Proration.MONTHS:
        start, end = start.replace(day=1), end.replace(day=1)
        if end <= start:
            return
    assert 0 <= presence_fraction(start, end, hire, termination, method) <= 1


@given(st.none() | days, st.none() | days, st.sampled_from(list(Proration)))
def test_quarters_add_up_to_the_prorated_year(hire: date | None, termination: date | None, method: Proration) -> None:
    if hire is not None and termination is not None and termination < hire:
        hire, termination = termination, hire
    if method == Proration.NONE:
        return  # without proration a quarter is all or nothing, and so is the year: they need not add up

    def quota(start: date, end: date) -> Decimal:
        return prorated_quota(
            D(100000),
            start,
            end,
            year_start=date(2025, 1, 1),
            seasonality=QUARTERS,
            proration=method,
            hire=hire,
            termination=termination,
        )

    parts = sum((quota(*quarter(q)) for q in range(4)), D(0))
    year = quota(date(2025, 1, 1), date(2026, 1, 1))
    assert abs(parts - year) < D("1e-20")
    assert 0 <= year <= 100000


# --- true-up ---------------------------------------------------------------------------------------

TO_DATE = [D(1000), D(700), D(1500)]  # a cancellation in February


def run_true_up(to_date: list[Decimal], negative: NegativeIncrement) -> tuple[list[Decimal], list[Decimal]]:
    paid, carried_after, earned_before, carried = [], [], D(0), D(0)
    for value in to_date:
        now, carried = increment(value, earned_before, carried, negative)
        paid.append(now)
        carried_after.append(carried)
        earned_before = value
    return paid, carried_after


def test_claw_pays_a_negative_increment_back() -> None:
    assert run_true_up(TO_DATE, NegativeIncrement.CLAW) == ([D(1000), D(-300), D(800)], [D(0)] * 3)


def test_carry_pays_nothing_and_recovers_the_shortfall_from_later_increments() -> None:
    assert run_true_up(TO_DATE, NegativeIncrement.CARRY) == ([D(1000), D(0), D(500)], [D(0), D(300), D(0)])
    assert increment(D(800), D(700), D(300), NegativeIncrement.CARRY) == (D(0), D(200))


def test_floor_pays_nothing_and_forgets() -> None:
    assert run_true_up(TO_DATE, NegativeIncrement.FLOOR) == ([D(1000), D(0), D(800)], [D(0)] * 3)


def test_a_carried_balance_is_never_negative() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        increment(D(1), D(0), D(-1), NegativeIncrement.CARRY)


@given(st.lists(amounts, min_size=1, max_size=12), st.sampled_from(list(NegativeIncrement)))
def test_true_up_pays_what_was_earned_to_date_plus_the_carried_balance(
    to_date: list[Decimal], negative: NegativeIncrement
) -> None:
    paid, carried = run_true_up(to_date, negative)
    assert all(balance >= 0 for balance in carried)
    if negative == NegativeIncrement.FLOOR:
        assert all(now >= 0 for now in paid)
        assert sum(paid, D(0)) >= to_date[-1]
    else:
        assert sum(paid, D(0)) == to_date[-1] + carried[-1]
    if negative == NegativeIncrement.CARRY:
        assert all(now >= 0 for now in paid)
        assert sum(paid, D(0)) == max(D(0), *to_date)  # carry pays up to the high-water mark of the earning
