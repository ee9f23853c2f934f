"""Disputes: raise, comment, assign, resolve (by an adjustment or a reasoned rejection), withdraw, reopen.

- `raise_dispute(...)` records a payee's inquiry about one line of a month: an earning (`plan/component`), a
  payment line (`plan/line number`) or a credit (`plan/transaction`) of the month's period run, checked to
  exist and copied (label, amount, currency) as the statement showed it; or a `transaction` / `other`
  reference in words. A second active dispute on the same line refuses (409).
- `resolve_with_adjustment(...)` records the adjustment through `close.adjustments.add_adjustment` (reason
  code `dispute` by default; its rules hold: an open month only, approval by someone else when asked for) and
  links it: the dispute's `adjustment_id`, and the adjustment's note names the dispute. A closed month's
  dispute is paid in the first open month after it (`adjustment_month`).
- `reject(...)` needs a reason; `withdraw(...)` is the payee's; `reopen(...)` brings back a rejected or
  withdrawn dispute, or a resolved one whose adjustment its approver rejected (nothing was paid).

Every change writes an audit entry (entity `disputes`, key the id) in the transaction that makes it; the
dispute's history is read back from those entries. An illegal transition is a `Conflict` (409). Who may do
what is `openspm.access.disputes`; this module checks state and input only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session

from openspm.close import adjustments as adj
from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.text import check_choices, clean_text
from openspm.disputes.schemas import (
    ACTIVE,
    CATEGORIES,
    LINE_KINDS,
    STATES,
    CommentView,
    DisputeDetail,
    DisputeView,
    HistoryEntry,
    LinkedAdjustment,
    StatementLine,
)
from openspm.periods.service import month_named
from openspm.runs.pay import active_close, month_run
from openspm.statements.service import LINE_LABELS
from openspm.store import models as m
from openspm.store.audit import add_audited, audit
from openspm.store.lookups import payee_named

MAX_TEXT = 4000
VALIDATED_KINDS = ("earning", "payment", "credit")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# A scope: None for every dispute, else (period or None for any period, payee ids) pairs, any of which admits.
Scope = list[tuple[str | None, set[int]]] | None


# --- reading ---------------------------------------------------------------------------------------------


def _linked(session: Session, row: m.Dispute) -> LinkedAdjustment | None:
    if row.adjustment_id is None:
        return None
    a = session.get(m.Adjustment, row.adjustment_id)  # from the identity map when preloaded
    if a is None:
        return None
    return LinkedAdjustment(a.id, a.period, a.plan, a.amount, a.currency, a.reason_code, a.status)


def _view(session: Session, row: m.Dispute, payee: m.Payee | None = None) -> DisputeView:
    person = payee or session.get_one(m.Payee, row.payee_id)
    return DisputeView(
        id=row.id,
        payee=person.external_id,
        payee_name=person.name,
        period=row.period,
        line_kind=row.line_kind,
        line_ref=row.line_ref,
        line_label=row.line_label,
        line_amount=row.line_amount,
        line_currency=row.line_currency,
        plan=row.plan,
        category=row.category,
        description=row.description,
        amount_claimed=row.amount_claimed,
        currency=row.currency,
        state=row.state,
        raised_by=row.raised_by,
        assignee=row.assignee,
        assigned_at=row.assigned_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
        adjustment=_linked(session, row),
    )


def dispute_row(session: Session, dispute_id: int) -> m.Dispute:
    """The dispute (NotFound when there is none)."""
    row = session.get(m.Dispute, dispute_id)
    if row is None:
        raise NotFound(f"unknown dispute {dispute_id}")
    return row


def detail(engine: Engine, dispute_id: int, *, internal: bool) -> DisputeDetail:
    """A dispute with its comments (analysts' internal notes only when `internal`) and its history."""
    with Session(engine) as session:
        row = dispute_row(session, dispute_id)
        query = select(m.DisputeComment).where(m.DisputeComment.dispute_id == dispute_id)
        if not internal:
            query = query.where(m.DisputeComment.internal.is_(False))
        comments = [
            CommentView(c.id, c.dispute_id, c.author, c.author_name, c.body, c.internal, c.created_at)
            for c in session.scalars(query.order_by(m.DisputeComment.created_at, m.DisputeComment.id))
        ]
        entries = session.scalars(
            select(m.AuditEntry)
            .where(m.AuditEntry.entity == "disputes", m.AuditEntry.entity_key == str(dispute_id))
            .order_by(m.AuditEntry.at, m.AuditEntry.id)
        )
        history = [HistoryEntry(e.at, e.actor, e.action, (e.after or {}).get("state"), e.note) for e in entries]
        return DisputeDetail(_view(session, row), comments, history)


def _where(
    scope: Scope, states: Iterable[str] | None, period: str | None, payee_id: int | None, assignee: str | None
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if scope is not None:
        admits = [
            and_(m.Dispute.payee_id.in_(ids or [-1]), *([m.Dispute.period == p] if p is not None else []))
            for p, ids in scope
        ]
        clauses.append(or_(*admits) if admits else m.Dispute.id == -1)
    wanted = check_choices(states or [], STATES)
    if wanted:
        clauses.append(m.Dispute.state.in_(wanted))
    if period:
        clauses.append(m.Dispute.period == period)
    if payee_id is not None:
        clauses.append(m.Dispute.payee_id == payee_id)
    if assignee == "":
        clauses.append(m.Dispute.assignee.is_(None))
    elif assignee is not None:
        clauses.append(m.Dispute.assignee == assignee)
    return clauses


@dataclass(frozen=True)
class DisputePage:
    items: list[DisputeView]
    total: int
    limit: int
    offset: int


def list_disputes(
    engine: Engine,
    *,
    scope: Scope = None,
    states: Iterable[str] | None = None,
    period: str | None = None,
    payee_id: int | None = None,
    assignee: str | None = None,
    oldest_first: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> DisputePage:
    """Disputes within `scope`, filtered (states, month, payee, assignee; `assignee=""` for unassigned),
    newest first (or oldest first, as an inbox works them), one page."""
    clauses = _where(scope, states, period, payee_id, assignee)
    order = (m.Dispute.created_at, m.Dispute.id) if oldest_first else (m.Dispute.created_at.desc(), m.Dispute.id.desc())
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(m.Dispute).where(*clauses)) or 0
        rows = session.execute(
            select(m.Dispute, m.Payee)
            .join(m.Payee, m.Payee.id == m.Dispute.payee_id)
            .where(*clauses)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        ).all()
        linked = [d.adjustment_id for d, _ in rows if d.adjustment_id is not None]
        if linked:  # one query for the page's adjustments (kept in the session's identity map)
            list(session.scalars(select(m.Adjustment).where(m.Adjustment.id.in_(linked))))
        return DisputePage([_view(session, d, p) for d, p in rows], total, limit, offset)


def state_counts(
    engine: Engine, *, scope: Scope = None, period: str | None = None, payee_id: int | None = None
) -> dict[str, int]:
    """How many disputes are in each state (every state listed, 0 when none)."""
    clauses = _where(scope, None, period, payee_id, None)
    with Session(engine) as session:
        found = dict(
            session.execute(select(m.Dispute.state, func.count()).where(*clauses).group_by(m.Dispute.state))
            .tuples()
            .all()
        )
    return {state: int(found.get(state, 0)) for state in STATES}


def dispute_periods(engine: Engine) -> list[str]:
    """The months that have disputes (to work out a manager's team month by month)."""
    with Session(engine) as session:
        return sorted(set(session.scalars(select(m.Dispute.period).distinct())))


def statement_lines(session: Session, period: str, payee: str) -> list[StatementLine]:
    """The lines of a payee's month a dispute can name: earnings, payment lines and credits of its period run."""
    run = month_run(session, period)
    if run is None:
        return []
    lines: list[StatementLine] = []
    for e in session.scalars(
        select(m.RunEarning)
        .where(m.RunEarning.run_id == run.id, m.RunEarning.payee == payee)
        .order_by(m.RunEarning.plan, m.RunEarning.id)
    ):
        label = f"Earning · {e.component} ({e.plan}, {e.measure_period})"
        lines.append(
            StatementLine("earning", f"{e.plan}/{e.component}", label, e.amount, e.currency, e.plan, e.component)
        )
    for p in session.scalars(
        select(m.Payment).where(m.Payment.run_id == run.id, m.Payment.payee == payee).order_by(m.Payment.plan)
    ):
        for number, line in enumerate(p.lines or [], start=1):
            kind = str(line.get("kind", ""))
            reason = str(line.get("reason") or "").strip()
            source = line.get("source") or {}
            component = str(source.get("component")) if isinstance(source, dict) and source.get("component") else None
            what = LINE_LABELS.get(kind, kind.replace("_", " ").capitalize())
            label = f"Payment · {what} ({p.plan}{f', {component}' if component else ''})" + (
                f": {reason}" if reason else ""
            )
            amount = Decimal(str(line.get("amount", "0")))
            lines.append(StatementLine("payment", f"{p.plan}/{number}", label, amount, p.currency, p.plan, component))
    for c in session.scalars(
        select(m.RunCredit)
        .where(m.RunCredit.run_id == run.id, m.RunCredit.payee == payee)
        .order_by(m.RunCredit.date, m.RunCredit.transaction, m.RunCredit.plan, m.RunCredit.id)
    ):
        ref = f"{c.plan}/{c.transaction}"
        if any(line.ref == ref and line.kind == "credit" for line in lines):
            continue  # one line per transaction and plan (roles of one deal are one question)
        label = f"Credit · {c.transaction} on {c.date.isoformat()} ({c.plan}, {c.role})"
        lines.append(StatementLine("credit", ref, label, c.amount, c.currency, c.plan))
    return lines


def find_line(session: Session, period: str, payee: str, kind: str, ref: str) -> StatementLine:
    """The statement line `kind` `ref` of the payee's month (NotFound when the month's run has no such line)."""
    for line in statement_lines(session, period, payee):
        if line.kind == kind and line.ref == ref:
            return line
    raise NotFound(f"{payee}'s statement for {period} has no {kind} line {ref!r}")


# --- changing --------------------------------------------------------------------------------------------


def _text(value: str | None, what: str, required: bool = True) -> str | None:
    return clean_text(value, what, MAX_TEXT, required=required)


def _month(session: Session, period: str) -> m.Period:
    return month_named(session, period, why="a statement is for a month")


def _require(row: m.Dispute, allowed: Iterable[str], doing: str) -> None:
    if row.state not in allowed:
        raise Conflict(f"dispute {row.id} is {row.state.replace('_', ' ')}; it cannot be {doing}")


def _audit(
    session: Session, row: m.Dispute, actor: str, action: str, before: dict[str, object], note: str | None
) -> None:
    after: dict[str, object] = {"state": row.state}
    if action == "assign":
        after["assignee"] = row.assignee
    if action == "resolve" and row.adjustment_id is not None:
        after["adjustment_id"] = row.adjustment_id
    audit(
        session,
        actor=actor,
        action=action,
        entity="disputes",
        entity_key=str(row.id),
        before=before,
        after=after,
        note=note,
    )


def raise_dispute(
    engine: Engine,
    *,
    payee: str,
    period: str,
    line_kind: str,
    line_ref: str | None,
    category: str,
    description: str,
    actor: str,
    amount_claimed: Decimal | None = None,
    currency: str | None = None,
) -> DisputeView:
    """Record a dispute about one line of `payee`'s statement for `period` (state `open`)."""
    if line_kind not in LINE_KINDS:
        raise InvalidInput(f"unknown line kind {line_kind!r}; use one of: {', '.join(LINE_KINDS)}")
    if category not in CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}; use one of: {', '.join(CATEGORIES)}")
    text = _text(description, "a description of what is wrong")
    ref = _text(line_ref, "the line's reference", required=line_kind in VALIDATED_KINDS or line_kind == "transaction")
    if ref is not None and len(ref) > 256:
        raise InvalidInput("the line's reference is longer than 256 characters")
    if amount_claimed is not None and (not amount_claimed.is_finite() or abs(amount_claimed) >= Decimal(10) ** 15):
        raise InvalidInput("the amount claimed is not a number of at most 15 digits before the point")
    if currency is not None and not _CURRENCY.match(currency):
        raise InvalidInput(f"currency {currency!r}: use an ISO 4217 code, e.g. USD")
    with Session(engine) as session, session.begin():
        person = payee_named(session, payee)
        _month(session, period)
        line: StatementLine | None = None
        if line_kind in VALIDATED_KINDS:
            assert ref is not None
            line = find_line(session, period, payee, line_kind, ref)
            same = session.scalars(
                select(m.Dispute.id).where(
                    m.Dispute.payee_id == person.id,
                    m.Dispute.period == period,
                    m.Dispute.line_kind == line_kind,
                    m.Dispute.line_ref == ref,
                    m.Dispute.state.in_(ACTIVE),
                )
            ).first()
            if same is not None:
                raise Conflict(f"dispute {same} about this line is still being worked; comment on it instead")
        if line is not None:
            label = line.label
        elif line_kind == "transaction":
            label = f"Transaction {ref}"
        else:
            label = ref or "Other"
        now = utc_now()
        row = m.Dispute(
            payee_id=person.id,
            period=period,
            line_kind=line_kind,
            line_ref=ref,
            line_label=label,
            line_amount=line.amount if line else None,
            line_currency=line.currency if line else None,
            plan=line.plan if line else None,
            category=category,
            description=text,
            amount_claimed=amount_claimed,
            currency=(currency or (line.currency if line else None)) if amount_claimed is not None else None,
            state="open",
            raised_by=actor,
            created_at=now,
            updated_at=now,
        )
        add_audited(
            session,
            row,
            actor=actor,
            action="insert",
            entity="disputes",
            after={
                "state": "open",
                "payee": payee,
                "period": period,
                "line": f"{line_kind}:{ref or ''}",
                "category": category,
                "amount_claimed": format(amount_claimed, "f") if amount_claimed is not None else None,
            },
            note=text,
        )
        return _view(session, row, person)


def comment(
    engine: Engine, dispute_id: int, *, author: str, author_name: str | None, body: str, internal: bool = False
) -> CommentView:
    """Add a comment to an active dispute (an internal one is an analysts' note)."""
    text = _text(body, "the comment")
    assert text is not None
    with Session(engine) as session, session.begin():
        row = dispute_row(session, dispute_id)
        _require(row, ACTIVE, "commented on (reopen it first)")
        now = utc_now()
        note = m.DisputeComment(
            dispute_id=row.id, author=author, author_name=author_name, body=text, internal=internal, created_at=now
        )
        row.updated_at = now
        add_audited(
            session,
            note,
            actor=author,
            action="comment",
            entity="dispute_comments",
            after={"dispute": row.id, "internal": internal},
            note=text,
        )
        return CommentView(note.id, row.id, author, author_name, text, internal, now)


def assign(engine: Engine, dispute_id: int, *, assignee: str, actor: str) -> DisputeView:
    """Give an active dispute to an analyst (`assignee`, an email); an open dispute goes `in_review`."""
    with Session(engine) as session, session.begin():
        row = dispute_row(session, dispute_id)
        _require(row, ACTIVE, "assigned")
        before, previous = row.state, row.assignee
        now = utc_now()
        row.assignee, row.assigned_at, row.state, row.updated_at = assignee, now, "in_review", now
        _audit(session, row, actor, "assign", {"state": before, "assignee": previous}, None)
        return _view(session, row)


def adjustment_month(session: Session, period: str) -> str:
    """Where a dispute about `period` is paid: that month while it is open, else the first open month after."""
    month = _month(session, period)
    if active_close(session, period) is None and month.status != "closed":
        return period
    later = session.scalars(
        select(m.Period)
        .where(m.Period.kind == "month", m.Period.start_date >= month.end_date, m.Period.status != "closed")
        .order_by(m.Period.start_date)
    )
    for candidate in later:
        if active_close(session, candidate.name) is None:
            return candidate.name
    raise Conflict(f"{period} is closed and no later month is open; add the next fiscal year's calendar first")


def default_adjustment_month(engine: Engine, period: str) -> str:
    with Session(engine) as session:
        return adjustment_month(session, period)


def resolve_with_adjustment(
    engine: Engine,
    dispute_id: int,
    *,
    amount: Decimal,
    actor: str,
    plan: str | None = None,
    period: str | None = None,
    reason_code: str = "dispute",
    note: str | None = None,
    needs_approval: bool = False,
) -> DisputeView:
    """Resolve an active dispute by an adjustment of `amount` (plan currency) in `period` (default: the
    dispute's month while open, else the first open month after), linked both ways."""
    text = _text(note, "the note", required=False)
    with Session(engine) as session:
        row = dispute_row(session, dispute_id)
        _require(row, ACTIVE, "resolved")
        chosen_plan = (plan or "").strip() or row.plan
        if not chosen_plan:
            raise InvalidInput(f"dispute {dispute_id} names no plan; say which plan the adjustment is for")
        into = (period or "").strip() or adjustment_month(session, row.period)
        payee = session.get_one(m.Payee, row.payee_id).external_id
        component = _component(row)
        before = row.state
    made = adj.add_adjustment(
        engine,
        payee=payee,
        plan=chosen_plan,
        period=into,
        amount=amount,
        reason_code=reason_code,
        actor=actor,
        note=f"dispute {dispute_id}" + (f": {text}" if text else ""),
        component=component,
        needs_approval=needs_approval,
    )
    with Session(engine) as session, session.begin():
        now = utc_now()
        linked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(m.Dispute)
            .where(m.Dispute.id == dispute_id, m.Dispute.state.in_(ACTIVE))
            .values(
                state="resolved_adjusted",
                adjustment_id=made.id,
                resolved_at=now,
                resolved_by=actor,
                resolution_note=text,
                updated_at=now,
                assignee=func.coalesce(m.Dispute.assignee, actor),
            )
            .execution_options(synchronize_session=False)
        )
        if linked.rowcount != 1:
            _void(session, made.id, actor, dispute_id)
        else:
            row = dispute_row(session, dispute_id)
            _audit(session, row, actor, "resolve", {"state": before}, text)
            return _view(session, row)
    raise Conflict(f"dispute {dispute_id} was settled by someone else meanwhile; adjustment {made.id} is void")


