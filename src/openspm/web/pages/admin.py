"""Admin and comp analyst pages: periods with approve and close, adjustments with add, approve and reject.

Finance (read-only) sees the same lists without the buttons; a POST from a role that may not write answers
403. Every form carries the session's CSRF token; every change is audited with the user as the actor.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import service as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.close.adjustments import REASON_CODES
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.core.text import required_decimal
from openspm.web.forms import act
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/admin")


def _staff(principal: Principal) -> None:
    if not principal.sees_all:
        raise Forbidden("these pages are for admin, comp_analyst and finance users")


def _periods_page(
    request: Request, principal: Principal, year: str | None, status_code: int = 200, **flash: str
) -> Response:
    rows = access.periods_for(engine_of(request), principal, year or None)
    years = sorted({r.name.split("-")[0] for r in rows})
    return render(
        request,
        "periods.html",
        principal,
        status_code=status_code,
        help_anchor="admin-periods",
        rows=rows,
        year=year or "",
        years=years,
        **flash,
    )


@router.get("/periods", response_class=HTMLResponse)
def periods(request: Request, year: str | None = None, principal: Principal = Depends(page_principal)) -> Response:
    _staff(principal)
    return _periods_page(request, principal, year, done=request.query_params.get("done", ""))


@router.post("/periods/{period}/{action}", response_class=HTMLResponse)
def period_action(
    request: Request,
    period: str,
    action: str,
    csrf_token: str = Form(""),
    year: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    if action not in ("approve", "close"):
        raise InvalidInput(f"unknown action {action!r}; use approve or close")
    principal.require_write(f"{'approving' if action == 'approve' else 'closing'} {period}")
    engine = engine_of(request)
    try:
        if action == "approve":
            access.approve_for(engine, principal, period)
        else:
            access.close_for(engine, principal, period)
    except OpenSpmError as exc:
        return _periods_page(request, principal, year, status_code=exc.http_status, error=str(exc))
    done = f"{period} {'approved' if action == 'approve' else 'closed'}"
    query = urlencode({"year": year, "done": done} if year else {"done": done})
    return RedirectResponse(f"/admin/periods?{query}", status_code=303)


def _adjustments_page(
    request: Request,
    principal: Principal,
    period: str | None,
    status: str | None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    **flash: str,
) -> Response:
    rows = access.adjustments_for(engine_of(request), principal, period or None, status or None)
    return render(
        request,
        "adjustments.html",
        principal,
        status_code=status_code,
        help_anchor="admin-adjustments",
        rows=rows,
        period=period or "",
        status=status or "",
        reasons=REASON_CODES,
        form=form or {},
        **flash,
    )


@router.get("/adjustments", response_class=HTMLResponse)
def adjustments(
    request: Request,
    period: str | None = None,
    status: str | None = None,
    principal: Principal = Depends(page_principal),
) -> Response:
    _staff(principal)
    return _adjustments_page(request, principal, period, status, done=request.query_params.get("done", ""))


@router.post("/adjustments", response_class=HTMLResponse)
def add_adjustment(
    request: Request,
    csrf_token: str = Form(""),
    payee: str = Form(""),
    plan: str = Form(""),
    period: str = Form(""),
    amount: str = Form(""),
    reason_code: str = Form(""),
    note: str = Form(""),
    needs_approval: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("adding an adjustment")
    form = {"payee": payee, "plan": plan, "period": period, "amount": amount, "reason_code": reason_code, "note": note}
    try:
        value = required_decimal(amount, "amount", "-250.00")
        view = access.add_adjustment_for(
            engine_of(request),
            principal,
            payee=payee.strip(),
            plan=plan.strip(),
            period=period.strip(),
            amount=value,
            reason_code=reason_code.strip(),
            note=note.strip() or None,
            needs_approval=bool(needs_approval),
        )
    except OpenSpmError as exc:
        return _adjustments_page(request, principal, None, None, status_code=exc.http_status, form=form, error=str(exc))
    return RedirectResponse(
        "/admin/adjustments?" + urlencode({"done": f"adjustment {view.id} added ({view.status})"}), status_code=303
    )


@router.post("/adjustments/{adjustment_id}/{decision}", response_class=HTMLResponse)
def decide(
    request: Request,
    decision: str,
    adjustment_id: int = Path(..., ge=1, le=2**31 - 1),
    csrf_token: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    if decision not in ("approve", "reject"):
        raise InvalidInput(f"unknown decision {decision!r}; use approve or reject")
    return act(
        lambda: access.decide_adjustment_for(
            engine_of(request), principal, adjustment_id, decision == "approve", note.strip() or None
        ),
        lambda status, error: _adjustments_page(request, principal, None, None, status_code=status, error=error),
        "/admin/adjustments",
        lambda view: f"adjustment {view.id} {view.status}",
        not_found_shows_page=True,
    )
