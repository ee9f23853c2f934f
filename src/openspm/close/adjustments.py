"""Manual adjustments, hold releases and plan acceptances: the pay inputs people enter by hand.

- `add_adjustment(...)` records an amount (plan currency, positive or negative) for a payee, plan and open
  month with a reason code; with `needs_approval` it waits (`pending`) until someone else approves it
  (`decide`): nobody approves their own adjustment. Only approved adjustments are paid, by the month's next run.
- `release_hold(...)` releases a held earning (an `until: manual` hold) into an open month.
- `accept_plan(...)` records a payee's acceptance of a plan version (what `until: plan_accepted` holds wait for).

Each writes an audit entry; anything aimed at a closed month refuses. A change that alters what an already
calculated month pays marks that month `open` again, so its approval is never stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.periods.service import month_named
from openspm.runs.pay import active_close
from openspm.store import models as m
from openspm.store.audit import add_audited, audit
from openspm.store.lookups import payee_named

REASON_CODES = {
    "correction": "a calculation or data error corrected by hand",
    "missed_credit": "a deal that credited nobody, or the wrong payee",
    "split_change": "a split agreed after the deal closed",
    "dispute": "the outcome of a rep's dispute",
    "retention": "a retention or guarantee payment",
    "spiff": "a one-off incentive outside the plan",
    "recovery": "money owed back by the payee (enter a negative amount)",
    "other": "anything else: say what in the note",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class AdjustmentView:
    id: int
    payee: str
    plan: str
    period: str
    amount: Decimal
    currency: str
    reason_code: str
    note: str | None
    status: str
    created_by: str
    decided_by: str | None


def _view(row: m.Adjustment, payee: str) -> AdjustmentView:
    return AdjustmentView(
        row.id,
        payee,
        row.plan,
        row.period,
        row.amount,
        row.currency,
        row.reason_code,
        row.note,
        row.status,
        row.created_by,
        row.decided_by,
    )


def _plan(session: Session, external_id: str) -> m.Plan:
    plan = session.scalars(select(m.Plan).where(m.Plan.external_id == external_id)).first()
    if plan is None:
        raise NotFound(f"unknown plan {external_id!r}")
    return plan


def open_month(session: Session, period: str) -> m.Period:
    """A month that may still change: it exists, is a month and is not closed."""
    month = month_named(session, period, why="adjustments are paid in a month")
    closed = active_close(session, period)
    if closed is not None or month.status == "closed":
        raise Conflict(f"{period} is closed and never changes; enter the adjustment in an open month")
    return month


def _stale(session: Session, month: m.Period, actor: str, why: str) -> None:
    """A calculated or approved month whose pay inputs changed is `open` until it runs again."""
    if month.status in ("calculated", "approved"):
        audit(
            session,
            actor=actor,
            action="update",
            entity="periods",
            entity_key=month.name,
            before={"status": month.status},
            after={"status": "open"},
            note=why,
        )
        month.status = "open"


def add_adjustment(
    engine: Engine,
    *,
    payee: str,
    plan: str,
    period: str,
    amount: Decimal,
    reason_code: str,
    actor: str,
    note: str | None = None,
    component: str | None = None,
    needs_approval: bool = False,
) -> AdjustmentView:
    """Record a manual adjustment (approved at once, or `pending` when it needs someone else's approval)."""
    if not _CODE.match(reason_code):
        raise InvalidInput(f"reason code {reason_code!r}: use lower-case letters, digits and _, e.g. correction")
    if reason_code not in REASON_CODES:
        raise InvalidInput(f"unknown reason code {reason_code!r}; use one of: {', '.join(sorted(REASON_CODES))}")
    if amount == 0:
        raise InvalidInput("an adjustment of 0 changes nothing")
    if reason_code == "other" and not (note or "").strip():
        raise InvalidInput("reason code 'other' needs a note saying what the adjustment is for")
    with Session(engine) as session, session.begin():
        month = open_month(session, period)
        person = payee_named(session, payee)
        found = _plan(session, plan)
        row = m.Adjustment(
            payee_id=person.id,
            plan=found.external_id,
            period=period,
            amount=amount,
            currency=found.currency,
            kind="manual",
            reason_code=reason_code,
            note=note,
            component=component,
            status="pending" if needs_approval else "approved",
            created_by=actor,
            created_at=utc_now(),
        )
        add_audited(
            session,
            row,
            actor=actor,
            action="insert",
            entity="adjustments",
            after={
                "payee": payee,
                "plan": plan,
                "period": period,
                "amount": format(amount, "f"),
                "reason_code": reason_code,
                "status": row.status,
            },
            note=note,
        )
        if row.status == "approved":
            _stale(session, month, actor, f"adjustment {row.id}")
        return _view(row, payee)


def decide(engine: Engine, adjustment_id: int, actor: str, approve: bool, note: str | None = None) -> AdjustmentView:
    """Approve or reject a pending adjustment; its author cannot decide it."""
    with Session(engine) as session, session.begin():
        row = session.get(m.Adjustment, adjustment_id)
        if row is None:
            raise NotFound(f"unknown adjustment {adjustment_id}")
        if row.status != "pending":
            raise Conflict(f"adjustment {adjustment_id} is {row.status}, not pending")
        if row.created_by == actor:
            raise Conflict(f"adjustment {adjustment_id} was entered by {actor}; someone else must approve or reject it")
        month = open_month(session, row.period)
        before = row.status
        row.status = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.decision_note = actor, utc_now(), note
        audit(
            session,
            actor=actor,
            action="approve" if approve else "reject",
            entity="adjustments",
            entity_key=str(row.id),
            before={"status": before},
            after={"status": row.status},
            note=note,
        )
        if approve:
            _stale(session, month, actor, f"adjustment {row.id} approved")
        return _view(row, session.get_one(m.Payee, row.payee_id).external_id)


def adjustments(engine: Engine, period: str | None = None, status: str | None = None) -> list[AdjustmentView]:
    """Adjustments, newest first, optionally of one month and one status."""
    with Session(engine) as session:
        query = select(m.Adjustment, m.Payee.external_id).join(m.Payee, m.Payee.id == m.Adjustment.payee_id)
        if period:
            query = query.where(m.Adjustment.period == period)
        if status:
            query = query.where(m.Adjustment.status == status)
        return [_view(row, payee) for row, payee in session.execute(query.order_by(m.Adjustment.id.desc()))]


def release_hold(
    engine: Engine, *, plan: str, payee: str, component: str, origin: str, into: str, actor: str, note: str | None
) -> int:
    """Release a held earning (plan, payee, component, month it was earned) into the open month `into`."""
    with Session(engine) as session, session.begin():
        month = open_month(session, into)
        person = payee_named(session, payee)
        _plan(session, plan)
        known = session.scalars(
            select(m.HoldRelease).where(
                m.HoldRelease.plan == plan,
                m.HoldRelease.payee_id == person.id,
                m.HoldRelease.component == component,
                m.HoldRelease.origin_period == origin,
            )
        ).first()
        if known is not None:
            raise Conflict(f"{payee}'s {component} of {origin} was already released into {known.released_in}")
        row = m.HoldRelease(
            plan=plan,
            payee_id=person.id,
            component=component,
            origin_period=origin,
            released_in=into,
            actor=actor,
            at=utc_now(),
            note=note,
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor=actor,
            action="insert",
            entity="hold_releases",
            entity_key=f"{plan}/{payee}/{component}/{origin}",
            after={"released_in": into},
            note=note,
        )
        _stale(session, month, actor, f"hold of {payee}'s {component} ({origin}) released")
        return row.id


def accept_plan(engine: Engine, *, payee: str, plan: str, version: int | None, on: date, actor: str) -> int:
    """Record a payee's acceptance of a plan version (the newest when `version` is None)."""
    with Session(engine) as session, session.begin():
        person = payee_named(session, payee)
        found = _plan(session, plan)
        versions = sorted(session.scalars(select(m.PlanVersion.version).where(m.PlanVersion.plan_id == found.id)).all())
        if not versions:
            raise NotFound(f"plan {plan} has no versions")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise NotFound(f"plan {plan} has no version {chosen}; it has {', '.join(map(str, versions))}")
        known = session.scalars(
            select(m.PlanAcceptance).where(
                m.PlanAcceptance.payee_id == person.id,
                m.PlanAcceptance.plan == plan,
                m.PlanAcceptance.version == chosen,
            )
        ).first()
        if known is not None:
            return known.id
        row = m.PlanAcceptance(
            payee_id=person.id, plan=plan, version=chosen, accepted_on=on, accepted_at=utc_now(), accepted_by=actor
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor=actor,
            action="insert",
            entity="plan_acceptances",
            entity_key=f"{plan}/{payee}/{chosen}",
            after={"accepted_on": on.isoformat()},
        )
        return row.id
