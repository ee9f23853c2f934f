"""What every face calls: each function checks what the principal may see or do, then calls the service.

Reads filter to the payees the principal may see in the month (`visibility`); a payee outside that scope is
`NotFound`, never another payee's data. Writes (adjustments, approvals, closes) need `Principal.may_write`
and go to the audit log with the user's email as the actor (the services write the entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import may_see, visible_external_ids, visible_payee, visible_payee_ids
from openspm.close import adjustments as adj
from openspm.close import service as lifecycle
from openspm.close.documents import month_documents
from openspm.close.service import APPROVED_ONE_BY_ONE
from openspm.core.errors import NotFound
from openspm.periods.service import month_named
from openspm.runs.pay import payments_of, period_run
from openspm.statements.service import StatementData, statement, statement_payees
from openspm.store import models as m


@dataclass(frozen=True)
class PayeeRow:
    id: str
    name: str
    email: str | None
    role: str | None
    region: str | None
    pay_currency: str


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and how many there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int


def _page(items: list[T], limit: int, offset: int) -> Page[T]:
    return Page(items[offset : offset + limit], len(items), limit, offset)


# --- payees, periods, runs ------------------------------------------------------------------------------------


def payees_for(
    engine: Engine, principal: Principal, period: str | None = None, *, limit: int = 100, offset: int = 0
) -> Page[PayeeRow]:
    """The payees the principal may see in `period` (default: today), by external id."""
    with Session(engine) as session:
        ids = visible_payee_ids(session, principal, period)
        query = select(m.Payee).order_by(m.Payee.external_id)
        count = select(func.count()).select_from(m.Payee)
        if ids is not None:
            query = query.where(m.Payee.id.in_(ids or [-1]))
            count = count.where(m.Payee.id.in_(ids or [-1]))
        rows = session.scalars(query.limit(limit).offset(offset))
        items = [PayeeRow(p.external_id, p.name, p.email, p.role, p.region, p.pay_currency) for p in rows]
        return Page(items, session.scalar(count) or 0, limit, offset)


def payee_for(engine: Engine, principal: Principal, payee: str, period: str | None = None) -> PayeeRow:
    with Session(engine) as session:
        p = visible_payee(session, principal, payee, period)
        return PayeeRow(p.external_id, p.name, p.email, p.role, p.region, p.pay_currency)


@dataclass(frozen=True)
class PeriodRow:
    name: str
    kind: str
    start: date
    end: date
    status: str
    run_id: int | None
    closed_by: str | None
    closed_at: datetime | None


def periods_for(engine: Engine, principal: Principal, year: str | None = None) -> list[PeriodRow]:
    """The months with their lifecycle status (every role may read the calendar)."""
    with Session(engine) as session:
        ranges = {p.name: p for p in session.scalars(select(m.Period).where(m.Period.kind == "month"))}
    return [
        PeriodRow(
            s.period,
            "month",
            ranges[s.period].start_date,
            ranges[s.period].end_date,
            s.status,
            s.run_id,
            s.closed_by,
            s.closed_at,
        )
        for s in lifecycle.status(engine, year)
    ]


@dataclass(frozen=True)
class RunRow:
    id: int
    period: str
    status: str
    engine: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    plans: dict[str, int]
    error: str | None


def runs_for(engine: Engine, principal: Principal, period: str | None = None) -> list[RunRow]:
    """Runs, newest first: what was calculated when (no payee data; every role may read them)."""
    with Session(engine) as session:
        query = select(m.Run).order_by(m.Run.id.desc())
        if period:
            query = query.where(m.Run.period == period)
        return [
            RunRow(r.id, r.period, r.status, r.engine, r.actor, r.started_at, r.finished_at, dict(r.plans), r.error)
            for r in session.scalars(query)
        ]


# --- results of a month ------------------------------------------------------------------------------------------


def statement_for(engine: Engine, principal: Principal, period: str, payee: str) -> StatementData:
    """A payee's statement for a month, when the principal may see the payee in that month."""
    with Session(engine) as session:
        visible_payee(session, principal, payee, period)
        return statement(session, period, payee)


def statement_payees_for(engine: Engine, principal: Principal, period: str) -> list[str]:
    """The payees with a statement in the month that the principal may see."""
    with Session(engine) as session:
        visible = visible_external_ids(session, principal, period)
        return [p for p in statement_payees(session, period) if visible is None or p in visible]


@dataclass(frozen=True)
class StatementRef:
    period: str
    payee: str
    name: str
    closed: bool


