"""Pure value types: money, dates, periods, issues."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openspm.core.dates import DateRange, parse_date
from openspm.core.issues import Issue
from openspm.core.money import D, normalize_currency, parse_decimal, round_money
from openspm.core.period import PeriodKind, fiscal_periods, fiscal_year_of


def test_decimals_parse_from_text_exactly() -> None:
    assert parse_decimal("0.1") + parse_decimal("0.2") == D("0.3")
    assert parse_decimal(" 1,234.50 ", thousands=",") == Decimal("1234.50")
    assert parse_decimal("12.5%", percent=True) == Decimal("0.125")
    for bad, reason in (("abc", "not a number"), ("NaN", "not a finite number"), ("inf", "not a finite number")):
        with pytest.raises(ValueError, match=reason):
            parse_decimal(bad)


def test_rounding_happens_only_when_asked_and_by_the_named_mode() -> None:
    assert round_money(Decimal("2.345")) == Decimal("2.35")
    assert round_money(Decimal("2.345"), mode="half_even") == Decimal("2.34")
    assert round_money(Decimal("-2.345"), 2, "half_up") == Decimal("-2.35")
    assert round_money(Decimal("2.349"), 1, "down") == Decimal("2.3")
    with pytest.raises(ValueError, match="unknown rounding mode 'bankers'"):
        round_money(Decimal(1), 2, "bankers")


def test_currencies_are_iso_codes() -> None:
    assert normalize_currency(" eur ") == "EUR"
    with pytest.raises(ValueError, match="unknown currency"):
        normalize_currency("EURO")


def test_dates_parse_iso_or_a_declared_format() -> None:
    assert parse_date("2025-03-01") == date(2025, 3, 1)
    assert parse_date("2025-03-01T10:00:00Z") == date(2025, 3, 1)
    assert parse_date("3/28/2025", "%m/%d/%Y") == date(2025, 3, 28)
    with pytest.raises(ValueError, match="not a date in the format %m/%d/%Y"):
        parse_date("28/3/2025", "%m/%d/%Y")


def test_date_ranges_are_half_open() -> None:
    q1 = DateRange(date(2025, 1, 1), date(2025, 4, 1))
    q2 = DateRange(date(2025, 4, 1), date(2025, 7, 1))
    assert q1.contains(date(2025, 3, 31)) and not q1.contains(date(2025, 4, 1))
    assert not q1.overlaps(q2)
    assert DateRange(date(2025, 3, 1)).overlaps(q2)
    assert q1.days == 90
    with pytest.raises(ValueError, match="must be after its start"):
        DateRange(date(2025, 1, 1), date(2025, 1, 1))


def test_fiscal_calendar_with_a_february_start() -> None:
    periods = fiscal_periods(2026, start_month=2)
    year, q1, m1, m12 = periods[0], periods[1], periods[5], periods[16]
    assert (year.name, year.start, year.end) == ("FY2026", date(2025, 2, 1), date(2026, 2, 1))
    assert (q1.name, q1.start, q1.end) == ("FY2026-Q1", date(2025, 2, 1), date(2025, 5, 1))
    assert (m1.name, m1.start, m12.name, m12.start) == ("FY2026-M01", date(2025, 2, 1), "FY2026-M12", date(2026, 1, 1))
    assert [p.kind for p in periods].count(PeriodKind.MONTH) == 12
    assert fiscal_year_of(date(2025, 1, 31), 2) == 2025
    assert fiscal_year_of(date(2025, 2, 1), 2) == 2026


@given(st.integers(min_value=2000, max_value=2100), st.integers(min_value=1, max_value=12))
def test_months_and_quarters_tile_the_fiscal_year(year: int, start_month: int) -> None:
    periods = fiscal_periods(year, start_month)
    fiscal_year = periods[0]
    for kind in (PeriodKind.QUARTER, PeriodKind.MONTH):
        parts = [p for p in periods if p.kind is kind]
        assert parts[0].start == fiscal_year.start and parts[-1].end == fiscal_year.end
        assert all(a.end == b.start for a, b in pairwise(parts))
    assert all(fiscal_year_of(p.start, start_month) == year for p in periods)


def test_an_issue_reads_like_a_sentence() -> None:
    issue = Issue("t.csv", 3, "account", "A9", "unknown account 'A9'")
    assert str(issue) == "t.csv:3 [account] 'A9': unknown account 'A9'"
    assert issue.as_row()["row"] == "3"
