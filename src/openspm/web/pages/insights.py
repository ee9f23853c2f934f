"""Insights pages: the KPI dashboard (`/insights`, filters, charts, every table as CSV) and the data-quality view
(`/insights/data-quality`, each problem with where to fix it).

Thin over `openspm.access.insights`: admin, comp analyst and finance see everyone, a manager their team, a rep
their own numbers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access import insights as access
from openspm.access.principal import Principal
from openspm.core.dates import parse_date
from openspm.core.errors import InvalidInput, NotFound
from openspm.insights.data_quality import check_csv
from openspm.insights.kpis import Filters, Kpis, plain, table_csv
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/insights")
DEFAULTS = Filters()
CHARTED = ("by_month", "attainment", "pay_for_performance", "funnel", "by_region", "by_product")


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _fraction(text: str | None, what: str, default: Decimal) -> Decimal:
    if not _optional(text):
        return default
    try:
        value = Decimal(str(text).strip().rstrip("%")) / (100 if str(text).strip().endswith("%") else 1)
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or abs(value) > 100:
        raise InvalidInput(f"{what} {text!r} is out of range")
    return value


def filters_from(
    period: str | None,
    team: str | None,
    region: str | None,
    product: str | None,
    rep: str | None,
    currency: str | None,
    growth_floor: str | None = None,
    attainment_floor: str | None = None,
) -> Filters:
    """Filters from query parameters (empty means not set)."""
    base = Filters()
    return Filters(
        period=_optional(period),
        team=_optional(team),
        region=_optional(region),
        product=_optional(product),
        rep=_optional(rep),
        currency=_optional(currency),
        growth_floor=_fraction(growth_floor, "growth_floor", base.growth_floor),
        attainment_floor=_fraction(attainment_floor, "attainment_floor", base.attainment_floor),
    )


def _text(what: str) -> Any:
    return Query(None, max_length=128, description=what)


def filters_query(
    period: str | None = _text("A month, quarter or year, e.g. FY2026 (default: the year of the newest run)"),
    team: str | None = _text("A manager's payee id: their team"),
    region: str | None = _text("A region"),
    product: str | None = _text("A product id or family"),
    rep: str | None = _text("A payee id"),
    currency: str | None = Query(None, max_length=3, description="Reporting currency (default: the first plan's)"),
    growth_floor: str | None = Query(None, max_length=16, description="Flag growth below this (default -0.10)"),
    attainment_floor: str | None = Query(None, max_length=16, description="Flag attainment below this (0.80)"),
) -> Filters:
    return filters_from(period, team, region, product, rep, currency, growth_floor, attainment_floor)


def chart_data(k: Kpis) -> dict[str, Any]:
    """The tables the charts draw, as JSON-ready records (decimals as text)."""
    return {
        name: [{key: plain(v) for key, v in row.items()} for row in k.tables[name].records()] for name in CHARTED
    } | {"currency": k.currency}


def _query(f: Filters) -> str:
    pairs = {
        "period": f.period,
        "team": f.team,
        "region": f.region,
        "product": f.product,
        "rep": f.rep,
        "currency": f.currency,
        "growth_floor": str(f.growth_floor) if f.growth_floor != DEFAULTS.growth_floor else None,
        "attainment_floor": str(f.attainment_floor) if f.attainment_floor != DEFAULTS.attainment_floor else None,
    }
    return urlencode({key: value for key, value in pairs.items() if value})


@router.get("", response_class=HTMLResponse)
def insights_page(
    request: Request, filters: Filters = Depends(filters_query), principal: Principal = Depends(page_principal)
) -> Response:
    """The KPI dashboard for the filters."""
    k = access.kpis_for(engine_of(request), principal, filters)
    shown = replace(filters, period=k.period.name)
    return render(
        request,
        "insights.html",
        principal,
        help_anchor="insights",
        k=k,
        chart=chart_data(k),
        query=_query(shown),
    )


@router.get("/data-quality", response_class=HTMLResponse)
def data_quality_page(
    request: Request,
    as_of: str | None = Query(None, max_length=10, description="Judge as of this day (default today)"),
    stale_days: int = Query(90, ge=1, le=3650),
    principal: Principal = Depends(page_principal),
) -> Response:
    """Problems in the data, each with a link to where it is fixed."""
    day = parse_day(as_of)
    dq = access.data_quality_for(engine_of(request), principal, day, stale_days)
    return render(request, "insights_data_quality.html", principal, help_anchor="data-quality", dq=dq)


@router.get("/data-quality/{check}.csv")
def data_quality_csv(
    request: Request,
    check: str,
    as_of: str | None = Query(None, max_length=10),
    stale_days: int = Query(90, ge=1, le=3650),
    principal: Principal = Depends(page_principal),
) -> Response:
    dq = access.data_quality_for(engine_of(request), principal, parse_day(as_of), stale_days)
    if check not in dq.checks:
        raise NotFound(f"unknown check {check!r}; checks: {', '.join(dq.checks)}")
    return _csv(check_csv(dq.checks[check]), f"data-quality-{check}.csv")


@router.get("/{table}.csv")
def table_csv_export(
    request: Request,
    table: str,
    filters: Filters = Depends(filters_query),
    principal: Principal = Depends(page_principal),
) -> Response:
    """One KPI table as CSV, for the same filters as the page."""
    k = access.kpis_for(engine_of(request), principal, filters)
    return _csv(table_csv(k.table(table)), f"insights-{k.period.name}-{table}.csv")


def parse_day(text: str | None) -> date | None:
    if not _optional(text):
        return None
    try:
        return parse_date(str(text).strip())
    except ValueError:
        raise InvalidInput(f"as_of {text!r}: not a date (expected YYYY-MM-DD)") from None


def _csv(text: str, name: str) -> Response:
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
