"""Territory designs as jobs: `submit_design(engine, queue, params, name, actor)` queues a job that reads the store,
runs the greedy start and the exact solve within the time limit, and stores the draft, reporting each phase.

The job's params are the draft's (`on`, `tolerance`, `solver`, `time_limit`, `measures`, `objective`, `parent`,
`include_unassigned`) and its `name`; its result names the scenario made (`scenario`), its status and its moves.
Bad parameters are refused (422) before anything is queued.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView
from openspm.planning.territory_scenarios import TerritoryParams, check_params, draft_territories

KIND = "territory_design"


def _params_json(params: TerritoryParams) -> dict[str, Any]:
    values = asdict(params)
    values["on"] = params.on.isoformat()
    values["tolerance"] = format(params.tolerance, "f")
    values["measures"] = list(params.measures)
    return values


def params_of(values: dict[str, Any]) -> TerritoryParams:
    """The draft parameters a job was submitted with."""
    return TerritoryParams(
        on=date.fromisoformat(values["on"]),
        tolerance=Decimal(values["tolerance"]),
        solver=values["solver"],
        time_limit=float(values["time_limit"]),
        measures=tuple(values["measures"]),
        objective=values.get("objective"),
        parent=values.get("parent"),
        include_unassigned=bool(values.get("include_unassigned", False)),
    )


def submit_design(engine: Engine, queue: JobQueue, params: TerritoryParams, name: str, actor: str) -> JobView:
    """Queue a territory design; InvalidInput (422) for parameters no design could use."""
    check_params(params)
    job = service.submit(
        engine,
        KIND,
        {**_params_json(params), "name": name},
        actor,
        f"queued: territory design on {params.on.isoformat()} ({params.solver}, up to {params.time_limit:g} s)",
    )
    queue.enqueue(job.id)
    return job


@handler(KIND)
def design_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Draft the design; the result names the scenario (`scenario`), its solve status and its moves."""
    params = params_of(job.params)

    def say(fraction: float, text: str) -> None:
        progress(fraction, text, None)

    draft = draft_territories(engine, params, name=str(job.params["name"]), actor=job.requested_by, progress=say)
    return {
        "scenario": draft.id,
        "status": draft.solve_status,
        "moves": len(draft.moves),
        "in_band": draft.in_band,
        "territories": len(draft.totals),
        "message": f"draft {draft.id}: {draft.solve_status}, {len(draft.moves)} moves",
    }
