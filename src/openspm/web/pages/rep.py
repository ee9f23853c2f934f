"""The rep's pages: dashboard, statements list, statement (HTML in the page, with HTML and PDF downloads)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access.dashboard import dashboard_for
from openspm.access.history import chart_data, history_for
from openspm.access.principal import Principal
from openspm.access.service import statement_for, statements_list_for, transaction_for
from openspm.statements.bulk import file_stem
from openspm.statements.render import render_html, render_pdf
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(principal: Principal = Depends(page_principal)) -> Response:
    return RedirectResponse(principal.home, status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    period: str | None = None,
    payee: str | None = None,
    principal: Principal = Depends(page_principal),
) -> Response:
    data = dashboard_for(engine_of(request), principal, payee or None, period or None)
    chart = chart_data(history_for(engine_of(request), principal, data.payee, through=data.period))
    return render(request, "dashboard.html", principal, help_anchor="rep-dashboard", d=data, chart=chart)


@router.get("/statements", response_class=HTMLResponse)
def statements(request: Request, payee: str | None = None, principal: Principal = Depends(page_principal)) -> Response:
    rows = statements_list_for(engine_of(request), principal, payee or None)
    return render(request, "statements.html", principal, help_anchor="statements", rows=rows, payee=payee)


@router.get("/statements/{period}/{payee}", response_class=HTMLResponse)
def statement_page(
    request: Request, period: str, payee: str, principal: Principal = Depends(page_principal)
) -> Response:
    data = statement_for(engine_of(request), principal, period, payee)
    return render(request, "statement.html", principal, help_anchor="statements", s=data)


@router.get("/statements/{period}/{payee}/statement.html", response_class=HTMLResponse)
def statement_html(
    period: str, payee: str, request: Request, principal: Principal = Depends(page_principal)
) -> Response:
    data = statement_for(engine_of(request), principal, period, payee)
    return HTMLResponse(render_html(data))


@router.get("/statements/{period}/{payee}/statement.pdf")
def statement_pdf(
    period: str, payee: str, request: Request, principal: Principal = Depends(page_principal)
) -> Response:
    data = statement_for(engine_of(request), principal, period, payee)
    name = f"{file_stem(period, payee)}.pdf"
    return Response(
        render_pdf(data), media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.get("/transactions/{transaction}", response_class=HTMLResponse)
def transaction_page(request: Request, transaction: str, principal: Principal = Depends(page_principal)) -> Response:
    """A transaction and the credits it made to the payees the principal may see."""
    view = transaction_for(engine_of(request), principal, transaction)
    return render(request, "transaction.html", principal, help_anchor="statements", t=view)
