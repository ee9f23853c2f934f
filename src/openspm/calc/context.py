"""What a calculation run knows besides its input tables.

`RunContext` carries the plans in force, the period being paid, the fiscal
calendar around it and the engine connection. Stages read it; none changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openspm.core.issues import Issue
from openspm.core.period import Period, PeriodKind
from openspm.plan.models import PlanDocument


@dataclass(frozen=True)
class PlanInForce:
    """A plan version used by the run: its id, version number, document, and the dates it governs.

    A newer version applies from its own `effective_from`; the older one stops there. Each version
    credits and measures only the transactions dated in `[applies_from, applies_to)`.
    """

    plan_id: str
    version: int
    document: PlanDocument
    applies_from: date | None = None
    applies_to: date | None = None


@dataclass
class RunContext:
    """A run of one payout month: plans, calendar and engine."""

    period: Period  # the month being paid
    periods: list[Period]  # every period of the calendar (months, quarters, years)
    plans: list[PlanInForce]
    con: Any  # the Ibis backend connection
    issues: list[Issue] = field(default_factory=list)
    _containing: dict[tuple[date, PeriodKind], Period] = field(default_factory=dict, repr=False)
    _months: dict[str, list[Period]] = field(default_factory=dict, repr=False)
    _month_index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def year(self) -> Period:
        return self.containing(self.period.start, PeriodKind.YEAR)

    def containing(self, day: date, kind: PeriodKind) -> Period:
        """The period of `kind` that contains `day` (looked up once per day and kind)."""
        key = (day, kind)
        found = self._containing.get(key)
        if found is None:
            found = next((p for p in self.periods if p.kind is kind and p.start <= day < p.end), None)
            if found is None:
                raise LookupError(f"no {kind.value} period contains {day}")
            self._containing[key] = found
        return found

    def months_of(self, outer: Period) -> list[Period]:
        """The months inside `outer`, in order (computed once per period)."""
        found = self._months.get(outer.name)
        if found is None:
            found = self._months[outer.name] = sorted(
                (p for p in self.periods if p.kind is PeriodKind.MONTH and outer.start <= p.start < outer.end),
                key=lambda p: p.start,
            )
        return found

    def month_index(self, month: Period) -> int:
        """Where a month falls in its fiscal year: 0 for the first month, 11 for the last."""
        found = self._month_index.get(month.name)
        if found is None:
            year = self.containing(month.start, PeriodKind.YEAR)
            found = self._month_index[month.name] = [m.name for m in self.months_of(year)].index(month.name)
        return found

    def months_to_date(self) -> list[Period]:
        """The months of the fiscal year up to and including the paid month."""
        return [m for m in self.months_of(self.year) if m.start <= self.period.start]

    def issue(self, stage: str, where: str, reason: str, value: str = "") -> None:
        self.issues.append(Issue(stage, 0, where, value, reason))
