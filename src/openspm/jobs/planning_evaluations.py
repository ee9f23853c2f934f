"""Planning evaluations as jobs: a whole planning scenario (`scenario_evaluation`) and a quota draft's connected
evaluation (`quota_evaluation`), each replaying a basis year's months through the engine that pays (a minute or
two on the demo), reporting each month.

- `submit_scenario_evaluation(engine, queue, values, actor)`: `values` are `evaluate_scenario`'s arguments
  (`quota_draft`, `territory_draft`, `plan_text`, `basis`, `months`, `plan`, `measure`) with a `name` and, for a
  stored plan version used as the candidate, `plan_source`; everything is checked (`prepare_scenario`) before
  the job is queued (422/404 then). The result is `evaluation_result` (totals, histograms, every payee's cost).
- `submit_quota_evaluation(engine, queue, scenario_id, basis, actor)`: checks the draft and basis, then the job
  evaluates it and keeps the evaluation in the draft (as `save_evaluation`, by the submitter); its result names
  the draft (`scenario`), the basis and the draft's cost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView
from openspm.planning.evaluation import check_quota_evaluation, evaluate_quota_draft, figures_json, save_evaluation
from openspm.planning.scenario_evaluation import evaluation_result, prepare_scenario, replay_scenario

SCENARIO = "scenario_evaluation"
QUOTAS = "quota_evaluation"
FIELDS = ("name", "quota_draft", "territory_draft", "plan_text", "plan_source", "basis", "months", "plan", "measure")


def _months(count: int) -> str:
    return f"{count} month" if count == 1 else f"{count} months"


def _prepare(engine: Engine, values: dict[str, Any]) -> Any:
    return prepare_scenario(
        engine,
        quota_draft=values.get("quota_draft"),
        territory_draft=values.get("territory_draft"),
        plan_text=values.get("plan_text"),
        basis_year=values.get("basis"),
        months=values.get("months") or None,
        plan=values.get("plan"),
        measure=values.get("measure"),
    )


def submit_scenario_evaluation(engine: Engine, queue: JobQueue, values: dict[str, Any], actor: str) -> JobView:
    """Check a scenario and queue its evaluation (InvalidInput 422, NotFound 404 before anything is queued)."""
    params = {k: values.get(k) for k in FIELDS}
    setup = _prepare(engine, params)
    params["name"] = (params.get("name") or "").strip() or " + ".join(setup.parts.values())
    params["basis"] = setup.basis
    job = service.submit(
        engine,
        SCENARIO,
        params,
        actor,
        f"queued: {params['name']} on {setup.basis} ({_months(len(setup.months))}, {setup.plan} · {setup.measure})",
    )
    queue.enqueue(job.id)
    return job


@handler(SCENARIO)
def scenario_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Prepare the scenario again (the store may have moved since it was queued) and replay it."""
    setup = _prepare(engine, job.params)

    def on_month(done: int, total: int, text: str) -> None:
        progress(done / total if total else 1.0, text, None)

    evaluation = replay_scenario(engine, setup, on_month)
    cost = ", ".join(f"{v:,} {k}" for k, v in evaluation.scenario.cost.items()) or "0"
    return {**evaluation_result(evaluation), "message": f"evaluated on {evaluation.basis}: cost {cost}"}


def submit_quota_evaluation(
    engine: Engine, queue: JobQueue, scenario_id: int, basis: str | None, actor: str
) -> JobView:
    """Check a quota draft and its basis, then queue its evaluation (NotFound, InvalidInput before queuing)."""
    year, months = check_quota_evaluation(engine, scenario_id, basis)
    job = service.submit(
        engine,
        QUOTAS,
        {"scenario": scenario_id, "basis": year},
        actor,
        f"queued: quota draft {scenario_id} on {year} ({_months(len(months))})",
    )
    queue.enqueue(job.id)
    return job


@handler(QUOTAS)
def quota_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Evaluate the draft and keep the evaluation in it, by whoever submitted the job."""
    scenario_id = int(job.params["scenario"])

    def on_month(done: int, total: int, text: str) -> None:
        progress(done / total if total else 1.0, text, None)

    evaluation = evaluate_quota_draft(engine, scenario_id, job.params.get("basis"), on_month=on_month)
    save_evaluation(engine, evaluation, job.requested_by)
    draft = figures_json(evaluation.drafts[scenario_id])
    return {
        "scenario": scenario_id,
        "basis": evaluation.basis,
        "months": len(evaluation.months),
        "cost": draft["cost"],
        "message": f"evaluated on {evaluation.basis}'s deals ({_months(len(evaluation.months))})",
    }
