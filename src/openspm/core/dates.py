"""Dates, half-open effective ranges and UTC timestamps.

An effective range is `[effective_from, effective_to)`: `effective_from` is
inclusive, `effective_to` exclusive, and `None` means open-ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


def utc_now() -> datetime:
    """The current time as a UTC-aware timestamp."""
    return datetime.now(UTC)


def parse_date(text: str, fmt: str | None = None) -> date:
    """Parse a date from text: ISO 8601 (`2025-03-01`, also with a time part) or `fmt`.

    Raises ValueError with a readable reason.
    """
    cleaned = text.strip()
    if fmt:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            raise ValueError(f"not a date in the format {fmt}") from None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(cleaned.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError("not a date (expected YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class DateRange:
    """A half-open date range `[start, end)`; `end=None` is open-ended."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"range end {self.end} must be after its start {self.start}")

    def contains(self, day: date) -> bool:
        """True when `start <= day < end`."""
        return self.start <= day and (self.end is None or day < self.end)

    def overlaps(self, other: DateRange) -> bool:
        """True when the two ranges share at least one day."""
        self_before_other_ends = other.end is None or self.start < other.end
        other_before_self_ends = self.end is None or other.start < self.end
        return self_before_other_ends and other_before_self_ends

    @property
    def days(self) -> int | None:
        """Number of days in the range, None when open-ended."""
        return None if self.end is None else (self.end - self.start).days
