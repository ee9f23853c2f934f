"""`/api/v1/planning/territory-drafts`: territory drafts (list, one), a design started as a job (202), review
(approve, reject) and publish into the effective-dated account → territory rows.

Thin over `openspm.access.territory_drafts`. POST answers 202 with the job; follow it at GET /api/v1/jobs/{id}
until `result.scenario` names the draft. Amounts are exact decimal strings; the gap is a fraction.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import territory_drafts as access
from openspm.access.principal import Principal
from openspm.planning.territory_scenarios import TerritoryDraft, TerritoryParams
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, principal
from openspm.web.api.jobs import JobOut
from openspm.web.api.schemas import PageOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/planning", responses=ERRORS, tags=["planning"])
ScenarioId = Path(..., ge=1, le=2**31 - 1, description="The draft's id")


class MoveOut(BaseModel):
    account: str
    name: str
    source: str | None = Field(description="The territory it leaves (none: it had none)")
    target: str
    potential: Decimal


class TotalsOut(BaseModel):
    territory: str
    name: str
    accounts_before: int
    accounts: int
    before: dict[str, Decimal] = Field(description="Totals per measure before the moves")
    totals: dict[str, Decimal] = Field(description="Totals per measure after the moves")
    lower: dict[str, Decimal]
    upper: dict[str, Decimal]
    in_band_before: bool
    in_band: bool


class TerritoryDraftOut(BaseModel):
    id: int
    name: str
    on: date = Field(description="The day whose accounts and territories were read")
    status: str = Field(description="draft, approved, published or discarded")
    params: dict[str, Any]
    solve_status: str = Field(description="optimal, feasible, unbalanced or infeasible")
    solver: str
    solver_status: str
    objective_kind: str
    objective: Decimal
    bound: Decimal | None
    gap: float | None
    seconds: float
    accounts: int
    in_band: int = Field(description="Territories within the band after the moves")
    in_band_before: int
    moves: list[MoveOut]
    totals: list[TotalsOut]
    problems: list[str]
    created_by: str
    decided_by: str | None
    published_by: str | None
    effective_from: date | None


class TerritoryDraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    on: date = Field(description="Read the accounts and territories in effect on this day")
    tolerance: Decimal = Field(Decimal("0.05"), ge=0, lt=1, description="Each total within ± this of the mean")
    solver: str = Field("highs", pattern="^(highs|cpsat|greedy)$")
    time_limit: float = Field(60, gt=0, le=3600, description="Seconds")
    measures: list[str] = Field(default_factory=lambda: ["potential"], min_length=1, max_length=3)
    objective: str | None = Field(None, pattern="^(moves|moved_potential)$")
    parent: str | None = Field(None, max_length=128, description="Only the children of this territory")
    include_unassigned: bool = False


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_from: date = Field(description="The moves take effect on this day")


class PublishedOut(BaseModel):
    id: int
    moved: int = Field(description="Accounts moved")
    effective_from: date


def _out(draft: TerritoryDraft) -> dict[str, Any]:
    return {**asdict(draft), "in_band": draft.in_band, "in_band_before": draft.in_band_before}


@router.get("/territory-drafts", response_model=PageOut[TerritoryDraftOut])
def territory_drafts(
    request: Request, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)
) -> dict[str, Any]:
    """Territory drafts, newest first (reps: 403)."""
    return _page([_out(d) for d in access.territory_drafts_for(engine_of(request), who)], limit, offset)


@router.get("/territory-drafts/{scenario_id}", response_model=TerritoryDraftOut)
def territory_draft(request: Request, scenario_id: int = ScenarioId, who: Principal = Depends(principal)) -> Any:
    """One draft: summary, moves, totals per territory with their bands."""
    return _out(access.territory_draft_for(engine_of(request), who, scenario_id))


@router.post("/territory-drafts", response_model=JobOut, status_code=202, responses=WRITE_ERRORS)
def start_territory_design(request: Request, body: TerritoryDraftIn, who: Principal = Depends(principal)) -> Any:
    """Start a design as a job (admin, comp analyst); its `result.scenario` is the draft when it succeeds."""
    values = body.model_dump()
    name = values.pop("name") or f"territories on {body.on.isoformat()}"
    params = TerritoryParams(**{**values, "measures": tuple(body.measures)})
    return access.start_design_for(engine_of(request), queue_of(request), who, params, name)


@router.post("/territory-drafts/{scenario_id}/approve", response_model=TerritoryDraftOut, responses=WRITE_ERRORS)
def approve_territory_draft(
    request: Request, scenario_id: int = ScenarioId, body: DecisionIn | None = None, who: Principal = Depends(principal)
) -> Any:
    """Approve a draft (admin, comp analyst or manager; not its author)."""
    note = body.note if body else None
    return _out(access.decide_territories_for(engine_of(request), who, scenario_id, True, note))


@router.post("/territory-drafts/{scenario_id}/reject", response_model=TerritoryDraftOut, responses=WRITE_ERRORS)
def reject_territory_draft(
    request: Request, scenario_id: int = ScenarioId, body: DecisionIn | None = None, who: Principal = Depends(principal)
) -> Any:
    """Send a draft back: it is discarded."""
    note = body.note if body else None
    return _out(access.decide_territories_for(engine_of(request), who, scenario_id, False, note))


@router.post("/territory-drafts/{scenario_id}/publish", response_model=PublishedOut, responses=WRITE_ERRORS)
def publish_territory_draft(
    request: Request, body: PublishIn, scenario_id: int = ScenarioId, who: Principal = Depends(principal)
) -> PublishedOut:
    """Write an approved draft's moves from `effective_from` (admin, comp analyst); 409 for a closed month or a
    store that changed since the draft."""
    moved = access.publish_territories_for(engine_of(request), who, scenario_id, body.effective_from)
    return PublishedOut(id=scenario_id, moved=moved, effective_from=body.effective_from)
