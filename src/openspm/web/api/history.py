"""`/api/v1/history`: a payee's fiscal year month by month (earned, paid, attainment), and the charts' series."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from openspm.access.history import chart_data, history_for
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, principal
from openspm.web.api.schemas import plain
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/history", tags=["results"])
def history(
    request: Request,
    payee: str | None = Query(None, min_length=1, max_length=128, description="The payee (default: your own)"),
    year: str | None = Query(None, max_length=16, description="A fiscal year, e.g. FY2025 (default: the current one)"),
    who: Principal = Depends(principal),
) -> JSONResponse:
    """Month by month: live earnings, payments from each month's run, the attainment of the component with the
    largest quota, whether a statement exists; `chart` holds the same as series of exact decimal strings."""
    data = history_for(engine_of(request), who, payee, year)
    earned, paid = data.totals()
    body = plain(data) | {"earned": plain(earned), "paid": plain(paid), "chart": chart_data(data)}
    return JSONResponse(body)
