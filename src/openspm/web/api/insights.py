"""`/api/v1/insights`: the KPIs and the data-quality checks as JSON (amounts and fractions as exact decimal text).

Thin over `openspm.access.insights`, so a manager gets their team's figures and a rep their own, as on the pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from openspm.access import insights as access
from openspm.access.principal import Principal
from openspm.insights.data_quality import as_json as dq_json
from openspm.insights.kpis import Filters, as_json
from openspm.web.api.endpoints import ERRORS, principal
from openspm.web.pages.insights import filters_query, parse_day
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/insights", responses=ERRORS, tags=["insights"])


@router.get("/kpis")
def kpis(
    request: Request, filters: Filters = Depends(filters_query), who: Principal = Depends(principal)
) -> dict[str, Any]:
    """KPIs by rep, team, region, product and month for the period (see docs/insights.md, "Analytics")."""
    return as_json(access.kpis_for(engine_of(request), who, filters))


@router.get("/data-quality")
def data_quality(
    request: Request,
    as_of: str | None = Query(None, max_length=10, description="Judge as of this day (default today)"),
    stale_days: int = Query(90, ge=1, le=3650, description="An open opportunity older than this is stale"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Data-quality problems, each with where to see and fix it (docs/insights.md, "Data quality")."""
    return dq_json(access.data_quality_for(engine_of(request), who, parse_day(as_of), stale_days))
