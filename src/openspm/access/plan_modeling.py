"""Who may model plans: admin, comp analyst and finance (the people who price a plan change) start models and
read their results; managers and reps get 403 (a model shows every payee's pay under each version).

A model reads only: it writes a job and its result, never a plan, a run or a payment, so finance (read-only
elsewhere) may start one too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput, NotFound
from openspm.insights.plan_modeling import Candidate, ModelParams, PlanModel, model_plan, stored_candidate
from openspm.jobs import service as jobs
from openspm.jobs.plan_models import KIND, submit_model
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.plans import service as plans


def require_modeler(principal: Principal) -> None:
    if not principal.sees_all:
        raise Forbidden("plan modeling is for admin, comp_analyst and finance users")


def candidates_of(
    engine: Engine, plan: str, versions: list[int], texts: list[str], labels: list[str] | None = None
) -> tuple[Candidate, ...]:
    """Candidates from stored version numbers and pasted YAML (labelled `candidate 1`, ... unless named)."""
    found = [stored_candidate(engine, plan, v) for v in versions]
    for i, text in enumerate(t for t in texts if t.strip()):
        label = labels[i] if labels and i < len(labels) and labels[i] else f"candidate {i + 1}"
        found.append(Candidate(label, text, "pasted YAML"))
    return tuple(found)


def model_options_for(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    """The plans and their stored versions, for the form."""
    require_modeler(principal)
    return [
        {"plan": p.plan, "name": p.name, "versions": [v.version for v in plans.plan_versions(engine, p.plan)]}
        for p in plans.list_plans(engine)
    ]


def start_model_for(engine: Engine, queue: JobQueue, principal: Principal, params: ModelParams) -> JobView:
    """Queue a plan model (admin, comp analyst, finance)."""
    require_modeler(principal)
    return submit_model(engine, queue, params, principal.actor)


def model_plan_for(engine: Engine, principal: Principal, params: ModelParams) -> PlanModel:
    """Model in the caller's process (the CLI)."""
    require_modeler(principal)
    return model_plan(engine, params)


def model_jobs_for(engine: Engine, principal: Principal, limit: int = 10) -> list[JobView]:
    """The newest plan model jobs, with their progress."""
    require_modeler(principal)
    return jobs.jobs(engine, kind=KIND, limit=limit)[0]


def model_job_for(engine: Engine, principal: Principal, job_id: int) -> JobView:
    """One plan model job (NotFound for a job of another kind)."""
    require_modeler(principal)
    job = jobs.get(engine, job_id)
    if job.kind != KIND:
        raise NotFound(f"job {job_id} is not a plan model")
    return job


def finished_model_for(engine: Engine, principal: Principal, job_id: int) -> tuple[JobView, dict[str, Any]]:
    """A plan model job that succeeded, and its result (InvalidInput while it runs or when it failed)."""
    job = model_job_for(engine, principal, job_id)
    if job.state != "succeeded" or job.result is None:
        raise InvalidInput(f"plan model {job_id} is {job.state}: its report is made when it succeeds")
    return job, job.result
