"""`/api/v1/insights`: the KPIs and the data-quality checks as JSON (amounts and fractions as exact decimal text).

Thin over `openspm.access.insights`, so a manager gets their team's figures and a rep their own, as on the pages.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from openspm.access import insights as access
from openspm.access.principal import Principal
from openspm.insights.data_quality import DataQuality
from openspm.insights.kpis import Filters, Kpis, plain
from openspm.web.api.endpoints import ERRORS, principal
from openspm.web.pages.insights import parse_day, filters_query
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/insights", responses=ERRORS, tags=["insights"])


def kpis_json(k: Kpis) -> dict[str, Any]:
    """The KPIs as JSON: period, prior and next period, headline, notes and every table as records."""
    return {
        "period": k.period.name,
        "start": k.period.start.isoformat(),
        "end": k.period.end.isoformat(),
        "prior": k.prior.name,
        "next": k.next.name if k.next else None,
        "currency": k.currency,
        "attainment_period": k.attainment_period,
        "measured_through": k.measured_through,
        "filters": {
            key: plain(getattr(k.filters, key))
            for key in ("team", "region", "product", "rep", "growth_floor", "attainment_floor")
        },
        "headline": {key: plain(value) for key, value in k.headline.items()},
        "notes": k.notes,
        "tables": {
            name: [{key: plain(value) for key, value in row.items()} for row in table.records()]
            for name, table in k.tables.items()
        },
    }


def data_quality_json(dq: DataQuality) -> dict[str, Any]:
    return {
        "as_of": dq.as_of.isoformat(),
        "stale_days": dq.stale_days,
        "run": dq.run,
        "run_period": dq.run_period,
        "checks": {
            name: {
                "title": c.title,
                "count": c.count,
                "items": [
                    {
                        "subject": p.subject,
                        "date": p.when.isoformat() if isinstance(p.when, date) else None,
                        "detail": p.detail,
                        "view": p.view,
                        "fix": p.fix,
                        "fix_label": p.fix_label,
                    }
                    for p in c.rows
                ],
            }
            for name, c in dq.checks.items()
        },
    }


@router.get("/kpis")
def kpis(
    request: Request, filters: Filters = Depends(filters_query), who: Principal = Depends(principal)
) -> dict[str, Any]:
    """KPIs by rep, team, region, product and month for the period (see docs/insights.md, "Analytics")."""
    return kpis_json(access.kpis_for(engine_of(request), who, filters))


@router.get("/data-quality")
def data_quality(
    request: Request,
    as_of: str | None = Query(None, max_length=10, description="Judge as of this day (default today)"),
    stale_days: int = Query(90, ge=1, le=3650, description="An open opportunity older than this is stale"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Data-quality problems, each with where to see and fix it (docs/insights.md, "Data quality")."""
    return data_quality_json(access.data_quality_for(engine_of(request), who, parse_day(as_of), stale_days))
