"""`/api/v1/planning/quota-drafts`: quota drafts (list, one, make), review (approve, reject) and publish,
and the connected evaluation started as a job (202; follow it at `.../evaluations`).

Thin over `openspm.access.planning`. Amounts are exact decimal strings; the fairness figures are probabilities
and attainments (fractions, binary floating point).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import planning as access
from openspm.access.principal import Principal
from openspm.planning.quotas import QuotaDraft, QuotaParams
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, principal
from openspm.web.api.jobs import JobOut
from openspm.web.api.schemas import PageOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/planning", responses=ERRORS, tags=["planning"])
ScenarioId = Path(..., ge=1, le=2**31 - 1, description="The draft's id")


class QuotaLineOut(BaseModel):
    payee: str
    name: str
    presence: Decimal = Field(description="Share of the year's months employed")
    potential: Decimal
    history: Decimal = Field(description="Last year's measure")
    previous: Decimal | None = Field(description="Last year's quota")
    weight: Decimal
    annual: Decimal = Field(description="The new quota for the year")
    quarters: dict[str, Decimal]
    capped: str | None = Field(description="floor or ceiling when the change cap held the quota")
    projected_attainment: Decimal | None
    ramp: dict[str, Decimal] = Field(default_factory=dict, description="Quarter → average ramp factor (new hires)")
    level: int | None = Field(None, description="A rolled-up manager's level (1 = manages reps); null for reps")


class FairnessOut(BaseModel):
    payees: int
    mean: float
    sd: float
    share_at_quota: float = Field(description="Simulated share of payees at or above quota")
    share_at_quota_normal: float
    percentiles: dict[str, float]
    by_over_assignment: dict[str, float]


class QuotaDraftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    year: str
    status: str = Field(description="draft, approved, published or discarded")
    street: Decimal
    allocated: Decimal
    unallocated: Decimal
    lines: list[QuotaLineOut]
    fairness: FairnessOut | None
    created_by: str
    decided_by: str | None
    published_by: str | None
    evaluation: dict[str, Any] | None = Field(
        None, description="The latest connected evaluation: baseline and draft side by side (money as strings)"
    )


class QuotaDraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    year: str = Field(..., min_length=1, max_length=32, description="e.g. FY2026")
    plan: str = Field(..., min_length=1, max_length=128)
    measure: str = Field("bookings", min_length=1, max_length=64)
    target: Decimal = Field(..., ge=0, le=Decimal("1e15"), description="The company plan for the year")
    uncovered: Decimal = Field(Decimal(0), ge=0, le=Decimal("1e15"))
    over_assignment: Decimal = Field(Decimal("1.1"), gt=0, le=10)
    alpha: Decimal = Field(Decimal("0.6"), ge=0, le=1)
    max_change: Decimal | None = Field(None, ge=0, le=100)
    seasonality: list[Decimal] = Field(default_factory=list, max_length=4)
    scale: int = Field(0, ge=-9, le=6)
    ramp: list[Decimal] = Field(
        default_factory=list, max_length=36, description="New-hire factors by tenure month, e.g. [0.25, 0.5, 0.75]"
    )
    managers_over: Decimal | None = Field(
        None, gt=0, le=10, description="Managers get their team's quotas × this per level (null: no manager lines)"
    )
    managers_plan: str | None = Field(None, max_length=128, description="The managers' plan (default: --plan's)")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_quarter: str | None = Field(None, max_length=32, description="Only this quarter and later")


class PublishedOut(BaseModel):
    id: int
    quotas: int = Field(description="Quota rows written")


def _out(draft: QuotaDraft) -> dict[str, Any]:
    return asdict(draft)


@router.get("/quota-drafts", response_model=PageOut[QuotaDraftOut])
def quota_drafts(
    request: Request, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)
) -> dict[str, Any]:
    """Quota drafts, newest first (a manager: with their team's lines only; reps: 403)."""
    return _page([_out(d) for d in access.quota_drafts_for(engine_of(request), who)], limit, offset)


@router.get("/quota-drafts/{scenario_id}", response_model=QuotaDraftOut)
def quota_draft(request: Request, scenario_id: int = ScenarioId, who: Principal = Depends(principal)) -> Any:
    """One draft with its lines and fairness check."""
    return _out(access.quota_draft_for(engine_of(request), who, scenario_id))


@router.post("/quota-drafts", response_model=QuotaDraftOut, status_code=201, responses=WRITE_ERRORS)
def make_quota_draft(request: Request, body: QuotaDraftIn, who: Principal = Depends(principal)) -> Any:
    """Make a draft (admin, comp analyst): street quota split by blended weights, capped, by season."""
    values = body.model_dump()
    name = values.pop("name") or f"{body.year} {body.plan} {body.measure}"
    params = QuotaParams(**{**values, "seasonality": tuple(body.seasonality), "ramp": tuple(body.ramp)})
    return _out(access.draft_quotas_for(engine_of(request), who, params, name))


@router.post("/quota-drafts/{scenario_id}/approve", response_model=QuotaDraftOut, responses=WRITE_ERRORS)
def approve_quota_draft(
    request: Request, scenario_id: int = ScenarioId, body: DecisionIn | None = None, who: Principal = Depends(principal)
) -> Any:
    """Approve a draft (admin, comp analyst or manager; not its author)."""
    return _out(access.decide_quotas_for(engine_of(request), who, scenario_id, True, body.note if body else None))


@router.post("/quota-drafts/{scenario_id}/reject", response_model=QuotaDraftOut, responses=WRITE_ERRORS)
def reject_quota_draft(
    request: Request, scenario_id: int = ScenarioId, body: DecisionIn | None = None, who: Principal = Depends(principal)
) -> Any:
    """Send a draft back: it is discarded."""
    return _out(access.decide_quotas_for(engine_of(request), who, scenario_id, False, body.note if body else None))


@router.post("/quota-drafts/{scenario_id}/publish", response_model=PublishedOut, responses=WRITE_ERRORS)
def publish_quota_draft(
    request: Request, scenario_id: int = ScenarioId, body: PublishIn | None = None, who: Principal = Depends(principal)
) -> PublishedOut:
    """Write an approved draft's quotas (admin, comp analyst); 409 for a quarter with a closed month."""
    written = access.publish_quotas_for(engine_of(request), who, scenario_id, body.from_quarter if body else None)
    return PublishedOut(id=scenario_id, quotas=written)


class EvaluateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    basis: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="The fiscal year whose deals are replayed; default the one before",
    )


@router.post("/quota-drafts/{scenario_id}/evaluate", response_model=JobOut, status_code=202, responses=WRITE_ERRORS)
def evaluate_quota_draft(
    request: Request, scenario_id: int = ScenarioId, body: EvaluateIn | None = None, who: Principal = Depends(principal)
) -> Any:
    """Start the draft's connected evaluation as a job (admin, comp analyst, manager): the basis year's months
    replayed through the engine with the draft's quotas and with the quotas as they stand. The draft and basis
    are checked first (404, 422). Follow it at GET .../evaluations; when it has succeeded the draft's
    `evaluation` holds cost per currency, revenue, cost of sales, attainment distribution, who gains and loses."""
    basis = body.basis if body else None
    return access.start_quota_evaluation_for(engine_of(request), queue_of(request), who, scenario_id, basis)


@router.get("/quota-drafts/{scenario_id}/evaluations", response_model=list[JobOut])
def quota_draft_evaluations(
    request: Request, scenario_id: int = ScenarioId, who: Principal = Depends(principal)
) -> Any:
    """The draft's newest evaluation jobs (state, progress, message; `result.basis` and the draft's cost)."""
    return access.quota_evaluation_jobs_for(engine_of(request), who, scenario_id, limit=10)
