"""Transactions through the API and the dashboards that watch them: who may post, list and watch what.

- Posting (`post_transactions_for`) needs `Principal.may_write` (admin, comp analyst; a token with the write
  scope); the audit log names the user.
- Listing (`transactions_for`): admin, comp analyst and finance see every transaction of the month; a manager
  or a rep the transactions the month's period run credited to a payee they may see in that month.
- Watching (`watched_payee_for`): a dashboard's live events for a payee the principal may see (a rep: only
  themselves), else `NotFound` like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.dashboard import default_month
from openspm.access.principal import Principal
from openspm.access.service import Page
from openspm.access.visibility import visible_external_ids, visible_payee
from openspm.core.errors import NotFound
from openspm.realtime.service import PostResult, post_transactions
from openspm.runs.pay import month_run
from openspm.store import models as m


def post_transactions_for(engine: Engine, principal: Principal, objects: list[Any], *, atomic: bool) -> PostResult:
    """Post transactions as the principal (Forbidden unless they may write)."""
    principal.require_write("posting transactions")
    return post_transactions(engine, objects, principal.actor, atomic=atomic)


@dataclass(frozen=True)
class TransactionRow:
    id: str
    date: date
    month: str | None
    type: str
    account: str
    product: str
    quantity: Decimal
    amount: Decimal
    currency: str
    list_amount: Decimal | None
    original: str | None
    owner: str | None
    order_id: str | None
    opportunity: str | None
    attributes: dict[str, Any]


def _month(session: Session, principal: Principal, period: str | None) -> m.Period:
    name = period or default_month(session, principal.payee_id if not principal.sees_all else None)
    found = session.scalars(select(m.Period).where(m.Period.name == name, m.Period.kind == "month")).first()
    if found is None:
        raise NotFound(f"unknown month {name!r}")
    return found


def _rows(session: Session, rows: list[m.Transaction], month: str) -> list[TransactionRow]:
    def names(model: Any, ids: set[int | None]) -> dict[int, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        return dict(session.execute(select(model.id, model.external_id).where(model.id.in_(wanted))).tuples().all())

    accounts = names(m.Account, {r.account_id for r in rows})
    products = names(m.Product, {r.product_id for r in rows})
    payees = names(m.Payee, {r.owner_id for r in rows})
    originals = names(m.Transaction, {r.original_id for r in rows})
    return [
        TransactionRow(
            r.external_id,
            r.date,
            month,
            r.type,
            accounts[r.account_id],
            products[r.product_id],
            r.quantity,
            r.amount,
            r.currency,
            r.list_amount,
            originals.get(r.original_id) if r.original_id is not None else None,
            payees.get(r.owner_id) if r.owner_id is not None else None,
            r.order_id,
            r.opportunity_external_id,
            dict(r.attributes or {}),
        )
        for r in rows
    ]


def transactions_for(
    engine: Engine,
    principal: Principal,
    period: str | None = None,
    payee: str | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
) -> Page[TransactionRow]:
    """The month's transactions the principal may see, newest first (`payee`: only those credited to them)."""
    t = m.Transaction
    with Session(engine) as session:
        month = _month(session, principal, period)
        in_month = (t.date >= month.start_date, t.date < month.end_date)
        visible = visible_external_ids(session, principal, month.name)
        if payee is not None:
            visible_payee(session, principal, payee, month.name)
        if visible is None and payee is None:
            total = session.scalar(select(func.count()).select_from(t).where(*in_month)) or 0
            query = select(t).where(*in_month).order_by(t.date.desc(), t.id.desc()).limit(limit).offset(offset)
            return Page(_rows(session, list(session.scalars(query)), month.name), total, limit, offset)
        run = month_run(session, month.name)
        wanted = {payee} if payee is not None else (visible or set())
        credited: list[str] = []
        if run is not None and wanted:
            credited = list(
                session.scalars(
                    select(m.RunCredit.transaction)
                    .where(m.RunCredit.run_id == run.id, m.RunCredit.payee.in_(sorted(wanted)))
                    .distinct()
                )
            )
        rows: list[m.Transaction] = []
        for start in range(0, len(credited), 900):
            rows += session.scalars(select(t).where(t.external_id.in_(credited[start : start + 900]), *in_month))
        rows.sort(key=lambda r: (r.date, r.id), reverse=True)
        return Page(_rows(session, rows[offset : offset + limit], month.name), len(rows), limit, offset)


def watched_payee_for(engine: Engine, principal: Principal, payee: str | None) -> tuple[int, str]:
    """The payee whose dashboard events the principal may receive: (id, external id); NotFound otherwise."""
    target = payee or principal.payee
    if target is None:
        raise NotFound(f"{principal.email} is not linked to a payee; name the payee to watch (`?payee=`)")
    with Session(engine) as session:
        found = visible_payee(session, principal, target, None)  # a manager's team as of today
        return found.id, found.external_id
