"""What every planning draft shares: finding it by kind, and the review step (draft → approved or discarded, by
someone other than its author).

One rule for quota and territory drafts alike (and for kinds to come): only a draft is decided, never by the
user who made it, and the decision is audited with its note in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, NotFound
from openspm.store import models as m
from openspm.store.audit import audit


def decide_draft(
    session: Session, row: m.PlanningScenario, actor: str, approve: bool, note: str | None, what: str
) -> None:
    """Approve or send back (discard) `row`, named `what` in messages (e.g. "quota scenario 3")."""
    if row.status != "draft":
        raise Conflict(f"{what} is {row.status}, not a draft")
    if row.created_by == actor:
        raise Conflict(f"{what} was made by {actor}; someone else must decide it (approve or send it back)")
    before = row.status
    row.status = "approved" if approve else "discarded"
    row.decided_by, row.decided_at, row.decision_note = actor, utc_now(), note
    audit(
        session,
        actor,
        "approve" if approve else "reject",
        "planning_scenarios",
        str(row.id),
        before={"status": before},
        after={"status": row.status},
        note=note,
    )


def scenario_row(session: Session, kind: str, scenario_id: int, lock: bool = False) -> m.PlanningScenario:
    """The draft of `kind` with this id (NotFound names the kind: "unknown quota scenario 3")."""
    row = session.get(m.PlanningScenario, scenario_id, with_for_update=lock)
    if row is None or row.kind != kind:
        raise NotFound(f"unknown {kind} scenario {scenario_id}")
    return row


def scenario_rows(session: Session, kind: str) -> list[m.PlanningScenario]:
    """Every draft of `kind`, newest first."""
    query = select(m.PlanningScenario).where(m.PlanningScenario.kind == kind).order_by(m.PlanningScenario.id.desc())
    return list(session.scalars(query))
