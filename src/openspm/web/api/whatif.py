"""`/api/v1/what-if`: a payee's open deals, the earnings change if chosen deals closed (computed by the engine
that pays, per month and component, with what a discount costs), and the ranking of open deals by expected
earnings as a background job (202; follow it at GET /api/v1/what-if/ranking/{id}).

Thin over `openspm.access.whatif`: a rep for themselves, a manager for their team, admin, comp analyst and
finance for anyone. Amounts are exact decimal strings; reads only (no write scope needed).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from openspm.access import whatif as access
from openspm.access.principal import Principal
from openspm.insights.whatif import deal_json, what_if_json
from openspm.web.api.endpoints import ERRORS, principal
from openspm.web.api.jobs import JobOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/what-if", responses=ERRORS, tags=["insights"])


class DealIn(BaseModel):
    """A typed-in deal."""

    account: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")
    product: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")
    amount: Decimal = Field(gt=0, lt=Decimal("1e15"), description="List amount, before the discount")
    close_date: date
    discount: Decimal = Field(default=Decimal(0), ge=0, lt=100, description="Percent off the list amount")
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$", description="Default: the account's")


class WhatIfIn(BaseModel):
    payee: str | None = Field(default=None, max_length=128, pattern=r"^[^\x00]*$", description="Default: yours")
    opportunities: list[str] = Field(default_factory=list, max_length=200, description="Open opportunity ids")
    deals: list[DealIn] = Field(default_factory=list, max_length=50, description="Typed-in deals")
    close_on: date | None = Field(default=None, description="Close every chosen opportunity on this day instead")
    discount: Decimal = Field(default=Decimal(0), ge=0, lt=100, description="Percent off the chosen opportunities")


class RankingIn(BaseModel):
    payee: str | None = Field(default=None, max_length=128, pattern=r"^[^\x00]*$", description="Default: yours")
    close_on: date | None = Field(default=None, description="Close every open deal on this day instead")
    probabilities: dict[str, Decimal] | None = Field(
        default=None,
        description="Opportunity id → win probability (0 to 1); default: the calibrated model's (else the stored one)",
    )


@router.get("/deals")
def open_deals(
    request: Request,
    payee: str | None = Query(default=None, max_length=128),
    close_on: date | None = None,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The payee's open opportunities as the deals a what-if would book (product, list amount, close date)."""
    name, deals = access.open_deals_for(engine_of(request), who, payee, close_on.isoformat() if close_on else None)
    return {"payee": name, "deals": [deal_json(d) for d in deals]}


@router.post("")
def what_if(request: Request, body: WhatIfIn, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The payee's earnings change if the chosen open deals and typed-in deals closed: per month and component
    (before, at list price, after, change, discount cost, the trace values that changed), and who each deal
    credited. Nothing is stored."""
    hypothetical = [
        access.HypotheticalIn(
            d.account, d.product, str(d.amount), d.close_date.isoformat(), str(d.discount), d.currency
        )
        for d in body.deals
    ]
    result = access.what_if_for(
        engine_of(request),
        who,
        body.payee,
        body.opportunities,
        hypothetical,
        body.close_on.isoformat() if body.close_on else None,
        str(body.discount),
    )
    return what_if_json(result)


@router.post("/ranking", response_model=JobOut, status_code=202)
def start_ranking(request: Request, body: RankingIn, who: Principal = Depends(principal)) -> Any:
    """Rank the payee's open deals by expected earnings (probability × (marginal earnings + renewal value)) as a
    background job (202 with the job); `result.deals` holds the ranking when it succeeds."""
    return access.start_ranking_for(
        engine_of(request),
        queue_of(request),
        who,
        body.payee,
        body.close_on.isoformat() if body.close_on else None,
        body.probabilities,
    )


@router.get("/ranking/{job_id}", response_model=JobOut)
def ranking(request: Request, job_id: int = Path(..., ge=1, le=2**31 - 1), who: Principal = Depends(principal)) -> Any:
    """A ranking job with its progress and, when it succeeded, `result.deals`."""
    return access.ranking_job_for(engine_of(request), who, job_id)