def _component(row: m.Dispute) -> str | None:
    if row.line_kind == "earning" and row.line_ref and "/" in row.line_ref:
        return row.line_ref.split("/", 1)[1]
    return None


def _void(session: Session, adjustment_id: int, actor: str, dispute_id: int) -> None:
    """Reject the adjustment just made for a dispute someone else settled first (it must not be paid)."""
    made = session.get_one(m.Adjustment, adjustment_id)
    before = made.status
    made.status, made.decided_by, made.decided_at = "rejected", actor, utc_now()
    made.decision_note = f"void: dispute {dispute_id} was settled by someone else first"
    audit(
        session,
        actor=actor,
        action="reject",
        entity="adjustments",
        entity_key=str(made.id),
        before={"status": before},
        after={"status": "rejected"},
        note=made.decision_note,
    )


def reject(engine: Engine, dispute_id: int, *, reason: str, actor: str) -> DisputeView:
    """Reject an active dispute, with the reason the payee will read."""
    text = _text(reason, "a reason for the rejection")
    with Session(engine) as session, session.begin():
        row = dispute_row(session, dispute_id)
        _require(row, ACTIVE, "rejected")
        before, now = row.state, utc_now()
        row.state, row.resolved_at, row.resolved_by, row.resolution_note, row.updated_at = (
            "rejected",
            now,
            actor,
            text,
            now,
        )
        row.assignee = row.assignee or actor
        _audit(session, row, actor, "reject", {"state": before}, text)
        return _view(session, row)