def statements_list_for(engine: Engine, principal: Principal, payee: str | None = None) -> list[StatementRef]:
    """Every month × payee statement the principal may see (of `payee` only when given), newest month first."""
    with Session(engine) as session:
        months = session.execute(
            select(m.Period.name, m.Period.status)
            .where(m.Period.kind == "month", m.Period.name.in_(select(m.Run.period).where(m.Run.status == "completed")))
            .order_by(m.Period.start_date.desc())
        ).all()
        names = dict(session.execute(select(m.Payee.external_id, m.Payee.name)).tuples().all())
        found: list[StatementRef] = []
        for month, status in months:
            visible = visible_external_ids(session, principal, month)
            for p in statement_payees(session, month):
                if (visible is None or p in visible) and (payee is None or p == payee):
                    found.append(StatementRef(month, p, names.get(p, p), status == "closed"))
        if payee is not None and not found:
            visible_payee(session, principal, payee)  # NotFound for a payee outside the principal's scope
        return found


@dataclass(frozen=True)
class EarningRow:
    run_id: int
    payee: str
    plan: str
    period: str
    component: str
    measure_period: str
    base: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    rate: Decimal | None
    amount: Decimal
    cut: Decimal
    currency: str


def _scope(session: Session, principal: Principal, period: str, payee: str | None) -> set[str] | None:
    if payee is not None:
        return {visible_payee(session, principal, payee, period).external_id}
    return visible_external_ids(session, principal, period)


def earnings_for(engine: Engine, principal: Principal, period: str, payee: str | None = None) -> list[EarningRow]:
    """The month's earnings (from its period run: the close's snapshot, or the newest completed run)."""
    with Session(engine) as session:
        scope = _scope(session, principal, period, payee)
        run = period_run(session, period)
        query = select(m.RunEarning).where(m.RunEarning.run_id == run.id)
        if scope is not None:
            query = query.where(m.RunEarning.payee.in_(scope or [""]))
        rows = session.scalars(query.order_by(m.RunEarning.payee, m.RunEarning.plan, m.RunEarning.id))
        return [
            EarningRow(
                e.run_id,
                e.payee,
                e.plan,
                e.period,
                e.component,
                e.measure_period,
                e.base,
                e.quota,
                e.attainment,
                e.rate,
                e.amount,
                e.cut,
                e.currency,
            )
            for e in rows
        ]


@dataclass(frozen=True)
class PaymentRow:
    run_id: int
    payee: str
    plan: str
    period: str
    currency: str
    earned: Decimal
    amount: Decimal
    pay_currency: str
    rate: Decimal
    pay_amount: Decimal
    lines: list[dict[str, object]]


def payments_for(engine: Engine, principal: Principal, period: str, payee: str | None = None) -> list[PaymentRow]:
    """The month's payments, line by line, of the payees the principal may see."""
    with Session(engine) as session:
        scope = _scope(session, principal, period, payee)
        return [
            PaymentRow(
                p.run_id,
                p.payee,
                p.plan,
                p.period,
                p.currency,
                p.earned,
                p.amount,
                p.pay_currency,
                p.rate,
                p.pay_amount,
                list(p.lines),
            )
            for p in payments_of(session, period)
            if scope is None or p.payee in scope
        ]


# --- adjustments and the period lifecycle ---------------------------------------------------------------------------


def adjustments_for(
    engine: Engine, principal: Principal, period: str | None = None, status: str | None = None
) -> list[adj.AdjustmentView]:
    """Adjustments of the payees the principal may see (a manager: their team as of each adjustment's month)."""
    rows = adj.adjustments(engine, period, status)
    if principal.sees_all:
        return rows
    with Session(engine) as session:
        scopes: dict[str, set[str] | None] = {}
        kept = []
        for row in rows:
            if row.period not in scopes:
                scopes[row.period] = visible_external_ids(session, principal, row.period)
            scope = scopes[row.period]
            if scope is None or row.payee in scope:
                kept.append(row)
        return kept


def add_adjustment_for(
    engine: Engine,
    principal: Principal,
    *,
    payee: str,
    plan: str,
    period: str,
    amount: Decimal,
    reason_code: str,
    note: str | None = None,
    component: str | None = None,
    needs_approval: bool = False,
) -> adj.AdjustmentView:
    principal.require_write("adding an adjustment")
    return adj.add_adjustment(
        engine,
        payee=payee,
        plan=plan,
        period=period,
        amount=amount,
        reason_code=reason_code,
        actor=principal.actor,
        note=note,
        component=component,
        needs_approval=needs_approval,
    )


