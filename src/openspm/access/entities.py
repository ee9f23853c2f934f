"""Reference and master data for the API, filtered to what the principal may see.

Products, territories and the calendar are reference data every signed-in user may read. Accounts, quotas,
opportunities and reporting lines are tied to payees: admin, comp analyst and finance see them all; a rep or
manager sees those of the payees visible to them (themselves; a manager's team as of the date or period asked
about): accounts owned directly or through a territory, opportunities they own, their quotas, their lines.
Lists are paged in the store (`limit`, `offset`) with the total counted there too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import CompoundSelect, Engine, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from openspm.access.principal import Principal
from openspm.access.service import Page
from openspm.access.visibility import subtree, visible_payee_ids
from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.store import models as m


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    industry: str | None
    size: str | None
    segment: str | None
    country: str | None
    region: str | None
    city: str | None
    potential: Decimal | None
    owners: list[str] = field(default_factory=list)
    territory: str | None = None


@dataclass(frozen=True)
class ProductRow:
    id: str
    name: str
    family: str
    list_price: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class TerritoryRow:
    id: str
    name: str
    region: str | None
    parent: str | None
    payees: list[str]


@dataclass(frozen=True)
class QuotaRow:
    payee: str
    measure: str
    period: str
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class OpportunityRow:
    id: str
    name: str
    account: str | None
    owner: str | None
    stage: str
    probability: Decimal | None
    amount: Decimal
    currency: str
    close_date: date
    status: str


@dataclass(frozen=True)
class ReportingLineRow:
    payee: str
    manager: str
    effective_from: date
    effective_to: date | None


def _in_effect(model: Any, on: date) -> Any:
    """`effective_from <= on < effective_to` (open-ended when effective_to is NULL)."""
    return (model.effective_from <= on) & or_(model.effective_to.is_(None), model.effective_to > on)


def _paged(session: Session, query: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.execute(query.limit(limit).offset(offset)).all()), total


def _visible_on(session: Session, principal: Principal, on: date) -> set[int] | None:
    """Visible payee ids on a day: None for everyone (staff), else self and, for a manager, the team that day."""
    if principal.sees_all:
        return None
    if principal.payee_id is None:
        return set()
    if principal.is_manager:
        return subtree(session, principal.payee_id, on, date.fromordinal(on.toordinal() + 1))
    return {principal.payee_id}


def _owned_account_ids(payees: set[int], on: date) -> CompoundSelect[Any]:
    """Accounts owned on `on` by the payees, by named-account assignment or through a territory."""
    direct = select(m.AccountAssignment.account_id).where(
        m.AccountAssignment.payee_id.in_(payees or [-1]), _in_effect(m.AccountAssignment, on)
    )
    by_territory = (
        select(m.AccountTerritory.account_id)
        .join(m.TerritoryAssignment, m.TerritoryAssignment.territory_id == m.AccountTerritory.territory_id)
        .where(
            m.TerritoryAssignment.payee_id.in_(payees or [-1]),
            _in_effect(m.TerritoryAssignment, on),
            _in_effect(m.AccountTerritory, on),
        )
    )
    return direct.union(by_territory)


def _account_rows(session: Session, accounts: list[m.Account], on: date) -> list[AccountRow]:
    ids = [a.id for a in accounts]
    owners: dict[int, list[str]] = {}
    for account_id, payee in session.execute(
        select(m.AccountAssignment.account_id, m.Payee.external_id)
        .join(m.Payee, m.Payee.id == m.AccountAssignment.payee_id)
        .where(m.AccountAssignment.account_id.in_(ids or [-1]), _in_effect(m.AccountAssignment, on))
        .order_by(m.Payee.external_id)
    ):
        owners.setdefault(account_id, []).append(payee)
    territories: dict[int, str] = dict(
        session.execute(
            select(m.AccountTerritory.account_id, m.Territory.external_id)
            .join(m.Territory, m.Territory.id == m.AccountTerritory.territory_id)
            .where(m.AccountTerritory.account_id.in_(ids or [-1]), _in_effect(m.AccountTerritory, on))
        )
        .tuples()
        .all()
    )
    return [
        AccountRow(
            a.external_id,
            a.name,
            a.industry,
            a.size,
            a.segment,
            a.country,
            a.region,
            a.city,
            a.potential,
            owners.get(a.id, []),
            territories.get(a.id),
        )
        for a in accounts
    ]


def accounts_for(
    engine: Engine,
    principal: Principal,
    *,
    q: str | None = None,
    segment: str | None = None,
    region: str | None = None,
    on: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[AccountRow]:
    """Accounts by external id, with their owners and territory on `on` (default today); `q` matches id or name."""
    day = on or utc_now().date()
    with Session(engine) as session:
        query = select(m.Account).order_by(m.Account.external_id)
        visible = _visible_on(session, principal, day)
        if visible is not None:
            query = query.where(m.Account.id.in_(_owned_account_ids(visible, day)))
        if q:
            needle = f"%{q.lower()}%"
            query = query.where(
                or_(func.lower(m.Account.external_id).like(needle), func.lower(m.Account.name).like(needle))
            )
        if segment:
            query = query.where(m.Account.segment == segment)
        if region:
            query = query.where(m.Account.region == region)
        rows, total = _paged(session, query, limit, offset)
        return Page(_account_rows(session, [r[0] for r in rows], day), total, limit, offset)


def account_for(engine: Engine, principal: Principal, external_id: str, on: date | None = None) -> AccountRow:
    """One account (NotFound when unknown or not owned by anyone the principal may see on `on`)."""
    day = on or utc_now().date()
    with Session(engine) as session:
        query = select(m.Account).where(m.Account.external_id == external_id)
        visible = _visible_on(session, principal, day)
        if visible is not None:
            query = query.where(m.Account.id.in_(_owned_account_ids(visible, day)))
        account = session.scalars(query).first()
        if account is None:
            raise NotFound(f"unknown account {external_id!r}")
        return _account_rows(session, [account], day)[0]


def products_for(
    engine: Engine, principal: Principal, family: str | None = None, *, limit: int = 100, offset: int = 0
) -> Page[ProductRow]:
    """Products by external id (reference data: every role)."""
    with Session(engine) as session:
        query = select(m.Product).order_by(m.Product.external_id)
        if family:
            query = query.where(m.Product.family == family)
        rows, total = _paged(session, query, limit, offset)
        items = [ProductRow(p.external_id, p.name, p.family, p.list_price, p.currency) for (p,) in rows]
        return Page(items, total, limit, offset)


def territories_for(
    engine: Engine, principal: Principal, on: date | None = None, *, limit: int = 100, offset: int = 0
) -> Page[TerritoryRow]:
    """Territories by external id with the payees assigned on `on` (reference data: every role)."""
    day = on or utc_now().date()
    with Session(engine) as session:
        parent = aliased(m.Territory)
        query = (
            select(m.Territory, parent.external_id)
            .outerjoin(parent, parent.id == m.Territory.parent_id)
            .order_by(m.Territory.external_id)
        )
        rows, total = _paged(session, query, limit, offset)
        payees: dict[int, list[str]] = {}
        for territory_id, payee in session.execute(
            select(m.TerritoryAssignment.territory_id, m.Payee.external_id)
            .join(m.Payee, m.Payee.id == m.TerritoryAssignment.payee_id)
            .where(
                m.TerritoryAssignment.territory_id.in_([t.id for t, _ in rows] or [-1]),
                _in_effect(m.TerritoryAssignment, day),
            )
            .order_by(m.Payee.external_id)
        ):
            payees.setdefault(territory_id, []).append(payee)
        items = [
            TerritoryRow(t.external_id, t.name, t.region, parent_id, payees.get(t.id, [])) for t, parent_id in rows
        ]
        return Page(items, total, limit, offset)


def quotas_for(
    engine: Engine,
    principal: Principal,
    *,
    period: str | None = None,
    payee: str | None = None,
    measure: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[QuotaRow]:
    """Quotas of the visible payees (a manager's team as of `period`, else today), by payee, period, measure."""
    with Session(engine) as session:
        query = (
            select(m.Payee.external_id, m.Quota.measure, m.Period.name, m.Quota.amount, m.Quota.currency)
            .join(m.Payee, m.Payee.id == m.Quota.payee_id)
            .join(m.Period, m.Period.id == m.Quota.period_id)
            .order_by(m.Payee.external_id, m.Period.start_date, m.Period.end_date.desc(), m.Quota.measure)
        )
        visible = visible_payee_ids(session, principal, period)
        if visible is not None:
            query = query.where(m.Quota.payee_id.in_(visible or [-1]))
        if period:
            query = query.where(m.Period.name == period)
        if payee:
            query = query.where(m.Payee.external_id == payee)
        if measure:
            query = query.where(m.Quota.measure == measure)
        rows, total = _paged(session, query, limit, offset)
        return Page([QuotaRow(*row) for row in rows], total, limit, offset)


def opportunities_for(
    engine: Engine,
    principal: Principal,
    *,
    status: str | None = None,
    owner: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[OpportunityRow]:
    """Opportunities owned by the visible payees (today), soonest close date first."""
    with Session(engine) as session:
        owner_payee = aliased(m.Payee)
        query = (
            select(m.Opportunity, m.Account.external_id, owner_payee.external_id)
            .outerjoin(m.Account, m.Account.id == m.Opportunity.account_id)
            .outerjoin(owner_payee, owner_payee.id == m.Opportunity.owner_id)
            .order_by(m.Opportunity.close_date, m.Opportunity.external_id)
        )
        visible = visible_payee_ids(session, principal)
        if visible is not None:
            query = query.where(m.Opportunity.owner_id.in_(visible or [-1]))
        if status:
            query = query.where(m.Opportunity.status == status)
        if owner:
            query = query.where(owner_payee.external_id == owner)
        rows, total = _paged(session, query, limit, offset)
        items = [
            OpportunityRow(
                o.external_id,
                o.name,
                account,
                who,
                o.stage,
                o.probability,
                o.amount,
                o.currency,
                o.close_date,
                o.status,
            )
            for o, account, who in rows
        ]
        return Page(items, total, limit, offset)


def reporting_lines_for(
    engine: Engine, principal: Principal, on: date | None = None, *, limit: int = 100, offset: int = 0
) -> Page[ReportingLineRow]:
    """Who reports to whom on `on` (default today), among the payees visible that day."""
    day = on or utc_now().date()
    with Session(engine) as session:
        payee, manager = aliased(m.Payee), aliased(m.Payee)
        query = (
            select(payee.external_id, manager.external_id, m.ReportingLine.effective_from, m.ReportingLine.effective_to)
            .join(payee, payee.id == m.ReportingLine.payee_id)
            .join(manager, manager.id == m.ReportingLine.manager_id)
            .where(_in_effect(m.ReportingLine, day))
            .order_by(manager.external_id, payee.external_id)
        )
        visible = _visible_on(session, principal, day)
        if visible is not None:
            query = query.where(m.ReportingLine.payee_id.in_(visible or [-1]))
        rows, total = _paged(session, query, limit, offset)
        return Page([ReportingLineRow(*row) for row in rows], total, limit, offset)
