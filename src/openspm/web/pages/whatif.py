"""The rep's what-if page: tick open deals or type a deal in, and see the exact change in earnings per month and
component (computed by the engine that pays, nothing stored), what a discount would cost, and the open deals
ranked by expected earnings (a background job the page follows).

Thin over `openspm.access.whatif`: a rep for themselves, a manager for their team (`?payee=`), admin, comp analyst
and finance for anyone. The forms post with the CSRF token (htmx sends it as a header); without htmx the result
comes back as the whole page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access import whatif as access
from openspm.access.principal import Principal
from openspm.core.errors import OpenSpmError
from openspm.insights.whatif import Deal
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()


def _page(
    request: Request, principal: Principal, payee: str | None, close_on: str, status_code: int = 200, **extra: Any
) -> Response:
    engine = engine_of(request)
    if payee is None and principal.payee is None:  # admin, comp analyst, finance: choose a payee first
        who, deals, choices = "", list[Deal](), dict[str, list[tuple[str, str]]](products=[], accounts=[])
    else:
        who, deals = access.open_deals_for(engine, principal, payee, close_on or None)
        choices = access.choices_for(engine, principal, who)
    return render(
        request,
        "whatif.html",
        principal,
        status_code=status_code,
        help_anchor="what-if",
        payee=who,
        other=who != principal.payee,
        deals=deals,
        close_on=close_on,
        choices=choices,
        payees=access.payees_for(engine, principal) if principal.sees_all or principal.is_manager else [],
        form=extra.pop("form", {}),
        **extra,
    )


@router.get("/what-if", response_class=HTMLResponse)
def what_if_page(
    request: Request, payee: str | None = None, close_on: str = "", principal: Principal = Depends(page_principal)
) -> Response:
    return _page(request, principal, payee or None, close_on[:10])


@router.post("/what-if/run", response_class=HTMLResponse)
def run(
    request: Request,
    payee: str = Form("", max_length=128),
    opportunity: list[str] = Form([]),
    close_on: str = Form("", max_length=10),
    discount: str = Form("", max_length=16),
    account: str = Form("", max_length=128),
    product: str = Form("", max_length=128),
    amount: str = Form("", max_length=32),
    close_date: str = Form("", max_length=10),
    deal_discount: str = Form("", max_length=16),
    currency: str = Form("", max_length=3),
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    """The what-if of the ticked and typed-in deals: the result fragment (htmx) or the page with it."""
    check_csrf(request, request.headers.get("x-csrf-token") or csrf_token)
    hypothetical = (
        [access.HypotheticalIn(account, product, amount, close_date, deal_discount or "0", currency or None)]
        if amount.strip()
        else []
    )
    form = {
        "opportunity": opportunity, "discount": discount, "account": account, "product": product, "amount": amount,
        "close_date": close_date, "deal_discount": deal_discount, "currency": currency,
    }  # fmt: skip
    context: dict[str, Any] = {}
    status = 200
    try:
        context["result"] = access.what_if_for(
            engine_of(request), principal, payee or None, opportunity[:200], hypothetical, close_on or None, discount
        )
    except OpenSpmError as exc:
        context["error"], status = str(exc), exc.http_status
    if request.headers.get("hx-request"):
        return render(request, "whatif_result.html", principal, status_code=200, **context)
    return _page(request, principal, payee or None, close_on, status_code=status, form=form, **context)


@router.post("/what-if/rank", response_class=HTMLResponse)
def rank(
    request: Request,
    payee: str = Form("", max_length=128),
    close_on: str = Form("", max_length=10),
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    """Queue the ranking of the payee's open deals; the fragment that follows the job."""
    check_csrf(request, request.headers.get("x-csrf-token") or csrf_token)
    job = access.start_ranking_for(engine_of(request), queue_of(request), principal, payee or None, close_on or None)
    return render(request, "whatif_ranking.html", principal, job=job, rows=[])


@router.get("/what-if/rank/{job_id}", response_class=HTMLResponse)
def ranking(
    request: Request, job_id: int = Path(..., ge=1, le=2**31 - 1), principal: Principal = Depends(page_principal)
) -> Response:
    """The ranking job's progress, then its table (what htmx polls every second while it runs)."""
    job = access.ranking_job_for(engine_of(request), principal, job_id)
    return render(request, "whatif_ranking.html", principal, job=job, rows=access.ranking_rows(job))
