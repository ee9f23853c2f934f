"""`/api/v1` runs as jobs, jobs with their progress, a run's results, two runs compared, held earnings.

POST /runs answers 202 with the job; follow it at GET /jobs/{id} until `state` is `succeeded` (its `result.runs`
lists the runs made) or `failed` (`error` says why). Reading needs admin, comp_analyst or finance; starting a
run and releasing a hold need admin or comp_analyst (a token also the write scope).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from openspm.access import runs_admin as access
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, principal
from openspm.web.api.schemas import PageOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)
RunId = Path(..., ge=1, le=2**31 - 1, description="A run's id")
JobId = Path(..., ge=1, le=2**31 - 1, description="A job's id")


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not hold a NUL character")
    return value


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(
        min_length=1, max_length=32, description="A month, quarter or year", examples=["FY2025-M03", "FY2025-Q1"]
    )

    _nul = field_validator("period")(classmethod(lambda cls, v: _no_nul(v)))


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str = Field(description="What the job does: run, territory_design, quota_evaluation or scenario_evaluation")
    params: dict[str, Any] = Field(description="For a run: period, months (in order), skipped (closed months)")
    state: str = Field(description="queued, running, succeeded or failed")
    progress: Decimal = Field(description="How far it is: 0 to 1")
    message: str = Field(description="What it is doing now")
    result: dict[str, Any] | None = Field(description="For a run: runs (ids), months (month, run, total)")
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None


class ComponentTotalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    component: str
    currency: str
    amount: Decimal
    payees: int


class IssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    stage: str
    reason: str
    count: int
    example: str


class RunDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    period: str
    status: str
    engine: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    plans: dict[str, int] = Field(description="Plan id → version used")
    inputs: dict[str, Any] = Field(description="Rows read per table, the newest import batch, payments written")
    timings: dict[str, float] = Field(description="Seconds per stage")
    payees_asked: list[str] | None
    error: str | None
    stands_for_month: bool = Field(description="Whether the month's statements and exports come from this run")
    components: list[ComponentTotalOut]
    totals: dict[str, Decimal] = Field(description="Earned, per plan currency")
    paid: dict[str, Decimal] = Field(description="Paid, per pay currency")
    payees: int
    issues: list[IssueOut] = Field(description="Issues counted by stage and reason (the 50 most frequent)")
    issue_total: int


class ComponentChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    component: str
    before: Decimal
    after: Decimal
    change: Decimal


class PayeeChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    payee: str
    name: str
    change: Decimal
    components: list[ComponentChangeOut]


class DiffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    run_a: int
    run_b: int
    period_a: str
    period_b: str
    payees_compared: int
    total_before: Decimal
    total_after: Decimal
    total_change: Decimal
    payees: list[PayeeChangeOut] = Field(description="The payees whose earnings changed, largest change first")


class HeldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    payee: str
    payee_name: str
    component: str
    earned_in: str = Field(description="The month it was earned")
    amount: Decimal = Field(description="Plan currency")
    currency: str
    until: str = Field(description="payment_received, plan_accepted or manual (only manual holds release by hand)")
    as_of: str = Field(description="The month whose payments carry it")
    run_id: int
    released_in: str | None = Field(description="Released by hand into this month; paid when that month runs")
    released_by: str | None


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=128)
    payee: str = Field(min_length=1, max_length=128)
    component: str = Field(min_length=1, max_length=64)
    earned_in: str = Field(min_length=1, max_length=32, examples=["FY2025-M03"])
    into: str = Field(min_length=1, max_length=32, description="The open month it is paid in")
    note: str | None = Field(None, max_length=2000)

    _nul = field_validator("plan", "payee", "component", "earned_in", "into", "note")(
        classmethod(lambda cls, v: _no_nul(v))
    )


@router.post("/runs", response_model=JobOut, status_code=202, tags=["runs"], responses=WRITE_ERRORS)
def start_run(request: Request, body: RunIn, who: Principal = Depends(principal)) -> Any:
    """Start a run of a month, or of every open month of a quarter or year, as a background job (202 with the
    job). 409 when every month is closed or one is already being calculated."""
    return access.start_run_for(engine_of(request), queue_of(request), who, body.period)


@router.get("/jobs", response_model=PageOut[JobOut], tags=["runs"])
def list_jobs(
    request: Request,
    state: str | None = Query(None, pattern="^(queued|running|succeeded|failed)$"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Background jobs, newest first, with their state and progress."""
    items, total = access.jobs_for(engine_of(request), who, state, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["runs"])
def get_job(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Any:
    """A job: state, progress (0 to 1), what it is doing, and its result (the runs it made) or error."""
    return access.job_for(engine_of(request), who, job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, tags=["runs"], responses=WRITE_ERRORS)
def cancel_job(request: Request, job_id: int = JobId, who: Principal = Depends(principal)) -> Any:
    """Mark a queued or running job failed ("cancelled by ..."; audited): the way out when the process running
    it died. A month already under way still finishes; 409 when the job is done."""
    return access.cancel_job_for(engine_of(request), who, job_id)


@router.get("/runs/{run_id}", response_model=RunDetailOut, tags=["runs"])
def get_run(request: Request, run_id: int = RunId, who: Principal = Depends(principal)) -> Any:
    """A run's results: status, plan versions, input counts, stage timings, totals by component and currency,
    payments by pay currency, issues by reason."""
    return RunDetailOut.model_validate(access.run_for(engine_of(request), who, run_id))


@router.get("/runs/{run_a}/diff/{run_b}", response_model=DiffOut, tags=["runs"])
def diff_runs(
    request: Request,
    run_a: int = Path(..., ge=1, le=2**31 - 1, description="The run before"),
    run_b: int = Path(..., ge=1, le=2**31 - 1, description="The run after"),
    who: Principal = Depends(principal),
) -> Any:
    """Two completed runs compared: who changed, by how much, in which component (largest change first)."""
    return DiffOut.model_validate(access.run_diff_for(engine_of(request), who, run_a, run_b))


@router.get("/holds", response_model=PageOut[HeldOut], tags=["holds"])
def list_holds(
    request: Request,
    payee: str | None = Query(None, min_length=1, max_length=128),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Earnings held now: who, month earned, component, amount and the condition that releases them."""
    return _page(access.holds_for(engine_of(request), who, payee), limit, offset)


@router.post("/holds/release", response_model=HeldOut, tags=["holds"], responses=WRITE_ERRORS)
def release_hold(request: Request, body: ReleaseIn, who: Principal = Depends(principal)) -> Any:
    """Release a held `until: manual` earning into an open month (paid when that month runs next; audited)."""
    return access.release_hold_for(engine_of(request), who, **body.model_dump())
