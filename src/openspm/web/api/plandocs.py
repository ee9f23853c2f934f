"""`/api/v1` plan documents and acceptance: a payee's plan versions, each document as JSON, HTML and PDF, the
payee's acceptance, and who has accepted each plan version. Thin over `openspm.access.plandocs`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from openspm.access.plandocs import accept_for, acceptance_status_for, payee_plans_for, plan_document_for
from openspm.access.principal import Principal
from openspm.plandocs.render import file_stem, render_html, render_pdf
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, json_errors, principal
from openspm.web.api.schemas import PageOut, plain
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)
VersionQuery = Query(None, ge=1, le=2**31 - 1, description="A plan version (default: the payee's current one)")
PlanPath = Path(..., min_length=1, max_length=128, description="The plan's id, e.g. ae-commission")
PayeePath = Path(..., min_length=1, max_length=128, description="The payee's id")


class AcceptanceOut(BaseModel):
    version: int
    accepted_on: str
    accepted_at: str
    accepted_by: str


class PlanVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    plan_name: str
    version: int
    applies_from: str
    applies_to: str | None
    current: bool = Field(description="The version governing today for this payee")
    acceptance: AcceptanceOut | None
    holds_until_accepted: bool = Field(description="The plan holds pay until the payee accepts this version")


class PayeePlansOut(BaseModel):
    payee: str
    name: str
    plans: list[PlanVersionOut]


class AcceptanceRowOut(BaseModel):
    plan: str
    plan_name: str
    version: int
    applies_from: str
    applies_to: str | None
    payee: str
    payee_name: str
    accepted: bool
    acceptance: AcceptanceOut | None
    holds_until_accepted: bool


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Default: the payee's current version")


@router.get("/payees/{payee}/plans", response_model=PayeePlansOut, tags=["plan documents"])
def payee_plans(request: Request, payee: str = PayeePath, who: Principal = Depends(principal)) -> Any:
    """Every plan version the payee is assigned under, with the days it governs for them and their acceptance."""
    payee_id, name, refs = payee_plans_for(engine_of(request), who, payee)
    return {"payee": payee_id, "name": name, "plans": plain(refs)}


@router.get(
    "/plans/{plan}/documents/{payee}.html",
    response_class=HTMLResponse,
    tags=["plan documents"],
    responses=json_errors(ERRORS),
)
def document_html(
    request: Request,
    plan: str = PlanPath,
    payee: str = PayeePath,
    version: int | None = VersionQuery,
    who: Principal = Depends(principal),
) -> Response:
    """The plan document as a standalone HTML page (print CSS)."""
    return HTMLResponse(render_html(plan_document_for(engine_of(request), who, payee, plan, version)))


@router.get(
    "/plans/{plan}/documents/{payee}.pdf",
    response_class=Response,
    tags=["plan documents"],
    responses={200: {"content": {"application/pdf": {}}, "description": "The plan document as an A4 PDF"}},
)
def document_pdf(
    request: Request,
    plan: str = PlanPath,
    payee: str = PayeePath,
    version: int | None = VersionQuery,
    who: Principal = Depends(principal),
) -> Response:
    """The plan document as an A4 PDF (byte-identical when made again)."""
    doc = plan_document_for(engine_of(request), who, payee, plan, version)
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{file_stem(doc)}.pdf"'},
    )


@router.get("/plans/{plan}/documents/{payee}", tags=["plan documents"])
def document_json(
    request: Request,
    plan: str = PlanPath,
    payee: str = PayeePath,
    version: int | None = VersionQuery,
    who: Principal = Depends(principal),
) -> JSONResponse:
    """The plan document's content: components explained (tiers, examples), quotas, parameters, pay policy,
    and the acceptance of this version (null: not accepted)."""
    doc = plan_document_for(engine_of(request), who, payee, plan, version)
    return JSONResponse({**plain(doc), "accepted": doc.accepted})


@router.post("/plans/{plan}/documents/{payee}/accept", tags=["plan documents"], responses=WRITE_ERRORS)
def accept(
    request: Request,
    plan: str = PlanPath,
    payee: str = PayeePath,
    body: AcceptIn | None = None,
    who: Principal = Depends(principal),
) -> JSONResponse:
    """Accept a version of your own plan (default: your current version): records you and the time. Accepting
    again changes nothing; only the payee's own user may accept (403 for others who may see it)."""
    doc = accept_for(engine_of(request), who, payee, plan, body.version if body else None)
    return JSONResponse({**plain(doc), "accepted": doc.accepted})


@router.get("/plan-acceptances", response_model=PageOut[AcceptanceRowOut], tags=["plan documents"])
def acceptances(
    request: Request,
    plan: str | None = Query(None, min_length=1, max_length=128, description="Only this plan"),
    version: int | None = Query(None, ge=1, le=2**31 - 1, description="Only this version (with plan)"),
    status: str | None = Query(None, pattern="^(accepted|pending)$", description="accepted or pending"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Per plan version, the payees you may see and whether they accepted it (newest version first, those who
    have not accepted first)."""
    accepted = None if status is None else status == "accepted"
    rows = acceptance_status_for(engine_of(request), who, plan, version, accepted)
    items = [{**plain(r), "accepted": r.accepted} for r in rows]
    return _page(items, limit, offset)