def decide_adjustment_for(
    engine: Engine, principal: Principal, adjustment_id: int, approve: bool, note: str | None = None
) -> adj.AdjustmentView:
    """Approve or reject a pending adjustment: admin and comp analyst any, a manager their team's.

    A manager decides adjustments of the payees below them as of the adjustment's month (one outside that
    team is not found), never one that pays themselves; nobody decides their own entry (the service says so).
    """
    if not principal.may_write:
        _require_team_approver(engine, principal, adjustment_id)
    return adj.decide(engine, adjustment_id, principal.actor, approve, note)


def _require_team_approver(engine: Engine, principal: Principal, adjustment_id: int) -> None:
    if not principal.is_manager or principal.payee_id is None:
        principal.require_write("approving or rejecting an adjustment")
    if "write" not in principal.scopes:
        raise Forbidden("approving or rejecting an adjustment needs a token with the write scope; this one has read")
    with Session(engine) as session:
        row = session.get(m.Adjustment, adjustment_id)
        if row is None or not may_see(session, principal, row.payee_id, row.period):
            raise NotFound(f"unknown adjustment {adjustment_id}")
        if row.payee_id == principal.payee_id:
            raise Forbidden(f"adjustment {adjustment_id} pays you; an admin or comp analyst must decide it")


def may_decide(principal: Principal, row: adj.AdjustmentView) -> bool:
    """Whether the principal may approve or reject this (visible) adjustment now: the buttons a page shows."""
    if row.status != "pending" or row.created_by == principal.actor or "write" not in principal.scopes:
        return False
    return principal.may_write or (principal.is_manager and row.payee != principal.payee)


def _known_month(engine: Engine, period: str) -> None:
    with Session(engine) as session:
        month_named(session, period, why=APPROVED_ONE_BY_ONE)


def approve_for(engine: Engine, principal: Principal, period: str) -> lifecycle.MonthStatus:
    principal.require_write(f"approving {period}")
    _known_month(engine, period)
    return lifecycle.approve(engine, period, principal.actor)


def close_for(engine: Engine, principal: Principal, period: str) -> lifecycle.MonthStatus:
    principal.require_write(f"closing {period}")
    _known_month(engine, period)
    return lifecycle.close(engine, period, principal.actor, month_documents)


def page_of(items: list[T], limit: int, offset: int) -> Page[T]:
    """A page of an already filtered list."""
    return _page(items, limit, offset)


# --- drill-down to a transaction ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditOut:
    run_id: int
    payee: str
    plan: str
    role: str
    share: Decimal
    amount: Decimal
    currency: str
    measures: str | None


@dataclass(frozen=True)
class TransactionView:
    id: str
    date: date
    type: str
    period: str | None
    account: str
    account_name: str
    product: str
    product_name: str
    quantity: Decimal
    amount: Decimal
    currency: str
    order: str | None
    original: str | None
    credits: list[CreditOut]  # only the credits of payees the principal may see


def transaction_for(engine: Engine, principal: Principal, external_id: str) -> TransactionView:
    """A transaction and its credits in its month's period run: when it credits a payee the principal may see
    that month (admin, comp analyst, finance: any transaction); NotFound otherwise."""
    with Session(engine) as session:
        row = session.scalars(select(m.Transaction).where(m.Transaction.external_id == external_id)).first()
        if row is None:
            raise NotFound(f"unknown transaction {external_id!r}")
        month = session.scalars(
            select(m.Period).where(
                m.Period.kind == "month", m.Period.start_date <= row.date, m.Period.end_date > row.date
            )
        ).first()
        credits: list[m.RunCredit] = []
        if month is not None:
            try:
                run = period_run(session, month.name)
            except NotFound:
                run = None
            if run is not None:
                credits = list(
                    session.scalars(
                        select(m.RunCredit)
                        .where(m.RunCredit.run_id == run.id, m.RunCredit.transaction == external_id)
                        .order_by(m.RunCredit.payee, m.RunCredit.plan, m.RunCredit.id)
                    )
                )
        visible = visible_external_ids(session, principal, month.name if month else None)
        shown = [c for c in credits if visible is None or c.payee in visible]
        if visible is not None and not shown:
            raise NotFound(f"unknown transaction {external_id!r}")
        account = session.get_one(m.Account, row.account_id)
        product = session.get_one(m.Product, row.product_id)
        original = session.get(m.Transaction, row.original_id) if row.original_id is not None else None
        return TransactionView(
            row.external_id,
            row.date,
            row.type,
            month.name if month else None,
            account.external_id,
            account.name,
            product.external_id,
            product.name,
            row.quantity,
            row.amount,
            row.currency,
            row.order_id,
            original.external_id if original else None,
            [CreditOut(c.run_id, c.payee, c.plan, c.role, c.share, c.amount, c.currency, c.measures) for c in shown],
        )
