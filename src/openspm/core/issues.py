"""Data problems as values.

An `Issue` names where a problem is (source file or table, row, column), the
offending value and the reason in words a comp admin understands. Stages and
importers return issues instead of raising, so that every row is either used
or reported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """One rejected row or data problem.

    `row` is the 1-based data row number in the source (the header is row 0);
    `column` is the source column name as the user wrote it ("" for the whole row).
    """

    source: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.row}"
        if self.column:
            where += f" [{self.column}]"
        shown = f" {self.value!r}" if self.value else ""
        return f"{where}{shown}: {self.reason}"

    def as_row(self) -> dict[str, str]:
        """The issue as a rejected-rows CSV record."""
        return {
            "file": self.source,
            "row": str(self.row),
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


ISSUE_COLUMNS = ("file", "row", "column", "value", "reason")
