"""The manager's team table: each visible payee's earnings and attainment for a month, sortable, filterable."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access.dashboard import TeamRow, team_for
from openspm.access.principal import Principal
from openspm.access.service import periods_for
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()
SORTS = ("name", "role", "region", "month", "year", "attainment")


def _total(values: dict[str, Decimal]) -> Decimal:
    return sum(values.values(), Decimal(0))


def _key(sort: str, row: TeamRow) -> tuple[int, object]:
    if sort == "month":
        return (0, _total(row.earned_month))
    if sort == "year":
        return (0, _total(row.earned_year))
    if sort == "attainment":
        return (0 if row.attainment is not None else 1, row.attainment or Decimal(0))
    value = getattr(row, sort) or ""
    return (0, str(value).lower())


@router.get("/team", response_class=HTMLResponse)
def team(
    request: Request,
    period: str | None = None,
    sort: str = "name",
    dir: str = "asc",
    q: str = "",
    principal: Principal = Depends(page_principal),
) -> Response:
    engine = engine_of(request)
    month, rows = team_for(engine, principal, period or None)
    chosen = sort if sort in SORTS else "name"
    needle = q.strip().lower()
    if needle:
        rows = [r for r in rows if needle in f"{r.name} {r.payee} {r.role or ''} {r.region or ''}".lower()]
    rows = sorted(rows, key=lambda r: _key(chosen, r), reverse=dir == "desc")
    if chosen == "attainment" and dir == "desc":  # payees without a quota stay last
        rows = [r for r in rows if r.attainment is not None] + [r for r in rows if r.attainment is None]
    months = [p.name for p in periods_for(engine, principal)]
    return render(
        request,
        "team.html",
        principal,
        help_anchor="manager-team",
        period=month,
        months=months,
        rows=rows,
        sort=chosen,
        dir="desc" if dir == "desc" else "asc",
        q=q,
    )
