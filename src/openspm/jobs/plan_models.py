"""Plan modeling as a job: `submit_model(engine, queue, params, actor)` queues a job that replays the plan's
baseline and candidate versions on history and Monte Carlo draws (`insights.plan_modeling.model_plan`), reporting
each month and draw; its result is the comparison (`model_json`). Bad parameters (an unknown month, a candidate the
plan checker refuses, a document of another plan) are refused (422/404) before anything is queued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.insights.plan_modeling import ModelParams, check_params, model_json, model_plan, params_json, params_of
from openspm.insights.plan_modeling import window as month_window
from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView

KIND = "plan_model"


def submit_model(engine: Engine, queue: JobQueue, params: ModelParams, actor: str) -> JobView:
    """Queue a plan model; InvalidInput (422) or NotFound (404) for parameters no model could use."""
    check_params(params)
    with Session(engine) as session:
        month_window(session, params.start, params.end)
    job = service.submit(
        engine,
        KIND,
        params_json(params),
        actor,
        f"queued: {params.plan} {params.start}..{params.end}, {len(params.candidates)} candidate(s), "
        f"{params.draws} draws",
    )
    queue.enqueue(job.id)
    return job


@handler(KIND)
def model_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Model the plan; the result is the comparison (`model_json`)."""
    params = params_of(job.params)

    def say(fraction: float, text: str) -> None:
        progress(min(fraction, 0.99), text, None)

    result = model_json(model_plan(engine, params, say))
    result["message"] = f"{params.plan}: {len(params.candidates)} candidate(s) over {len(result['months'])} months"
    return result
