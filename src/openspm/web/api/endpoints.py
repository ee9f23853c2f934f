"""`/api/v1` endpoints: thin over `openspm.access` (which checks, then calls the services).

Lists take `?limit=&offset=` and answer `{"items", "total", "limit", "offset"}`. Errors are always
`{"error", "detail"}`: 401 no or bad credentials, 403 the role or token scope may not, 404 unknown (or not
visible: the same answer), 409 the state forbids it (a closed period), 422 invalid input.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openspm.access import service as access
from openspm.access.principal import Principal
from openspm.statements.bulk import file_stem
from openspm.statements.render import render_html, render_pdf
from openspm.web.api.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    DecisionIn,
    EarningOut,
    ErrorOut,
    MeOut,
    MonthStatusOut,
    PageOut,
    PayeeOut,
    PaymentOut,
    PeriodOut,
    RunOut,
    plain,
)
from openspm.web.security import api_principal, engine_of

bearer = HTTPBearer(auto_error=False, description="An API token from `openspm token create EMAIL`")


def principal(request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    return api_principal(request)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No or invalid credentials"},
    403: {"model": ErrorOut, "description": "The role or the token's scope may not do this"},
    404: {"model": ErrorOut, "description": "Unknown, or not visible to you"},
    422: {"model": ErrorOut, "description": "Invalid input"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorOut, "description": "The period's state forbids it (e.g. closed)"},
}


def json_errors(errors: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`errors` documented as JSON bodies, for a route whose own answer is a document (HTML): FastAPI would
    otherwise document its errors in the route's media type, though they are always `{"error", "detail"}`."""
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    return {
        code: {"description": r["description"], "content": {"application/json": {"schema": ref}}}
        for code, r in errors.items()
    }


router = APIRouter(prefix="/api/v1", responses=ERRORS)
Limit = Query(100, ge=1, le=1000, description="At most this many items")
Offset = Query(0, ge=0, le=10_000_000, description="Skip this many items")
PeriodQuery = Query(..., min_length=1, max_length=32, description="A month, e.g. FY2025-M08")
AdjustmentId = Path(..., ge=1, le=2**31 - 1, description="The adjustment's id")
PayeeQuery = Query(None, min_length=1, max_length=128, description="Only this payee (its id)")


def _page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    page = access.page_of(items, limit, offset)
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset}


@router.get("/me", response_model=MeOut, tags=["me"])
def me(who: Principal = Depends(principal)) -> MeOut:
    """Who the credentials belong to, with roles and (for a token) scopes."""
    return MeOut(
        email=who.email,
        name=who.name,
        roles=sorted(who.roles),
        payee=who.payee,
        scopes=sorted(who.scopes),
        via_token=who.via_token,
        may_write=who.may_write,
    )