def withdraw(engine: Engine, dispute_id: int, *, actor: str, note: str | None = None) -> DisputeView:
    """Withdraw an active dispute (the payee no longer asks)."""
    text = _text(note, "the note", required=False)
    with Session(engine) as session, session.begin():
        row = dispute_row(session, dispute_id)
        _require(row, ACTIVE, "withdrawn")
        before, now = row.state, utc_now()
        row.state, row.resolved_at, row.resolved_by, row.resolution_note, row.updated_at = (
            "withdrawn",
            now,
            actor,
            text,
            now,
        )
        _audit(session, row, actor, "withdraw", {"state": before}, text)
        return _view(session, row)


def reopen(engine: Engine, dispute_id: int, *, reason: str, actor: str) -> DisputeView:
    """Bring back a rejected or withdrawn dispute, or a resolved one whose adjustment was rejected by its
    approver; it goes back `in_review` with its assignee (or `open` without one)."""
    text = _text(reason, "a reason for reopening")
    with Session(engine) as session, session.begin():
        row = dispute_row(session, dispute_id)
        if row.state == "resolved_adjusted":
            linked = session.get(m.Adjustment, row.adjustment_id) if row.adjustment_id is not None else None
            if linked is not None and linked.status != "rejected":
                raise Conflict(
                    f"dispute {row.id} was resolved by adjustment {linked.id} ({linked.status}); "
                    "a further correction is a new adjustment or a new dispute"
                )
        else:
            _require(row, ("rejected", "withdrawn"), "reopened")
        before: dict[str, object] = {"state": row.state, "adjustment_id": row.adjustment_id}
        now = utc_now()
        row.state = "in_review" if row.assignee else "open"
        row.resolved_at = row.resolved_by = row.resolution_note = None
        row.adjustment_id = None
        row.updated_at = now
        _audit(session, row, actor, "reopen", before, text)
        return _view(session, row)
