"""First-run tours: which role's tour a person gets, and whether they have finished (or skipped) it.

Each person gets one tour, on the page they land on after signing in (`Principal.home`), for the role that
page serves: admin, then comp analyst, finance, manager, rep. The steps are in `web/static/tours.json`.
Finishing or skipping is remembered per user in the audit log (`tour_done` on `users` / the email), so the
tour does not come back on another browser or after signing in again; the web keeps the answer in the
session, so a page view costs no query for it.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.store import models as m
from openspm.store.audit import audit

ROLES = ("admin", "comp_analyst", "finance", "manager", "rep")
DONE = "tour_done"


def tour_role(principal: Principal) -> str | None:
    """The role whose tour the principal gets (None: no role with a tour)."""
    return next((role for role in ROLES if role in principal.roles), None)


def tour_finished(engine: Engine, principal: Principal) -> bool:
    """Whether the principal finished or skipped their tour, on any browser."""
    with Session(engine) as session:
        found = session.scalar(
            select(m.AuditEntry.id)
            .where(m.AuditEntry.action == DONE, m.AuditEntry.entity == "users")
            .where(m.AuditEntry.entity_key == principal.email)
            .limit(1)
        )
    return found is not None


def finish_tour(engine: Engine, principal: Principal, step: int, of: int) -> None:
    """Remember that the principal finished (or skipped at `step` of `of`) their tour: one audit entry."""
    if tour_finished(engine, principal):
        return
    with Session(engine) as session, session.begin():
        what = "finished" if step >= of else f"skipped at step {step} of {of}"
        audit(session, principal.actor, DONE, "users", principal.email, note=f"{tour_role(principal)} tour {what}")
