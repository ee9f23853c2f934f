"""`/api/v1` reference and master data: accounts, products, territories, quotas, opportunities, reporting lines.

Thin over `openspm.access.entities`, which filters each list to what the caller may see. Lists take
`?limit=&offset=` and answer `{"items", "total", "limit", "offset"}`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import entities as access
from openspm.access.principal import Principal
from openspm.access.service import Page
from openspm.web.api.endpoints import ERRORS, Limit, Offset, principal
from openspm.web.api.schemas import PageOut
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)
OnQuery = Query(None, description="As of this day (default: today)")


def _text(what: str) -> Any:
    """An optional text filter (a fresh Query per parameter: FastAPI binds each to its own name)."""
    return Query(None, min_length=1, max_length=128, description=what)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    industry: str | None
    size: str | None
    segment: str | None
    country: str | None
    region: str | None
    city: str | None
    potential: Decimal | None
    owners: list[str] = Field(description="Payees owning the account that day by named-account assignment")
    territory: str | None = Field(description="The account's territory that day")


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    family: str
    list_price: Decimal | None
    currency: str | None


class TerritoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    region: str | None
    parent: str | None
    payees: list[str] = Field(description="Payees assigned to the territory that day")


class QuotaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    payee: str
    measure: str
    period: str
    amount: Decimal
    currency: str | None


class OpportunityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    account: str | None
    owner: str | None
    stage: str
    probability: Decimal | None = Field(description="A fraction: 0.4 = 40%")
    amount: Decimal
    currency: str
    close_date: date
    status: str = Field(description="open, won or lost")


class ReportingLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    payee: str
    manager: str
    effective_from: date
    effective_to: date | None = Field(description="Exclusive; null when open-ended")


def _answer(page: Page[Any]) -> dict[str, Any]:
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/accounts", response_model=PageOut[AccountOut], tags=["accounts"])
def accounts(
    request: Request,
    q: str | None = Query(None, min_length=1, max_length=128, description="Part of the account's id or name"),
    segment: str | None = _text("Only this segment"),
    region: str | None = _text("Only this region"),
    on: date | None = OnQuery,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Accounts you may see (a rep or manager: those owned by them or their team that day), by id."""
    page = access.accounts_for(
        engine_of(request), who, q=q, segment=segment, region=region, on=on, limit=limit, offset=offset
    )
    return _answer(page)


@router.get("/accounts/{account}", response_model=AccountOut, tags=["accounts"])
def account(
    request: Request,
    account: str = Path(..., min_length=1, max_length=128),
    on: date | None = OnQuery,
    who: Principal = Depends(principal),
) -> Any:
    """One account with its owners and territory that day (404 when unknown or not yours to see)."""
    return access.account_for(engine_of(request), who, account, on)


@router.get("/products", response_model=PageOut[ProductOut], tags=["products"])
def products(
    request: Request,
    family: str | None = _text("Only this product family"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Products (reference data, every role), by id."""
    return _answer(access.products_for(engine_of(request), who, family, limit=limit, offset=offset))


@router.get("/territories", response_model=PageOut[TerritoryOut], tags=["territories"])
def territories(
    request: Request,
    on: date | None = OnQuery,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Territories with the payees assigned that day (reference data, every role), by id."""
    return _answer(access.territories_for(engine_of(request), who, on, limit=limit, offset=offset))


@router.get("/quotas", response_model=PageOut[QuotaOut], tags=["quotas"])
def quotas(
    request: Request,
    period: str | None = Query(None, min_length=1, max_length=32, description="Only this period, e.g. FY2025-Q1"),
    payee: str | None = _text("Only this payee (its id)"),
    measure: str | None = _text("Only this measure"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Quotas of the payees you may see (a manager: the team as of the period asked for, else today)."""
    page = access.quotas_for(
        engine_of(request), who, period=period, payee=payee, measure=measure, limit=limit, offset=offset
    )
    return _answer(page)


@router.get("/opportunities", response_model=PageOut[OpportunityOut], tags=["opportunities"])
def opportunities(
    request: Request,
    status: str | None = Query(None, pattern="^(open|won|lost)$"),
    owner: str | None = _text("Only this owner (a payee id)"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Pipeline opportunities owned by the payees you may see, soonest close date first."""
    page = access.opportunities_for(engine_of(request), who, status=status, owner=owner, limit=limit, offset=offset)
    return _answer(page)


@router.get("/reporting-lines", response_model=PageOut[ReportingLineOut], tags=["payees"])
def reporting_lines(
    request: Request,
    on: date | None = OnQuery,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Who reports to whom that day, among the payees you may see."""
    return _answer(access.reporting_lines_for(engine_of(request), who, on, limit=limit, offset=offset))
