"""Plan documents and acceptance, as each role may see and do them.

- A payee's plan documents: the payee themselves, their manager (the team as of today), admin, comp analyst
  and finance. Anyone else asking is answered `NotFound` (`unknown payee`), exactly as for a payee that does
  not exist.
- Accepting: only the payee's own user accepts their plan (`Forbidden` for anyone else who may see it); the
  acceptance is recorded by `close.adjustments.accept_plan` (who, the day, the time; audited), is idempotent,
  and is per version: a new version needs a new acceptance.
- Acceptance status: per plan version, the payees the principal may see (a manager: their team; a rep: only
  themselves), accepted or not, with dates.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee, visible_payee_ids
from openspm.close.adjustments import accept_plan
from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.plandocs.service import (
    PlanDoc,
    StatusRow,
    VersionRef,
    acceptance_status,
    payee_plans,
    plan_document,
    resolve_version,
)


def own_payee(principal: Principal, payee: str | None) -> str:
    """`payee`, or the principal's own payee (NotFound for a user linked to none)."""
    target = payee or principal.payee
    if target is None:
        raise NotFound(f"{principal.email} is not linked to a payee; pick a payee to see their plan")
    return target


def payee_plans_for(
    engine: Engine, principal: Principal, payee: str | None = None
) -> tuple[str, str, list[VersionRef]]:
    """The payee's id and name and every plan version they are assigned under (NotFound outside the scope)."""
    with Session(engine) as session:
        found = visible_payee(session, principal, own_payee(principal, payee))
        return found.external_id, found.name, payee_plans(session, found)


def plan_document_for(
    engine: Engine, principal: Principal, payee: str | None, plan: str, version: int | None = None
) -> PlanDoc:
    """A payee's plan document for a version of a plan (default: their current version)."""
    with Session(engine) as session:
        found = visible_payee(session, principal, own_payee(principal, payee))
        return plan_document(session, found, plan, version)


def accept_for(engine: Engine, principal: Principal, payee: str, plan: str, version: int | None = None) -> PlanDoc:
    """Record that the payee accepts a version of their plan (default: their current version), as the signed-in
    payee; answers the document with its acceptance. Accepting again changes nothing."""
    with Session(engine) as session:
        found = visible_payee(session, principal, payee)
        if principal.payee_id != found.id:
            raise Forbidden(
                f"only {found.external_id} may accept their own plan; an administrator records a paper acceptance "
                "with `openspm plan accept`"
            )
        if "write" not in principal.scopes:
            raise Forbidden("accepting a plan needs a token with the write scope; this token has read only")
        _, chosen = resolve_version(session, found, plan, version)
    accept_plan(engine, payee=payee, plan=plan, version=chosen, on=utc_now().date(), actor=principal.actor)
    return plan_document_for(engine, principal, payee, plan, chosen)


def acceptance_status_for(
    engine: Engine,
    principal: Principal,
    plan: str | None = None,
    version: int | None = None,
    accepted: bool | None = None,
) -> list[StatusRow]:
    """Who has accepted each plan version and who has not, among the payees the principal may see today."""
    with Session(engine) as session:
        ids = visible_payee_ids(session, principal)
        return acceptance_status(session, plan, version, ids, accepted)
