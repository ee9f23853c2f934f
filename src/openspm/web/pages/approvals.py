"""Approvals that fall to the signed-in user: pending adjustments of their team (a manager) or of everyone
(admin, comp analyst), with approve and reject. Finance and reps see no buttons; the rules are
`openspm.access.service.decide_adjustment_for`'s."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access import service as access
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput
from openspm.web.forms import act
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()


def _page(request: Request, principal: Principal, status_code: int = 200, **flash: str) -> Response:
    pending = access.adjustments_for(engine_of(request), principal, status="pending")
    rows = [(row, access.may_decide(principal, row)) for row in pending]
    return render(
        request, "approvals.html", principal, status_code=status_code, help_anchor="approvals", rows=rows, **flash
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return _page(request, principal, done=request.query_params.get("done", ""))


@router.post("/approvals/{adjustment_id}/{decision}", response_class=HTMLResponse)
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
        lambda status, error: _page(request, principal, status_code=status, error=error),
        "/approvals",
        lambda view: f"adjustment {view.id} for {view.payee} {view.status}",
        not_found_shows_page=True,
    )
