"""Who may run and read evaluations of whole planning scenarios (quota draft + territory draft + candidate plan).

Admin, comp analyst and finance run evaluations (each is a read of the engine that stores only its job; a token
needs the write scope to start one) and read every evaluation whole. Managers read evaluations with only their
team's payees among the per-payee costs, gains and losses (the totals are the plan's). Reps have no access (403).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import visible_external_ids
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.jobs import service as jobs
from openspm.jobs.planning_evaluations import SCENARIO, submit_scenario_evaluation
from openspm.jobs.queue import JobQueue
from openspm.jobs.service import JobView
from openspm.planning.scenario_evaluation import Choice, Comparison, compare_evaluations, scenario_choices
from openspm.plans.service import plan_version

RUNNERS = frozenset({"admin", "comp_analyst", "finance"})
MAX_COMPARED = 6


def require_reader(principal: Principal) -> None:
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("scenario evaluations are for admin, comp_analyst, finance and manager users")


def may_run(principal: Principal) -> bool:
    return bool(principal.roles & RUNNERS) and "write" in principal.scopes


def require_runner(principal: Principal) -> None:
    if not principal.roles & RUNNERS:
        roles = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(
            f"evaluating a scenario needs the admin, comp_analyst or finance role; {principal.email} has {roles}"
        )
    if "write" not in principal.scopes:
        raise Forbidden("evaluating a scenario needs a token with the write scope; this token has read only")


def _team_view(engine: Engine, principal: Principal, job: JobView) -> JobView:
    """A manager's view: per-payee costs, gains, losses and names of their team only (as of the basis year)."""
    if principal.sees_all or not job.result or "per_payee" not in job.result:
        return job
    result = job.result
    with Session(engine) as session:
        team = visible_external_ids(session, principal, result.get("basis")) or set()

    def only(rows: dict[str, Any]) -> dict[str, Any]:
        return {p: v for p, v in rows.items() if p in team}

    kept: dict[str, Any] = {
        **result,
        "gains": [x for x in result.get("gains", []) if x["payee"] in team],
        "losses": [x for x in result.get("losses", []) if x["payee"] in team],
        "per_payee": {k: only(v) for k, v in result["per_payee"].items()},
        "names": only(result.get("names", {})),
    }
    return replace(job, result=kept)


def choices_for(engine: Engine, principal: Principal) -> dict[str, list[Choice]]:
    """The drafts, plan versions and years a scenario can be made of."""
    require_reader(principal)
    return scenario_choices(engine)


def _candidate(engine: Engine, values: dict[str, Any]) -> dict[str, Any]:
    """The values with a stored plan version (`plan_version`: "plan:version") turned into its document text."""
    chosen = str(values.get("plan_version") or "").strip()
    rest = {k: v for k, v in values.items() if k != "plan_version"}
    if not chosen:
        if rest.get("plan_text"):
            rest["plan_source"] = "pasted YAML"
        return rest
    if rest.get("plan_text"):
        raise InvalidInput("give the candidate plan as a stored version or as YAML, not both")
    plan, _, number = chosen.rpartition(":")
    if not plan or not number.isdigit():
        raise InvalidInput(f"plan version {chosen!r}: expected plan:version, e.g. ae-commission:2")
    version = plan_version(engine, plan, int(number))
    if not version.document:
        raise InvalidInput(f"{plan} version {number} has no document to evaluate")
    return {**rest, "plan_text": version.document, "plan_source": f"{plan} v{number}"}


def start_scenario_evaluation_for(
    engine: Engine, queue: JobQueue, principal: Principal, values: dict[str, Any]
) -> JobView:
    """Check a scenario and queue its evaluation (admin, comp analyst, finance). `values`: see
    `jobs.planning_evaluations`; a candidate plan as YAML (`plan_text`) or a stored version (`plan_version`)."""
    require_runner(principal)
    return submit_scenario_evaluation(engine, queue, _candidate(engine, values), principal.actor)


def scenario_evaluations_for(
    engine: Engine, principal: Principal, limit: int = 20, offset: int = 0
) -> tuple[list[JobView], int]:
    """The newest scenario evaluations (their jobs: state, progress, result), and how many there are."""
    require_reader(principal)
    rows, total = jobs.jobs(engine, kind=SCENARIO, limit=limit, offset=offset)
    return [_team_view(engine, principal, j) for j in rows], total


def scenario_evaluation_for(engine: Engine, principal: Principal, job_id: int) -> JobView:
    """One scenario evaluation (NotFound for another kind of job)."""
    require_reader(principal)
    job = jobs.get(engine, job_id)
    if job.kind != SCENARIO:
        raise NotFound(f"job {job_id} is not a scenario evaluation")
    return _team_view(engine, principal, job)


def compare_for(engine: Engine, principal: Principal, job_ids: list[int]) -> tuple[Comparison, list[JobView]]:
    """Evaluations side by side (baseline, then each in the order given): each must have succeeded (409)."""
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        raise InvalidInput("pick at least one evaluated scenario to compare")
    if any(not 1 <= i < 2**31 for i in ids):
        raise NotFound(f"unknown evaluation {next(i for i in ids if not 1 <= i < 2**31)}")
    if len(ids) > MAX_COMPARED:
        raise InvalidInput(f"compare at most {MAX_COMPARED} evaluations at once")
    chosen = [scenario_evaluation_for(engine, principal, i) for i in ids]
    for job in chosen:
        if job.state != "succeeded" or not job.result:
            raise Conflict(f"evaluation {job.id} is {job.state}, not finished with a result: compare finished ones")
    return compare_evaluations(
        [(j.id, str(j.params.get("name") or f"#{j.id}"), j.result or {}) for j in chosen]
    ), chosen
