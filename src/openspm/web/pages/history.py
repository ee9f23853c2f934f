"""The year to date history page: a payee's fiscal year month by month (earned, paid, attainment, statements)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access.history import chart_data, history_for
from openspm.access.principal import Principal
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request,
    payee: str | None = Query(None, max_length=128),
    year: str | None = Query(None, max_length=16),
    principal: Principal = Depends(page_principal),
) -> Response:
    data = history_for(engine_of(request), principal, payee or None, year or None)
    earned, paid = data.totals()
    return render(
        request,
        "history.html",
        principal,
        help_anchor="year-to-date-history",
        h=data,
        chart=chart_data(data),
        earned=earned,
        paid=paid,
    )
