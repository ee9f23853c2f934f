"""Who may see and do what with disputes; every face (pages, API, CLI through the service) goes through here.

- rep: their own payee's disputes; raises on their own statement lines, comments, withdraws.
- manager: their team's disputes, as of each dispute's month (and their own); comments; raises and withdraws
  their own.
- finance: every dispute, internal notes too; changes nothing (read-only).
- admin, comp analyst: every dispute; raise on anyone's behalf, comment (also internal notes), assign,
  resolve by an adjustment, reject, withdraw, reopen.

A dispute outside what the principal may see is `NotFound` (`unknown dispute 12`), exactly like one that does
not exist. Internal notes (analysts' comments) are never shown to reps or managers. A token needs the `write`
scope for any change.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import WRITERS, Principal
from openspm.access.visibility import visible_payee, visible_payee_ids
from openspm.core.errors import InvalidInput, NotFound
from openspm.disputes import service as disputes
from openspm.disputes.schemas import CommentView, DisputeDetail, DisputeView, StatementLine
from openspm.store import models as m


def _scope(session: Session, principal: Principal) -> disputes.Scope:
    """Where the principal's disputes are: all (None), their own payee, or their team month by month."""
    if principal.sees_all:
        return None
    if principal.payee_id is None:
        return []
    if not principal.is_manager:
        return [(None, {principal.payee_id})]
    periods = sorted(set(session.scalars(select(m.Dispute.period).distinct())))
    scope: list[tuple[str | None, set[int]]] = [(None, {principal.payee_id})]
    for period in periods:
        ids = visible_payee_ids(session, principal, period)
        scope.append((period, ids or set()))
    return scope


def _visible(session: Session, principal: Principal, dispute_id: int) -> m.Dispute:
    row = session.get(m.Dispute, dispute_id)
    if row is None:
        raise NotFound(f"unknown dispute {dispute_id}")
    if principal.sees_all:
        return row
    ids = visible_payee_ids(session, principal, row.period)
    if ids is None or row.payee_id in ids:
        return row
    raise NotFound(f"unknown dispute {dispute_id}")


def _needs_write_scope(principal: Principal, what: str) -> None:
    if "write" not in principal.scopes:
        raise Forbidden(f"{what} needs a token with the write scope; this token has read only")


def _own(principal: Principal, row: m.Dispute) -> bool:
    return principal.payee_id is not None and principal.payee_id == row.payee_id


def may_raise_for(principal: Principal, payee: str) -> bool:
    """Whether the principal may raise a dispute about `payee`'s statement (their own, or an analyst)."""
    return (principal.payee == payee or bool(principal.roles & WRITERS)) and "write" in principal.scopes


# --- reading ---------------------------------------------------------------------------------------------


