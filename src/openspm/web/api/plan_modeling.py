"""`/api/v1/plans/model`: plan models. POST starts one as a job (202); GET lists the models, GET one answers its
job (state, progress) with the comparison as `result` when it succeeded; its one-page report as PDF or HTML.

Thin over `openspm.access.plan_modeling` (admin, comp analyst, finance; others 403). Money in the result is exact
decimal text rounded to cents; statistics (shares, means of counts) are numbers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import plan_modeling as access
from openspm.access.principal import Principal
from openspm.insights import plan_model_report
from openspm.insights.plan_modeling import MAX_DRAWS, Candidate, ModelParams
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, json_errors, principal
from openspm.web.api.jobs import JobOut
from openspm.web.api.schemas import PageOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/plans/model", responses=ERRORS, tags=["plans"])
JobId = Path(..., ge=1, le=2**31 - 1, description="The model's job id")


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(..., min_length=1, max_length=100)
    text: str = Field(..., min_length=1, max_length=200_000, description="The plan YAML, checked like `plan check`")


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    plan: str = Field(..., min_length=1, max_length=128)
    start: str = Field(..., alias="from", description="First month, e.g. FY2026-M01")
    end: str = Field(..., alias="to", description="Last month, included")
    versions: list[int] = Field(default_factory=list, max_length=5, description="Stored versions as candidates")
    candidates: list[CandidateIn] = Field(default_factory=list, max_length=5)
    draws: int = Field(1000, ge=0, le=MAX_DRAWS)
    seed: int = Field(7, ge=0, le=2**31 - 1)
    method: str = Field("lognormal", pattern="^(lognormal|bootstrap)$")


@router.get("", response_model=PageOut[JobOut])
def plan_models(
    request: Request, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)
) -> dict[str, Any]:
    """Plan model jobs, newest first."""
    return _page(access.model_jobs_for(engine_of(request), who, limit=1000), limit, offset)


@router.post("", response_model=JobOut, status_code=202, responses=WRITE_ERRORS)
def start_plan_model(request: Request, body: ModelIn, who: Principal = Depends(principal)) -> Any:
    """Start a model as a job; follow it here or at /api/v1/jobs/{id}: `result` is the comparison."""
    engine = engine_of(request)
    access.require_modeler(who)
    candidates = access.candidates_of(engine, body.plan, body.versions, [])
    candidates += tuple(Candidate(c.label, c.text, "API") for c in body.candidates)
    params = ModelParams(
        body.plan, body.start, body.end, candidates, draws=body.draws, seed=body.seed, method=body.method
    )
    return access.start_model_for(engine, queue_of(request), who, params)


@router.get("/{job_id}", response_model=JobOut)
def plan_model(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Any:
    """One model: its job, and the comparison as `result` when it succeeded."""
    return access.model_job_for(engine_of(request), who, job_id)


@router.get(
    "/{job_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The report as an A4 PDF"}},
)
def plan_model_report_pdf(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Response:
    """The one-page report (A4 PDF, byte-identical when made again)."""
    job, result = access.finished_model_for(engine_of(request), who, job_id)
    return Response(plan_model_report.render_pdf(result, job.id), media_type="application/pdf")


@router.get("/{job_id}/report.html", response_class=HTMLResponse, responses=json_errors(ERRORS))
def plan_model_report_html(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Response:
    """The one-page report as HTML."""
    job, result = access.finished_model_for(engine_of(request), who, job_id)
    return HTMLResponse(plan_model_report.render_html(result, job.id))