@router.get("/payees", response_model=PageOut[PayeeOut], tags=["payees"])
def payees(
    request: Request,
    period: str | None = Query(None, max_length=32, description="Visibility as of this period (default: today)"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The payees you may see: yourself (rep), your team as of the period (manager), everyone (others)."""
    page = access.payees_for(engine_of(request), who, period, limit=limit, offset=offset)
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset}


@router.get("/periods", response_model=PageOut[PeriodOut], tags=["periods"])
def periods(
    request: Request,
    year: str | None = Query(None, max_length=16, description="Only this fiscal year, e.g. FY2025"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Months with their status (open, calculated, approved, closed) and the run that stands for each."""
    return _page(access.periods_for(engine_of(request), who, year), limit, offset)


@router.get("/runs", response_model=PageOut[RunOut], tags=["runs"])
def runs(
    request: Request,
    period: str | None = Query(None, max_length=32),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Calculation runs, newest first."""
    return _page(access.runs_for(engine_of(request), who, period), limit, offset)


@router.get("/earnings", response_model=PageOut[EarningOut], tags=["results"])
def earnings(
    request: Request,
    period: str = PeriodQuery,
    payee: str | None = PayeeQuery,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The month's earnings (its period run: the close's snapshot, or the newest completed run)."""
    return _page(access.earnings_for(engine_of(request), who, period, payee), limit, offset)


@router.get("/payments", response_model=PageOut[PaymentOut], tags=["results"])
def payments(
    request: Request,
    period: str = PeriodQuery,
    payee: str | None = PayeeQuery,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The month's payments with their lines (earning, hold, release, adjustment, clawback, draw)."""
    return _page(access.payments_for(engine_of(request), who, period, payee), limit, offset)


@router.get(
    "/statements/{period}/{payee}.html",
    response_class=HTMLResponse,
    tags=["statements"],
    responses=json_errors(ERRORS),
)
def statement_html(request: Request, period: str, payee: str, who: Principal = Depends(principal)) -> Response:
    """The statement as the standalone HTML page (the same bytes as `openspm statement --html`)."""
    return HTMLResponse(render_html(access.statement_for(engine_of(request), who, period, payee)))


@router.get(
    "/statements/{period}/{payee}.pdf",
    response_class=Response,
    tags=["statements"],
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as an A4 PDF"}},
)
def statement_pdf(request: Request, period: str, payee: str, who: Principal = Depends(principal)) -> Response:
    """The statement as an A4 PDF (byte-identical when made again)."""
    data = access.statement_for(engine_of(request), who, period, payee)
    return Response(
        render_pdf(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{file_stem(period, payee)}.pdf"'},
    )


@router.get("/statements/{period}/{payee}", tags=["statements"])
def statement_json(request: Request, period: str, payee: str, who: Principal = Depends(principal)) -> JSONResponse:
    """A payee's statement for a month: earnings with their arithmetic, payments, year to date, credits."""
    return JSONResponse(plain(access.statement_for(engine_of(request), who, period, payee)))


@router.get("/adjustments", response_model=PageOut[AdjustmentOut], tags=["adjustments"])
def adjustments(
    request: Request,
    period: str | None = Query(None, max_length=32),
    status: str | None = Query(None, pattern="^(pending|approved|rejected)$"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Adjustments of the payees you may see, newest first."""
    return _page(access.adjustments_for(engine_of(request), who, period, status), limit, offset)


@router.post(
    "/adjustments", response_model=AdjustmentOut, status_code=201, tags=["adjustments"], responses=WRITE_ERRORS
)
def add_adjustment(request: Request, body: AdjustmentIn, who: Principal = Depends(principal)) -> Any:
    """Record a manual adjustment for an open month (admin, comp analyst; a token needs the write scope)."""
    return access.add_adjustment_for(engine_of(request), who, **body.model_dump())


@router.post(
    "/adjustments/{adjustment_id}/approve", response_model=AdjustmentOut, tags=["adjustments"], responses=WRITE_ERRORS
)
def approve_adjustment(
    request: Request,
    adjustment_id: int = AdjustmentId,
    body: DecisionIn | None = None,
    who: Principal = Depends(principal),
) -> Any:
    """Approve a pending adjustment (admin, comp analyst; a manager their team's; never your own entry)."""
    return access.decide_adjustment_for(engine_of(request), who, adjustment_id, True, body.note if body else None)


@router.post(
    "/adjustments/{adjustment_id}/reject", response_model=AdjustmentOut, tags=["adjustments"], responses=WRITE_ERRORS
)
def reject_adjustment(
    request: Request,
    adjustment_id: int = AdjustmentId,
    body: DecisionIn | None = None,
    who: Principal = Depends(principal),
) -> Any:
    """Reject a pending adjustment (admin, comp analyst; a manager their team's; never your own entry)."""
    return access.decide_adjustment_for(engine_of(request), who, adjustment_id, False, body.note if body else None)


@router.post("/periods/{period}/approve", response_model=MonthStatusOut, tags=["periods"], responses=WRITE_ERRORS)
def approve_period(request: Request, period: str, who: Principal = Depends(principal)) -> Any:
    """Approve a calculated month's newest run."""
    return access.approve_for(engine_of(request), who, period)


@router.post("/periods/{period}/close", response_model=MonthStatusOut, tags=["periods"], responses=WRITE_ERRORS)
def close_period(request: Request, period: str, who: Principal = Depends(principal)) -> Any:
    """Close an approved month: freeze its run as the snapshot, with its documents' digests."""
    return access.close_for(engine_of(request), who, period)
