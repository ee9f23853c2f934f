"""`/api/v1/planning/scenario-evaluations`: evaluate a whole planning scenario (a quota draft, a territory draft,
a candidate plan version, any of them together) as a job, read evaluations, and compare several.

POST answers 202 with the job; follow it at GET /api/v1/planning/scenario-evaluations/{id} until `state` is
`succeeded` (`result` holds both columns, the histograms, who gains and loses and every payee's cost) or `failed`
(`error`). Thin over `openspm.access.scenario_evaluations`: admin, comp analyst and finance start evaluations (a
token needs the write scope), managers read them (their team's payees only), reps get 403. Money is exact
decimal strings; attainments and cost of sales are fractions (binary floating point).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from openspm.access import scenario_evaluations as access
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, principal
from openspm.web.api.jobs import JobOut
from openspm.web.api.schemas import PageOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/planning", responses=ERRORS, tags=["planning"])
JobId = Path(..., ge=1, le=2**31 - 1, description="The evaluation's job id")


class ScenarioEvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="Default: the parts' names")
    quota_draft: int | None = Field(None, ge=1, le=2**31 - 1, description="A quota draft's id")
    territory_draft: int | None = Field(None, ge=1, le=2**31 - 1, description="A territory draft's id")
    plan_text: str | None = Field(
        None, max_length=1_000_000, description="A candidate plan version as YAML (checked like `openspm plan check`)"
    )
    plan_version: str | None = Field(
        None, max_length=200, description="Or a stored version as the candidate: plan:version, e.g. ae-commission:2"
    )
    basis: str | None = Field(None, min_length=1, max_length=32, description="The fiscal year replayed, e.g. FY2025")
    months: list[str] = Field(default_factory=list, max_length=24, description="Only these months of the basis")
    plan: str | None = Field(None, max_length=128, description="The plan to report (default: the drafts' or the only)")
    measure: str | None = Field(None, max_length=64, description="The measure to report (default: the plan's first)")

    @field_validator("name", "plan_text", "plan_version", "basis", "plan", "measure", "months")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("must not hold a NUL character")
        return value


class ColumnOut(BaseModel):
    label: str
    job: int | None = Field(description="The evaluation (null: the baseline)")
    quota: Decimal
    cost: Decimal = Field(description="Compensation cost in the plan currency")
    revenue: Decimal
    cost_of_sales: float | None
    attainment: dict[str, Any]
    histogram: list[int] = Field(description="Payees per attainment bucket (see labels)")
    quota_change: Decimal
    cost_change: Decimal
    cost_of_sales_change: float | None


class PayeeOut(BaseModel):
    payee: str
    name: str
    baseline: Decimal
    scenarios: list[Decimal] = Field(description="The payee's cost in each scenario, in column order")
    changes: list[Decimal]


class ComparisonOut(BaseModel):
    plan: str
    measure: str
    currency: str
    basis: str
    months: list[str]
    columns: list[ColumnOut] = Field(description="The baseline, then each scenario")
    payees: list[PayeeOut] = Field(description="Who gains and loses most in any scenario")
    same_baseline: bool = Field(description="False: the store changed between the evaluations")
    labels: list[str] = Field(description="The attainment buckets")


@router.post("/scenario-evaluations", response_model=JobOut, status_code=202, responses=WRITE_ERRORS)
def start_scenario_evaluation(request: Request, body: ScenarioEvaluationIn, who: Principal = Depends(principal)) -> Any:
    """Check the scenario (422, 404 before anything is queued) and evaluate it as a job (admin, comp analyst,
    finance)."""
    return access.start_scenario_evaluation_for(engine_of(request), queue_of(request), who, body.model_dump())


@router.get("/scenario-evaluations", response_model=PageOut[JobOut])
def scenario_evaluations(
    request: Request, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)
) -> dict[str, Any]:
    """Scenario evaluations, newest first, with their state, progress and result."""
    rows, total = access.scenario_evaluations_for(engine_of(request), who, limit, offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/scenario-evaluations/compare", response_model=ComparisonOut, responses=WRITE_ERRORS)
def compare_scenario_evaluations(
    request: Request,
    job: list[int] = Query(..., min_length=1, max_length=6, description="Finished evaluations, in column order"),
    who: Principal = Depends(principal),
) -> Any:
    """Finished evaluations side by side on one basis: totals, changes from the baseline, histograms, who gains
    and loses (409 for one not finished, 422 for different plans, measures or months)."""
    comparison, _jobs = access.compare_for(engine_of(request), who, job)
    return asdict(comparison)


@router.get("/scenario-evaluations/{job_id}", response_model=JobOut)
def scenario_evaluation(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Any:
    """One evaluation: its state and progress, and its result when it has succeeded."""
    return access.scenario_evaluation_for(engine_of(request), who, job_id)
