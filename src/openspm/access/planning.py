"""Who may see and do what with quota drafts.

Admin, comp analyst and finance see every draft whole; a manager sees drafts with only their team's lines (the
team as of the draft's year) and may approve or send back a draft they did not make; admin and comp analyst make
and publish drafts. Reps have no access to planning (403): a draft is not a quota until it is published.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import visible_external_ids
from openspm.jobs import service as jobs
from openspm.jobs.planning_evaluations import QUOTAS, submit_quota_evaluation
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.planning import quotas as planning
from openspm.planning.quotas import QuotaDraft, QuotaParams


def _require_reader(principal: Principal) -> None:
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("quota planning is for admin, comp_analyst, finance and manager users")


def _team_view(engine: Engine, principal: Principal, draft: QuotaDraft) -> QuotaDraft:
    if principal.sees_all:
        return draft
    with Session(engine) as session:
        team = visible_external_ids(session, principal, draft.year) or set()
    return replace(
        draft,
        lines=[line for line in draft.lines if line.payee in team],
        evaluation=_team_evaluation(draft.evaluation, team),
    )


def _team_evaluation(evaluation: dict[str, Any] | None, team: set[str]) -> dict[str, Any] | None:
    """An evaluation with only the team's payees among who gains and who loses (the columns are the plan's)."""
    if evaluation is None:
        return None
    return {
        **evaluation,
        "gains": [x for x in evaluation.get("gains", []) if x["payee"] in team],
        "losses": [x for x in evaluation.get("losses", []) if x["payee"] in team],
    }


def quota_drafts_for(engine: Engine, principal: Principal) -> list[QuotaDraft]:
    """Every quota draft, newest first (a manager: with their team's lines only)."""
    _require_reader(principal)
    return [_team_view(engine, principal, d) for d in planning.quota_drafts(engine)]


def quota_draft_for(engine: Engine, principal: Principal, scenario_id: int) -> QuotaDraft:
    _require_reader(principal)
    return _team_view(engine, principal, planning.quota_draft(engine, scenario_id))


def draft_quotas_for(engine: Engine, principal: Principal, params: QuotaParams, name: str) -> QuotaDraft:
    principal.require_write("making a quota draft")
    return planning.draft_quotas(engine, params, name=name, actor=principal.actor)


def decide_quotas_for(
    engine: Engine, principal: Principal, scenario_id: int, approve: bool, note: str | None = None
) -> QuotaDraft:
    """Approve or send back a draft: admin, comp analyst or a manager, never its author."""
    if not principal.may_write:
        if not principal.is_manager:
            principal.require_write("approving a quota draft")
        if "write" not in principal.scopes:
            raise Forbidden("approving a quota draft needs a token with the write scope; this one has read")
    return _team_view(engine, principal, planning.decide(engine, scenario_id, principal.actor, approve, note))


def publish_quotas_for(engine: Engine, principal: Principal, scenario_id: int, from_quarter: str | None = None) -> int:
    principal.require_write("publishing quotas")
    return planning.publish(engine, scenario_id, principal.actor, from_quarter)


def _require_evaluator(principal: Principal) -> None:
    if not principal.may_write:
        if not principal.is_manager:
            principal.require_write("evaluating a quota draft")
        if "write" not in principal.scopes:
            raise Forbidden("evaluating a quota draft needs a token with the write scope; this one has read")


def start_quota_evaluation_for(
    engine: Engine, queue: JobQueue, principal: Principal, scenario_id: int, basis_year: str | None = None
) -> JobView:
    """Queue the evaluation of a draft on a basis year's deals (a job; the evaluation is kept in the draft when it
    is done). Admin, comp analyst and managers may run it (a read of the engine, though it keeps its result);
    finance reads the kept result. The draft and basis are checked first (404, 422)."""
    _require_evaluator(principal)
    quota_draft_for(engine, principal, scenario_id)
    return submit_quota_evaluation(engine, queue, scenario_id, basis_year, principal.actor)


def quota_evaluation_jobs_for(engine: Engine, principal: Principal, scenario_id: int, limit: int = 3) -> list[JobView]:
    """The newest evaluation jobs of a draft, with their progress (whoever may read the draft)."""
    quota_draft_for(engine, principal, scenario_id)
    recent = jobs.jobs(engine, kind=QUOTAS, limit=200)[0]
    return [j for j in recent if j.params.get("scenario") == scenario_id][:limit]
