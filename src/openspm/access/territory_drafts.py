"""Who may see and do what with territory drafts.

Admin, comp analyst, finance and managers read every draft whole (a territory design is about accounts, and a
manager reviewing it needs every move); admin and comp analyst start designs and publish; admin, comp analyst or
a manager (with a write-scoped token) approve or send back a draft they did not make. Reps have no access to
planning (403): a draft changes nothing until it is published.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.jobs import service as jobs
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.jobs.territory_designs import KIND, submit_design
from openspm.planning import territory_scenarios as planning
from openspm.planning.territory_scenarios import TerritoryDraft, TerritoryParams


def require_reader(principal: Principal) -> None:
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("territory planning is for admin, comp_analyst, finance and manager users")


def may_decide(principal: Principal, draft: TerritoryDraft) -> bool:
    """Whether the principal may approve or send back this draft now."""
    return (
        draft.status == "draft"
        and draft.created_by != principal.actor
        and (principal.may_write or (principal.is_manager and "write" in principal.scopes))
    )


def territory_drafts_for(engine: Engine, principal: Principal) -> list[TerritoryDraft]:
    """Every territory draft, newest first."""
    require_reader(principal)
    return planning.territory_drafts(engine)


def territory_draft_for(engine: Engine, principal: Principal, scenario_id: int) -> TerritoryDraft:
    require_reader(principal)
    return planning.territory_draft(engine, scenario_id)


def start_design_for(
    engine: Engine, queue: JobQueue, principal: Principal, params: TerritoryParams, name: str
) -> JobView:
    """Queue a territory design job (admin, comp analyst)."""
    principal.require_write("starting a territory design")
    return submit_design(engine, queue, params, name, principal.actor)


def draft_territories_for(engine: Engine, principal: Principal, params: TerritoryParams, name: str) -> TerritoryDraft:
    """Design in the caller's process (the CLI): admin, comp analyst."""
    principal.require_write("making a territory draft")
    return planning.draft_territories(engine, params, name=name, actor=principal.actor)


def decide_territories_for(
    engine: Engine, principal: Principal, scenario_id: int, approve: bool, note: str | None = None
) -> TerritoryDraft:
    """Approve or send back a draft: admin, comp analyst or a manager, never its author."""
    if not principal.may_write:
        if not principal.is_manager:
            principal.require_write("approving a territory draft")
        if "write" not in principal.scopes:
            raise Forbidden("approving a territory draft needs a token with the write scope; this one has read")
    return planning.decide(engine, scenario_id, principal.actor, approve, note)


def publish_territories_for(engine: Engine, principal: Principal, scenario_id: int, effective_from: date) -> int:
    principal.require_write("publishing territories")
    return planning.publish(engine, scenario_id, principal.actor, effective_from)


def design_jobs_for(engine: Engine, principal: Principal, limit: int = 10) -> list[JobView]:
    """The newest territory design jobs, with their progress."""
    require_reader(principal)
    return jobs.jobs(engine, kind=KIND, limit=limit)[0]
