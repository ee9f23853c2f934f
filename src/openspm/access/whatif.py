"""Who may run a what-if for whom: a rep for themselves, a manager for anyone in their team (their subtree as of
today), admin, comp analyst and finance for anyone. A what-if reads only, so no write role or scope is needed.
The ranking job's result is readable by whoever may see its payee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_external_ids, visible_payee
from openspm.core.dates import parse_date
from openspm.core.errors import InvalidInput, NotFound
from openspm.insights import whatif
from openspm.insights.whatif import Deal, WhatIf
from openspm.jobs import service as jobs
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.jobs.whatif import KIND, submit_ranking
from openspm.store import models as m


@dataclass(frozen=True)
class HypotheticalIn:
    """A typed-in deal as the faces receive it (text)."""

    account: str
    product: str
    amount: str
    close_date: str
    discount: str = "0"
    currency: str | None = None


def target_payee(session: Session, principal: Principal, payee: str | None) -> str:
    """The payee a what-if is for: `payee` if the principal may see them, else NotFound; none given: the
    principal's own payee."""
    if not payee:
        if principal.payee is None:
            raise InvalidInput("choose a payee: this user is not a payee")
        payee = principal.payee
    return visible_payee(session, principal, payee).external_id


def _date(text: str | None, what: str) -> date | None:
    if text is None or not str(text).strip():
        return None
    try:
        return parse_date(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a date (expected YYYY-MM-DD)") from None


def open_deals_for(
    engine: Engine, principal: Principal, payee: str | None, close_on: str | None = None
) -> tuple[str, list[Deal]]:
    """The payee's open deals (and the payee's external id)."""
    with Session(engine) as session:
        who = target_payee(session, principal, payee)
        return who, whatif.open_deals(session, who, _date(close_on, "close on"))


def deals_of(
    session: Session,
    payee: str,
    opportunities: Sequence[str],
    hypothetical: Sequence[HypotheticalIn],
    close_on: str | None = None,
    discount: str | None = None,
) -> list[Deal]:
    """The chosen open deals (each must be the payee's and open) and the typed-in ones, as deals."""
    pct = whatif._decimal(discount, "discount") if discount not in (None, "") else Decimal(0)
    by_key = {d.key: d for d in whatif.open_deals(session, payee, _date(close_on, "close on"), pct)}
    chosen = []
    for key in opportunities:
        if key not in by_key:
            raise NotFound(f"{key!r} is not an open opportunity of {payee}")
        chosen.append(by_key[key])
    for i, h in enumerate(hypothetical, start=1):
        day = _date(h.close_date, "close date")
        if day is None:
            raise InvalidInput(f"deal {i}: give a close date")
        chosen.append(
            whatif.hypothetical_deal(
                session,
                account=h.account.strip(),
                product=h.product.strip(),
                amount=h.amount,
                close_date=day,
                discount=h.discount or "0",
                currency=(h.currency or "").strip().upper() or None,
                key=f"deal-{i}",
            )
        )
    return chosen


def what_if_for(
    engine: Engine,
    principal: Principal,
    payee: str | None,
    opportunities: Sequence[str] = (),
    hypothetical: Sequence[HypotheticalIn] = (),
    close_on: str | None = None,
    discount: str | None = None,
) -> WhatIf:
    """The what-if of the chosen deals for a payee the principal may see."""
    with Session(engine) as session:
        who = target_payee(session, principal, payee)
        deals = deals_of(session, who, opportunities, hypothetical, close_on, discount)
        return whatif.what_if(session, who, deals)


def start_ranking_for(
    engine: Engine,
    queue: JobQueue,
    principal: Principal,
    payee: str | None,
    close_on: str | None = None,
    probabilities: Mapping[str, Decimal] | None = None,
) -> JobView:
    """Queue the ranking of a visible payee's open deals."""
    with Session(engine) as session:
        who = target_payee(session, principal, payee)
    return submit_ranking(engine, queue, who, principal.actor, _date(close_on, "close on"), probabilities)


def ranking_job_for(engine: Engine, principal: Principal, job_id: int) -> JobView:
    """A ranking job whose payee the principal may see (NotFound otherwise, and for other kinds of job)."""
    try:
        job = jobs.get(engine, job_id)
    except NotFound:
        raise NotFound(f"no what-if ranking {job_id}") from None
    if job.kind != KIND:
        raise NotFound(f"no what-if ranking {job_id}")
    with Session(engine) as session:
        try:
            target_payee(session, principal, str(job.params.get("payee")))
        except NotFound:
            raise NotFound(f"no what-if ranking {job_id}") from None
    return job


def ranking_rows(job: JobView) -> list[dict[str, Any]]:
    """A finished ranking job's deals (empty while it runs)."""
    return list((job.result or {}).get("deals") or [])


def choices_for(engine: Engine, principal: Principal, payee: str | None) -> dict[str, list[tuple[str, str]]]:
    """What the typed-in deal form offers: every product, and the accounts of the payee's opportunities (any
    status), as (id, name)."""
    with Session(engine) as session:
        who = target_payee(session, principal, payee)
        products = session.execute(select(m.Product.external_id, m.Product.name).order_by(m.Product.external_id))
        accounts = session.execute(
            select(m.Account.external_id, m.Account.name)
            .join(m.Opportunity, m.Opportunity.account_id == m.Account.id)
            .join(m.Payee, m.Payee.id == m.Opportunity.owner_id)
            .where(m.Payee.external_id == who)
            .distinct()
            .order_by(m.Account.external_id)
        )
        return {
            "products": [(str(a), str(b)) for a, b in products],
            "accounts": [(str(a), str(b)) for a, b in accounts],
        }


def payees_for(engine: Engine, principal: Principal) -> list[tuple[str, str]]:
    """The payees the principal may run a what-if for today, as (id, name), by id (for the payee picker)."""
    with Session(engine) as session:
        visible = visible_external_ids(session, principal)
        query = select(m.Payee.external_id, m.Payee.name).order_by(m.Payee.external_id)
        if visible is not None:
            query = query.where(m.Payee.external_id.in_(sorted(visible)))
        return [(str(a), str(b)) for a, b in session.execute(query)]