def disputes_for(
    engine: Engine,
    principal: Principal,
    *,
    states: Iterable[str] | None = None,
    period: str | None = None,
    payee: str | None = None,
    assignee: str | None = None,
    oldest_first: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> disputes.DisputePage:
    """The disputes the principal may see, filtered, one page (a payee outside the scope: NotFound)."""
    with Session(engine) as session:
        scope = _scope(session, principal)
        payee_id = _payee_filter(session, principal, scope, payee, period)
    return disputes.list_disputes(
        engine,
        scope=scope,
        states=states,
        period=period,
        payee_id=payee_id,
        assignee=assignee,
        oldest_first=oldest_first,
        limit=limit,
        offset=offset,
    )


def _payee_filter(
    session: Session, principal: Principal, scope: disputes.Scope, payee: str | None, period: str | None
) -> int | None:
    if payee is None:
        return None
    found = session.scalars(select(m.Payee.id).where(m.Payee.external_id == payee)).first()
    if found is None:
        raise NotFound(f"unknown payee {payee!r}")
    if scope is not None and not any(found in ids for _, ids in scope):
        visible_payee(session, principal, payee, period)  # NotFound unless on the team now (or in the month)
    return found


def dispute_counts_for(
    engine: Engine, principal: Principal, *, period: str | None = None, payee: str | None = None
) -> dict[str, int]:
    """How many of the principal's disputes are in each state."""
    with Session(engine) as session:
        scope = _scope(session, principal)
        payee_id = _payee_filter(session, principal, scope, payee, period)
    return disputes.state_counts(engine, scope=scope, period=period, payee_id=payee_id)


def dispute_for(engine: Engine, principal: Principal, dispute_id: int) -> DisputeDetail:
    """A dispute with its comments and history (internal notes for admin, comp analyst and finance only)."""
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
    return disputes.detail(engine, dispute_id, internal=principal.sees_all)


def statement_lines_for(engine: Engine, principal: Principal, period: str, payee: str) -> list[StatementLine]:
    """The lines of a payee's month a dispute can name, when the principal may see the payee that month."""
    with Session(engine) as session:
        visible_payee(session, principal, payee, period)
        return disputes.statement_lines(session, period, payee)


def default_adjustment_month_for(engine: Engine, principal: Principal, dispute_id: int) -> str:
    """The month an adjustment resolving this dispute would be paid in, by default."""
    with Session(engine) as session:
        row = _visible(session, principal, dispute_id)
        return disputes.adjustment_month(session, row.period)


# --- changing --------------------------------------------------------------------------------------------


def raise_dispute_for(
    engine: Engine,
    principal: Principal,
    *,
    period: str,
    line_kind: str,
    line_ref: str | None,
    category: str,
    description: str,
    payee: str | None = None,
    amount_claimed: Decimal | None = None,
    currency: str | None = None,
) -> DisputeView:
    """Raise a dispute about a line of `payee`'s statement (default: the principal's own): the payee themselves,
    or an admin or comp analyst on their behalf."""
    _needs_write_scope(principal, "raising a dispute")
    target = payee or principal.payee
    if target is None:
        raise InvalidInput("say whose statement the dispute is about (payee)")
    if target != principal.payee and not principal.roles & WRITERS:
        with Session(engine) as session:
            visible_payee(session, principal, target, period)  # NotFound outside the scope
        raise Forbidden(f"only {target} or an admin or comp_analyst may raise a dispute about {target}'s statement")
    return disputes.raise_dispute(
        engine,
        payee=target,
        period=period,
        line_kind=line_kind,
        line_ref=line_ref,
        category=category,
        description=description,
        actor=principal.actor,
        amount_claimed=amount_claimed,
        currency=currency,
    )


def comment_for(
    engine: Engine, principal: Principal, dispute_id: int, body: str, internal: bool = False
) -> CommentView:
    """Comment on a dispute the principal may see (finance reads only; internal notes are analysts')."""
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
    if principal.sees_all and not principal.roles & WRITERS:
        raise Forbidden(f"{principal.email} has read-only access (finance) and cannot comment")
    _needs_write_scope(principal, "commenting on a dispute")
    if internal and not principal.roles & WRITERS:
        raise Forbidden("internal notes are for admin and comp_analyst users")
    return disputes.comment(
        engine, dispute_id, author=principal.actor, author_name=principal.name, body=body, internal=internal
    )


def assign_for(engine: Engine, principal: Principal, dispute_id: int, assignee: str | None = None) -> DisputeView:
    """Give a dispute to an analyst (an admin or comp analyst user; default: the principal, i.e. take it)."""
    principal.require_write("assigning a dispute")
    chosen = (assignee or "").strip() or principal.email
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
        roles = set(
            session.scalars(
                select(m.Role.name)
                .join(m.UserRole, m.UserRole.role_id == m.Role.id)
                .join(m.User, m.User.id == m.UserRole.user_id)
                .where(m.User.email == chosen, m.User.active.is_(True))
            )
        )
    if not roles & WRITERS:
        raise InvalidInput(f"{chosen} is not an active admin or comp_analyst user; a dispute goes to an analyst")
    return disputes.assign(engine, dispute_id, assignee=chosen, actor=principal.actor)


def resolve_for(
    engine: Engine,
    principal: Principal,
    dispute_id: int,
    *,
    amount: Decimal,
    plan: str | None = None,
    period: str | None = None,
    reason_code: str = "dispute",
    note: str | None = None,
    needs_approval: bool = False,
) -> DisputeView:
    """Resolve a dispute by an adjustment (admin, comp analyst)."""
    principal.require_write("resolving a dispute")
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
    return disputes.resolve_with_adjustment(
        engine,
        dispute_id,
        amount=amount,
        actor=principal.actor,
        plan=plan,
        period=period,
        reason_code=reason_code,
        note=note,
        needs_approval=needs_approval,
    )


def reject_for(engine: Engine, principal: Principal, dispute_id: int, reason: str) -> DisputeView:
    """Reject a dispute with a reason (admin, comp analyst)."""
    principal.require_write("rejecting a dispute")
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
    return disputes.reject(engine, dispute_id, reason=reason, actor=principal.actor)


def withdraw_for(engine: Engine, principal: Principal, dispute_id: int, note: str | None = None) -> DisputeView:
    """Withdraw a dispute: the payee it is about, or an admin or comp analyst."""
    with Session(engine) as session:
        row = _visible(session, principal, dispute_id)
        own = _own(principal, row)
    if not own and not principal.roles & WRITERS:
        raise Forbidden(f"only the payee or an admin or comp_analyst may withdraw dispute {dispute_id}")
    _needs_write_scope(principal, "withdrawing a dispute")
    return disputes.withdraw(engine, dispute_id, actor=principal.actor, note=note)


def reopen_for(engine: Engine, principal: Principal, dispute_id: int, reason: str) -> DisputeView:
    """Reopen a rejected or withdrawn dispute (admin, comp analyst)."""
    principal.require_write("reopening a dispute")
    with Session(engine) as session:
        _visible(session, principal, dispute_id)
    return disputes.reopen(engine, dispute_id, reason=reason, actor=principal.actor)
