"""What the disputes service hands back: plain frozen dataclasses (amounts `Decimal`, timestamps UTC).

States and who moves a dispute between them:

```
open ──assign / take (analyst)──► in_review
open | in_review ──resolve (analyst: an adjustment, linked)──► resolved_adjusted
open | in_review ──reject (analyst: a reason is required)────► rejected
open | in_review ──withdraw (the payee, or an analyst)───────► withdrawn
rejected | withdrawn ──reopen (analyst, with a reason)───────► in_review (assigned) | open
resolved_adjusted ──reopen, only when its adjustment was rejected by its approver (nothing paid)──► the same
```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openspm.core.dates import utc_now

STATES = ("open", "in_review", "resolved_adjusted", "rejected", "withdrawn")
ACTIVE = ("open", "in_review")  # still being worked: comments, assignment and outcomes allowed
FINAL = ("resolved_adjusted", "rejected", "withdrawn")
STATE_LABELS = {
    "open": "Open",
    "in_review": "In review",
    "resolved_adjusted": "Resolved: adjusted",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
LINE_KINDS = {
    "earning": "an earning of a component (plan/component)",
    "payment": "a payment line (plan/line number, from 1)",
    "credit": "a credit of a transaction (plan/transaction)",
    "transaction": "a transaction the statement lacks (its id, in words)",
    "other": "anything else on the statement, in words",
}
CATEGORIES = {
    "missing_credit": "a deal is missing, or credited to someone else",
    "wrong_amount": "a deal's amount or share is wrong",
    "wrong_rate": "the rate, tier or multiplier looks wrong",
    "quota": "the quota or attainment looks wrong",
    "split": "a split was agreed differently",
    "payment": "a payment, hold, draw or clawback looks wrong",
    "other": "anything else",
}


@dataclass(frozen=True)
class LinkedAdjustment:
    """The adjustment a dispute was resolved with, as it stands now (its approver may still decide it)."""

    id: int
    period: str
    plan: str
    amount: Decimal
    currency: str
    reason_code: str
    status: str  # pending | approved | rejected


@dataclass(frozen=True)
class DisputeView:
    id: int
    payee: str
    payee_name: str
    period: str
    line_kind: str
    line_ref: str | None
    line_label: str
    line_amount: Decimal | None
    line_currency: str | None
    plan: str | None
    category: str
    description: str
    amount_claimed: Decimal | None
    currency: str | None
    state: str
    raised_by: str
    assignee: str | None
    assigned_at: datetime | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    adjustment: LinkedAdjustment | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def age_days(self) -> int:
        """Whole days from raised to resolved (or to now while still active)."""
        return ((self.resolved_at or utc_now()) - self.created_at).days


@dataclass(frozen=True)
class CommentView:
    id: int
    dispute_id: int
    author: str
    author_name: str | None
    body: str
    internal: bool
    created_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    """One audited change of the dispute: when, who, what (raised, assigned, resolved ...), the state after."""

    at: datetime
    actor: str
    action: str
    state: str | None
    note: str | None


@dataclass(frozen=True)
class DisputeDetail:
    dispute: DisputeView
    comments: list[CommentView]
    history: list[HistoryEntry]


@dataclass(frozen=True)
class StatementLine:
    """A line of a payee's month that a dispute can be about, as the month's period run holds it."""

    kind: str  # earning | payment | credit
    ref: str
    label: str
    amount: Decimal
    currency: str
    plan: str
    component: str | None = None
