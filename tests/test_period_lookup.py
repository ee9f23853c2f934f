"""Finding a period by name (SQLite and PostgreSQL): one lookup behind disputes, adjustments, the period
lifecycle, the access facades and quota drafts, with the messages each of them gives."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput, NotFound
from openspm.periods.service import create_calendar, month_named, period_named


def test_a_month_is_found_by_name_and_anything_else_is_refused_with_the_callers_reason(engine: Engine) -> None:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    with Session(engine) as session:
        found = month_named(session, "FY2025-M02")
        assert (found.name, found.kind, found.start_date.isoformat()) == ("FY2025-M02", "month", "2025-02-01")
        with pytest.raises(NotFound, match=r"^unknown period 'FY2031-M01'$"):
            month_named(session, "FY2031-M01")
        with pytest.raises(InvalidInput, match=r"^FY2025-Q1 is a quarter; adjustments are paid in a month$"):
            month_named(session, "FY2025-Q1", why="adjustments are paid in a month")
        with pytest.raises(InvalidInput, match=r"^FY2025 is a year; a month is needed$"):
            month_named(session, "FY2025")
        assert period_named(session, "FY2025", "year").kind == "year"
        assert period_named(session, "FY2025-Q3").kind == "quarter"  # any kind
        with pytest.raises(NotFound, match=r"^unknown year 'FY2031'; create the calendar first$"):
            period_named(session, "FY2031", "year", what="year", hint="; create the calendar first")
