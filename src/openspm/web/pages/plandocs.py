"""Plan documents and acceptance: "My plan" (the document in the page, its PDF, the "I accept" button) and
"Plan acceptance" (who has accepted each plan version and who has not).

A rep sees their own plan; a manager adds `?payee=` for someone on their team; admin, comp analyst and finance
see everyone's. Only the payee accepts their own plan (a CSRF-protected form; accepting twice changes nothing).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access.errors import Forbidden
from openspm.access.plandocs import accept_for, acceptance_status_for, payee_plans_for, plan_document_for
from openspm.access.principal import Principal
from openspm.core.errors import OpenSpmError
from openspm.plandocs.render import file_stem, render_html, render_pdf
from openspm.plandocs.service import StatusRow
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()
Version = Path(..., ge=1, le=2**31 - 1, description="The plan version")


def _my_plan_page(
    request: Request,
    principal: Principal,
    payee: str | None,
    plan: str | None,
    version: int | None,
    status_code: int = 200,
    **flash: str,
) -> Response:
    engine = engine_of(request)
    payee_id, name, refs = payee_plans_for(engine, principal, payee)
    chosen = None
    if refs:
        wanted = [r for r in refs if (plan is None or r.plan == plan) and (version is None or r.version == version)]
        current = [r for r in wanted if r.current]
        if plan is not None and not wanted:
            plan_document_for(engine, principal, payee_id, plan, version)  # the NotFound with its reason
        chosen = (current or wanted or refs)[0]
    doc = plan_document_for(engine, principal, payee_id, chosen.plan, chosen.version) if chosen else None
    return render(
        request,
        "plandocs_plan.html",
        principal,
        status_code=status_code,
        help_anchor="my-plan",
        payee=payee_id,
        payee_name=name,
        refs=refs,
        doc=doc,
        own=principal.payee == payee_id,
        **flash,
    )


@router.get("/plan", response_class=HTMLResponse)
def my_plan(
    request: Request,
    payee: str | None = Query(None, max_length=128),
    plan: str | None = Query(None, max_length=128),
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    principal: Principal = Depends(page_principal),
) -> Response:
    """The payee's plan document (default: their current version of their first plan)."""
    done = request.query_params.get("done", "")
    return _my_plan_page(request, principal, payee or None, plan or None, version, done=done)


@router.get("/plan/{payee}/{plan}/{version}/document.html", response_class=HTMLResponse)
def document_html(
    request: Request, payee: str, plan: str, version: int = Version, principal: Principal = Depends(page_principal)
) -> Response:
    """The plan document as a standalone page (the same bytes as the API's `.html`)."""
    return HTMLResponse(render_html(plan_document_for(engine_of(request), principal, payee, plan, version)))


@router.get("/plan/{payee}/{plan}/{version}/document.pdf")
def document_pdf(
    request: Request, payee: str, plan: str, version: int = Version, principal: Principal = Depends(page_principal)
) -> Response:
    """The plan document as an A4 PDF (byte-identical when made again)."""
    doc = plan_document_for(engine_of(request), principal, payee, plan, version)
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{file_stem(doc)}.pdf"'},
    )


@router.post("/plan/accept", response_class=HTMLResponse)
def accept(
    request: Request,
    csrf_token: str = Form(""),
    payee: str = Form(""),
    plan: str = Form(""),
    version: int = Form(..., ge=1, le=2**31 - 1),
    principal: Principal = Depends(page_principal),
) -> Response:
    """The payee accepts a version of their plan ("I accept this plan")."""
    check_csrf(request, csrf_token)
    try:
        doc = accept_for(engine_of(request), principal, payee.strip(), plan.strip(), version)
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden) or exc.http_status == 404:
            raise
        return _my_plan_page(request, principal, payee, plan, version, status_code=exc.http_status, error=str(exc))
    done = f"you accepted {doc.plan_name} version {doc.version}"
    if doc.holds_until_accepted:
        done += "; pay held until now is released when the month is next calculated"
    query = urlencode({"plan": doc.plan, "version": doc.version, "done": done})
    return RedirectResponse(f"/plan?{query}", status_code=303)


@router.get("/plan-acceptance", response_class=HTMLResponse)
def acceptance(
    request: Request,
    plan: str | None = Query(None, max_length=128),
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    status: str | None = Query(None, pattern="^(|accepted|pending)$"),
    principal: Principal = Depends(page_principal),
) -> Response:
    """Per plan version, who has accepted and who has not (admin, comp analyst, finance; a manager: the team)."""
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("plan acceptance is for admin, comp_analyst, finance and manager users; see My plan")
    engine = engine_of(request)
    every = acceptance_status_for(engine, principal)
    plans = sorted({(r.plan, r.plan_name) for r in every})
    versions = sorted({(r.plan, r.version) for r in every})
    accepted = None if not status else status == "accepted"
    rows = (
        acceptance_status_for(engine, principal, plan or None, version, accepted)
        if plan or version or status
        else every
    )
    groups: dict[tuple[str, int], list[StatusRow]] = {}
    for r in rows:
        groups.setdefault((r.plan, r.version), []).append(r)
    counts: dict[tuple[str, int], tuple[int, int]] = {}
    first: dict[tuple[str, int], StatusRow] = {}
    for r in every:
        done, total = counts.get((r.plan, r.version), (0, 0))
        counts[(r.plan, r.version)] = (done + (1 if r.accepted else 0), total + 1)
        first.setdefault((r.plan, r.version), r)
    return render(
        request,
        "plandocs_acceptance.html",
        principal,
        help_anchor="plan-acceptance",
        groups=groups,
        counts=counts,
        summary=list(first.values()),
        plans=plans,
        versions=versions,
        plan=plan or "",
        version=version,
        status=status or "",
    )
