"""Commission accounting (ASC 340-40 / IFRS 15): the golden scenarios, exactly, and the invariants as properties."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openspm.calc.rules.amortization import (
    AccountingPolicy,
    AmortizationBasis,
    CommissionCost,
    EntryKind,
    JournalLine,
    LineKind,
    Schedule,
    Treatment,
    fiscal_months,
    journal,
    month_journal,
    position,
    schedule,
    straight_line,
)
from openspm.core.errors import InvalidInput
from openspm.core.money import D, round_money
from openspm.core.period import Period, fiscal_periods

POLICY = AccountingPolicy()
MONTHS = fiscal_months(date(2025, 1, 1), 12 * 12)  # FY2025-M01 .. FY2036-M12
JAN_2026 = date(2026, 1, 1)


def cost(
    amount: str, term: int, *, incremental: bool = True, cancelled: date | None = None, cid: str = "C-1"
) -> CommissionCost:
    return CommissionCost(
        cost_id=cid,
        payee="P-7",
        contract="ORD-100",
        cost_center="CC-EMEA",
        amount=D(amount),
        currency="usd",
        incurred=date(2026, 1, 15),
        term_months=term,
        incremental=incremental,
        cancelled=cancelled,
    )


def amounts(result: Schedule) -> list[Decimal]:
    return [line.amount for line in result.lines]


def month(name: str) -> Period:
    return next(m for m in MONTHS if m.name == name)


# --- golden scenarios ------------------------------------------------------------------------------


def test_3000_on_a_five_year_contract_is_an_asset_of_3000_amortized_50_a_month() -> None:
    result = schedule(cost("3000", 60), POLICY, MONTHS)
    assert result.treatment == Treatment.CAPITALIZED
    assert (result.period_months, result.capitalized, result.expensed_at_once) == (60, D("3000.00"), D(0))
    assert amounts(result) == [D("50.00")] * 60
    assert {line.kind for line in result.lines} == {LineKind.AMORTIZATION}
    first, last = result.lines[0], result.lines[-1]
    assert (first.month.name, first.accumulated, first.remaining) == ("FY2026-M01", D("50.00"), D("2950.00"))
    assert (last.month.name, last.accumulated, last.remaining) == ("FY2030-M12", D("3000.00"), D("0.00"))


def test_6000_over_24_months_is_250_a_month() -> None:
    result = schedule(cost("6000", 24), POLICY, MONTHS)
    assert amounts(result) == [D("250.00")] * 24
    assert result.lines[11].remaining == D("3000.00")


def test_15000_over_36_months_is_416_67_a_month_and_the_last_month_416_55() -> None:
    result = schedule(cost("15000", 36), POLICY, MONTHS)
    assert amounts(result) == [D("416.67")] * 35 + [D("416.55")]
    assert str(sum(amounts(result), Decimal(0))) == "15000.00"
    assert result.lines[-2].remaining == D("416.55")
    assert result.lines[-1].remaining == 0


@pytest.mark.parametrize(
    ("term", "expected"),
    [(6, Treatment.EXPENSED_EXPEDIENT), (12, Treatment.EXPENSED_EXPEDIENT), (13, Treatment.CAPITALIZED)],
)
def test_the_practical_expedient_expenses_12_months_or_less_and_13_capitalizes(term: int, expected: Treatment) -> None:
    result = schedule(cost("3000", term), POLICY, MONTHS)
    assert result.treatment == expected
    if expected == Treatment.EXPENSED_EXPEDIENT:
        assert [(line.month.name, line.kind, line.amount, line.remaining) for line in result.lines] == [
            ("FY2026-M01", LineKind.EXPENSE, D("3000.00"), D(0))
        ]
        assert (result.capitalized, result.expensed_at_once) == (D(0), D("3000.00"))
    else:
        assert len(result.lines) == 13
        assert amounts(result) == [D("230.77")] * 12 + [D("230.76")]


def test_without_the_expedient_a_6_month_deal_is_capitalized() -> None:
    result = schedule(cost("3000", 6), AccountingPolicy(practical_expedient=False), MONTHS)
    assert result.treatment == Treatment.CAPITALIZED
    assert amounts(result) == [D("500.00")] * 6


def test_non_commensurate_renewals_amortize_a_12_month_contract_over_the_60_month_expected_benefit() -> None:
    policy = AccountingPolicy(renewals_commensurate=False, expected_benefit_months=60)
    result = schedule(cost("3000", 12), policy, MONTHS)
    assert (result.treatment, result.period_months) == (Treatment.CAPITALIZED, 60)
    assert amounts(result) == [D("50.00")] * 60
    # commensurate renewals: the same contract is amortized over its term, so the expedient expenses it
    assert schedule(cost("3000", 12), AccountingPolicy(expected_benefit_months=60), MONTHS).treatment == (
        Treatment.EXPENSED_EXPEDIENT
    )


def test_the_expected_benefit_basis_and_its_floor_at_the_contract_term() -> None:
    policy = AccountingPolicy(basis=AmortizationBasis.EXPECTED_BENEFIT_MONTHS, expected_benefit_months=48)
    assert schedule(cost("4800", 24), policy, MONTHS).period_months == 48
    assert schedule(cost("6000", 60), policy, MONTHS).period_months == 60  # never shorter than the contract


def test_cancellation_in_month_10_of_24_impairs_the_remaining_balance_and_stops_the_schedule() -> None:
    result = schedule(cost("6000", 24, cancelled=date(2026, 10, 3)), POLICY, MONTHS)
    assert [line.kind for line in result.lines] == [LineKind.AMORTIZATION] * 9 + [LineKind.IMPAIRMENT]
    assert amounts(result) == [D("250.00")] * 9 + [D("3750.00")]
    impairment = result.lines[-1]
    assert (impairment.month.name, impairment.accumulated, impairment.remaining) == ("FY2026-M10", D("6000.00"), D(0))
    assert result.impaired == D("3750.00")
    assert result.remaining_at(MONTHS[12 + 9]) == 0
    assert result.remaining_at(MONTHS[12 + 8]) == D("3750.00")


def test_cancellation_in_the_incurred_month_impairs_everything_and_after_the_end_changes_nothing() -> None:
    at_once = schedule(cost("6000", 24, cancelled=date(2026, 1, 31)), POLICY, MONTHS)
    assert [(line.kind, line.amount) for line in at_once.lines] == [(LineKind.IMPAIRMENT, D("6000.00"))]
    late = schedule(cost("6000", 24, cancelled=date(2028, 1, 1)), POLICY, MONTHS)
    assert amounts(late) == [D("250.00")] * 24
    expensed = schedule(cost("3000", 6, cancelled=date(2026, 3, 1)), POLICY, MONTHS)
    assert [line.kind for line in expensed.lines] == [LineKind.EXPENSE]


def test_a_cost_incurred_regardless_of_winning_is_expensed_never_capitalized() -> None:
    result = schedule(cost("9000", 36, incremental=False), POLICY, MONTHS)
    assert (result.treatment, result.capitalized) == (Treatment.EXPENSED_NOT_INCREMENTAL, D(0))
    assert amounts(result) == [D("9000.00")]
    (entry,) = journal(result)
    assert entry.kind == EntryKind.EXPENSE
    assert "not incremental" in entry.memo


def test_the_cost_is_booked_at_the_policy_scale() -> None:
    result = schedule(cost("1000.005", 24), POLICY, MONTHS)
    assert result.booked == D("1000.01")
    assert sum(amounts(result), Decimal(0)) == D("1000.01")
    half_even = schedule(cost("1000.005", 24), AccountingPolicy(rounding="half_even"), MONTHS)
    assert half_even.booked == D("1000.00")
    whole = schedule(cost("1000", 24), AccountingPolicy(scale=0), MONTHS)
    assert amounts(whole) == [D(42)] * 23 + [D(34)]


def test_a_small_cost_over_a_long_period_never_amortizes_a_negative_month() -> None:
    # 10.00 / 60 = 0.1666… → 0.17, and 59 × 0.17 = 10.03 > 10.00: the rounded running total is used instead
    lines = straight_line(D("10.00"), 60)
    assert sum(lines, Decimal(0)) == D("10.00")
    assert set(lines) == {D("0.16"), D("0.17")}
    assert lines[:3] == [D("0.17"), D("0.16"), D("0.17")]


# --- journal ---------------------------------------------------------------------------------------


def test_the_journal_of_a_capitalized_cost_capitalizes_amortizes_and_impairs() -> None:
    entries = journal(schedule(cost("6000", 24, cancelled=date(2026, 10, 1)), POLICY, MONTHS))
    kinds = [entry.kind for entry in entries]
    assert kinds == [EntryKind.CAPITALIZATION] + [EntryKind.AMORTIZATION] * 9 + [EntryKind.IMPAIRMENT]
    capitalization, first, *_, impairment = entries
    assert capitalization.lines == (
        JournalLine("Deferred commissions", "CC-EMEA", D("6000.00"), D(0)),
        JournalLine("Accrued commissions", "CC-EMEA", D(0), D("6000.00")),
    )
    assert capitalization.month.name == first.month.name == "FY2026-M01"
    assert first.lines == (
        JournalLine("Commission expense", "CC-EMEA", D("250.00"), D(0)),
        JournalLine("Deferred commissions", "CC-EMEA", D(0), D("250.00")),
    )
    assert first.memo == "amortize commission C-1: month 1 of 24"
    assert impairment.lines == (
        JournalLine("Commission impairment", "CC-EMEA", D("3750.00"), D(0)),
        JournalLine("Deferred commissions", "CC-EMEA", D(0), D("3750.00")),
    )
    assert impairment.month.name == "FY2026-M10"
    assert all(entry.balanced and entry.cost_id == "C-1" and entry.currency == "USD" for entry in entries)
    assert {(entry.payee, entry.contract) for entry in entries} == {("P-7", "ORD-100")}


def test_the_expedient_expense_entry_and_configured_accounts() -> None:
    policy = AccountingPolicy(
        expense_account="6100 Commissions",
        accrued_account="2100 Accrued commissions",
        asset_account="1400 Contract costs",
        impairment_account="6100 Commissions",
    )
    (entry,) = journal(schedule(cost("3000", 6), policy, MONTHS))
    assert entry.kind == EntryKind.EXPENSE
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        ("6100 Commissions", D("3000.00"), 0),
        ("2100 Accrued commissions", 0, D("3000.00")),
    ]
    assert "practical expedient" in entry.memo
    impaired = journal(schedule(cost("6000", 24, cancelled=date(2026, 2, 1)), policy, MONTHS))
    assert [line.account for line in impaired[-1].lines] == ["6100 Commissions", "1400 Contract costs"]


def test_the_journal_of_a_month_across_costs_and_the_position_at_month_end() -> None:
    schedules = [
        schedule(cost("3000", 60, cid="A"), POLICY, MONTHS),
        schedule(cost("6000", 24, cid="B", cancelled=date(2026, 3, 1)), POLICY, MONTHS),
        schedule(cost("3000", 6, cid="C"), POLICY, MONTHS),
        schedule(
            CommissionCost("D", "P-8", "ORD-200", "CC-US", D("2400"), "EUR", date(2026, 3, 1), 24), POLICY, MONTHS
        ),
    ]
    january = month("FY2026-M01")
    assert [(e.cost_id, e.kind, e.debits) for e in month_journal(schedules, january)] == [
        ("A", EntryKind.CAPITALIZATION, D("3000.00")),
        ("A", EntryKind.AMORTIZATION, D("50.00")),
        ("B", EntryKind.CAPITALIZATION, D("6000.00")),
        ("B", EntryKind.AMORTIZATION, D("250.00")),
        ("C", EntryKind.EXPENSE, D("3000.00")),
    ]
    march = month("FY2026-M03")
    assert [(e.cost_id, e.kind, e.debits) for e in month_journal(schedules, march)] == [
        ("A", EntryKind.AMORTIZATION, D("50.00")),
        ("B", EntryKind.IMPAIRMENT, D("5500.00")),
        ("D", EntryKind.CAPITALIZATION, D("2400.00")),
        ("D", EntryKind.AMORTIZATION, D("100.00")),
    ]
    before = position(schedules, month("FY2025-M12"))
    assert (dict(before.by_cost), dict(before.by_currency)) == ({}, {})
    end_jan = position(schedules, january)
    assert dict(end_jan.by_cost) == {"A": D("2950.00"), "B": D("5750.00")}
    assert dict(end_jan.by_currency) == {"USD": D("8700.00")}
    end_march = position(schedules, march)
    assert dict(end_march.by_cost) == {"A": D("2850.00"), "D": D("2300.00")}
    assert dict(end_march.by_currency) == {"USD": D("2850.00"), "EUR": D("2300.00")}
    assert dict(position(schedules, month("FY2031-M01")).by_cost) == {}
    with pytest.raises(InvalidInput, match="given twice"):
        position([schedules[0], schedules[0]], january)


# --- months and bad input --------------------------------------------------------------------------


def test_fiscal_months_are_named_as_the_calendar_names_them() -> None:
    for start_month in (1, 2, 7):
        for year in (2026, 2027):
            from_calendar = [p for p in fiscal_periods(year, start_month) if p.kind == "month"]
            assert fiscal_months(from_calendar[0].start, 12, start_month) == from_calendar
    assert fiscal_months(date(2025, 12, 9), 2, 2)[1].name == "FY2026-M12"


def test_the_schedule_needs_the_months_it_uses_consecutive() -> None:
    with pytest.raises(
        InvalidInput, match="runs 60 months from FY2026-M01, but the calendar given ends with FY2026-M12"
    ):
        schedule(cost("3000", 60), POLICY, fiscal_months(JAN_2026, 12))
    with pytest.raises(InvalidInput, match="outside the fiscal months given"):
        schedule(cost("3000", 60), POLICY, fiscal_months(date(2027, 1, 1), 60))
    gap = fiscal_months(JAN_2026, 3)
    with pytest.raises(InvalidInput, match="not consecutive"):
        schedule(cost("3000", 60), POLICY, [gap[0], gap[2]])
    with pytest.raises(InvalidInput, match="not a month"):
        schedule(cost("3000", 60), POLICY, fiscal_periods(2026)[:1])
    cancelled = schedule(cost("6000", 24, cancelled=date(2026, 3, 1)), POLICY, fiscal_months(JAN_2026, 3))
    assert len(cancelled.lines) == 3  # a cancelled schedule needs only the months up to the cancellation


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AccountingPolicy(renewals_commensurate=False), "set expected_benefit_months"),
        (lambda: AccountingPolicy(basis=AmortizationBasis.EXPECTED_BENEFIT_MONTHS), "the basis is expected_benefit"),
        (lambda: AccountingPolicy(expected_benefit_months=0), ">= 1"),
        (lambda: AccountingPolicy(rounding="nearest"), "unknown rounding mode"),
        (lambda: AccountingPolicy(scale=-1), "scale"),
        (lambda: AccountingPolicy(asset_account=" "), "asset_account"),
        (lambda: cost("-5", 24), "cannot be negative"),
        (lambda: cost("5", 0), "contract term"),
        (lambda: cost("5", 24, cancelled=date(2025, 12, 31)), "before it was incurred"),
        (lambda: CommissionCost("X", "P", "O", "CC", D(5), "XXX", JAN_2026, 24), "ISO 4217"),
    ],
)
def test_bad_policies_and_costs_say_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()  # type: ignore[operator]


# --- properties ------------------------------------------------------------------------------------

amounts_at_scale = st.integers(min_value=0, max_value=10**9).map(lambda cents: Decimal(cents).scaleb(-2))


@st.composite
def costs(draw: st.DrawFn) -> tuple[CommissionCost, AccountingPolicy]:
    term = draw(st.integers(min_value=1, max_value=72))
    commensurate = draw(st.booleans())
    benefit = draw(st.none() | st.integers(min_value=1, max_value=96)) if commensurate else draw(st.integers(1, 96))
    policy = AccountingPolicy(
        renewals_commensurate=commensurate,
        expected_benefit_months=benefit,
        practical_expedient=draw(st.booleans()),
        rounding=draw(st.sampled_from(["half_up", "half_even", "down", "up"])),
    )
    incurred_offset = draw(st.integers(min_value=0, max_value=24))
    incurred = MONTHS[incurred_offset].start
    cancel_after = draw(st.none() | st.integers(min_value=0, max_value=100))
    cancelled = None if cancel_after is None else MONTHS[incurred_offset + cancel_after].start
    item = CommissionCost(
        cost_id="X",
        payee="P",
        contract="O",
        cost_center="CC",
        amount=draw(amounts_at_scale),
        currency="USD",
        incurred=incurred,
        term_months=term,
        incremental=draw(st.booleans()),
        cancelled=cancelled,
    )
    return item, policy


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=120),
    st.sampled_from(["half_up", "half_even", "down", "up"]),
)
def test_straight_line_sums_exactly_and_never_goes_negative(cents: int, months: int, mode: str) -> None:
    amount = Decimal(cents).scaleb(-2)
    lines = straight_line(amount, months, 2, mode)
    assert len(lines) == months
    assert sum(lines, Decimal(0)) == amount
    assert all(line >= 0 and line == round_money(line, 2) for line in lines)
    exact = amount / months
    assert all(abs(line - exact) < Decimal("0.01") for line in lines[:-1])


@given(costs())
def test_schedules_sum_to_the_cost_and_the_asset_only_falls(case: tuple[CommissionCost, AccountingPolicy]) -> None:
    item, policy = case
    result = schedule(item, policy, MONTHS)
    assert sum(amounts(result), Decimal(0)) == result.booked == item.amount
    assert result.capitalized + result.expensed_at_once == item.amount
    assert result.capitalized in (0, item.amount)
    previous = result.capitalized
    for line in result.lines:
        assert 0 <= line.remaining <= previous
        assert line.accumulated + line.remaining == item.amount or line.kind == LineKind.EXPENSE
        previous = line.remaining
    assert result.lines[-1].remaining == 0
    assert [line.month for line in result.lines] == MONTHS[MONTHS.index(result.lines[0].month) :][: len(result.lines)]
    if result.treatment == Treatment.CAPITALIZED:
        assert item.incremental
        assert result.period_months > 12 or not policy.practical_expedient
    else:
        assert len(result.lines) == 1


@given(costs())
def test_every_entry_balances_and_the_life_of_a_cost_expenses_exactly_the_cost(
    case: tuple[CommissionCost, AccountingPolicy],
) -> None:
    item, policy = case
    result = schedule(item, policy, MONTHS)
    entries = journal(result)
    assert all(entry.balanced and entry.debits > 0 for entry in entries)
    assert all((line.debit == 0) != (line.credit == 0) for entry in entries for line in entry.lines)

    def net(account: str) -> Decimal:
        return sum(
            (line.debit - line.credit for e in entries for line in e.lines if line.account == account), Decimal(0)
        )

    expensed = net(policy.expense_account) + net(policy.impairment_account)
    assert expensed == item.amount  # capitalized and amortized or impaired, plus expensed at once
    assert net(policy.accrued_account) == -item.amount
    assert net(policy.asset_account) == 0
    for each in MONTHS[:125]:
        in_month = month_journal([result], each)
        asset_to_date = sum(
            (
                line.debit - line.credit
                for e in entries
                if e.month.start <= each.start
                for line in e.lines
                if line.account == policy.asset_account
            ),
            Decimal(0),
        )
        assert position([result], each).by_cost.get("X", Decimal(0)) == asset_to_date
        assert all(e.month == each for e in in_month)


def test_the_python_example_in_docs_accounting_runs() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "accounting.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/accounting.md", "exec"), {})
