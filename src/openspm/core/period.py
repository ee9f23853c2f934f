"""Calendars and periods.

A calendar's fiscal year starts on the first day of `fiscal_year_start_month`.
Periods are half-open `[start, end)`: the months, quarters and years of the
fiscal calendar, named `FY2026` (year), `FY2026-Q1` (quarter) and `FY2026-M01`
(the first fiscal month).

Naming convention: with a January start the fiscal year equals the calendar
year; otherwise a fiscal year is named after the calendar year in which it ends
(the common US convention: with a February start, FY2026 runs from 2025-02-01
to 2026-02-01).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PeriodKind(StrEnum):
    """Length of a period."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Period:
    """A named, half-open fiscal period `[start, end)`."""

    name: str
    kind: PeriodKind
    start: date
    end: date
    fiscal_year: int

    def contains(self, day: date) -> bool:
        """True when `start <= day < end`."""
        return self.start <= day < self.end


def add_months(day: date, months: int) -> date:
    """The first-of-month date `months` after the month of `day` (day must be the 1st)."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year_start(fiscal_year: int, start_month: int) -> date:
    """First day of `fiscal_year` for a calendar whose year starts in `start_month`."""
    if not 1 <= start_month <= 12:
        raise ValueError("fiscal year start month must be between 1 and 12")
    return date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def fiscal_year_of(day: date, start_month: int) -> int:
    """The fiscal year containing `day`."""
    if start_month == 1:
        return day.year
    return day.year + 1 if day.month >= start_month else day.year


def fiscal_periods(fiscal_year: int, start_month: int = 1) -> list[Period]:
    """The year, its four quarters and twelve months, in that order."""
    first = fiscal_year_start(fiscal_year, start_month)
    label = f"FY{fiscal_year}"
    periods = [Period(label, PeriodKind.YEAR, first, add_months(first, 12), fiscal_year)]
    for q in range(4):
        start = add_months(first, 3 * q)
        periods.append(Period(f"{label}-Q{q + 1}", PeriodKind.QUARTER, start, add_months(start, 3), fiscal_year))
    for m in range(12):
        start = add_months(first, m)
        periods.append(Period(f"{label}-M{m + 1:02d}", PeriodKind.MONTH, start, add_months(start, 1), fiscal_year))
    return periods
