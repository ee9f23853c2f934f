"""The plans pages: plans and their versions, a version's YAML, a diff of any two versions, and (admin, comp
analyst) a draft editor with live validation that publishes a new version effective from a chosen date.

Every role reads plans (a rep only the plans they are assigned to); editing and publishing answer 403 for the
others. The editor posts the draft to `/plans/validate` as the user types (htmx, after a pause) and shows the
same `FILE @ key: problem` line `openspm plan check` prints; nothing in a draft is ever evaluated.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import feedback as feedback_access
from openspm.access import plans as access
from openspm.access.principal import Principal
from openspm.access.service import periods_for
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/plans")
MAX_DOCUMENT = 1_000_000
PlanId = Path(..., min_length=1, max_length=128)
Version = Path(..., ge=1, le=2**31 - 1)


@router.get("", response_class=HTMLResponse)
def plans(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    rows = access.plans_for(engine_of(request), principal)
    return render(request, "plans.html", principal, help_anchor="plans", rows=rows)


@router.post("/validate", response_class=HTMLResponse)
def validate(
    request: Request,
    document: str = Form("", max_length=MAX_DOCUMENT),
    plan: str = Form("plan", max_length=128),
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    """The problems panel of the editor (an htmx fragment)."""
    check_csrf(request, request.headers.get("x-csrf-token") or csrf_token)
    result = access.validate(document, f"{plan}.yaml")
    return render(request, "plans_problems.html", principal, result=result)


@router.get("/{plan}", response_class=HTMLResponse)
def plan_page(request: Request, plan: str = PlanId, principal: Principal = Depends(page_principal)) -> Response:
    engine = engine_of(request)
    summary = access.plan_for(engine, principal, plan)
    versions = access.versions_for(engine, principal, plan)
    return render(
        request,
        "plans_detail.html",
        principal,
        help_anchor="plan-versions",
        plan=summary,
        versions=versions,
        done=request.query_params.get("done", ""),
    )


@router.get("/{plan}/versions/{version}", response_class=HTMLResponse)
def version_page(
    request: Request, plan: str = PlanId, version: int = Version, principal: Principal = Depends(page_principal)
) -> Response:
    engine = engine_of(request)
    found = access.version_for(engine, principal, plan, version)
    return render(
        request,
        "plans_version.html",
        principal,
        help_anchor="plan-versions",
        plan=access.plan_for(engine, principal, plan),
        version=found,
        feedback=feedback_access.summary_for(engine, principal, plan, version),
    )


@router.get("/{plan}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    plan: str = PlanId,
    old: int = Query(..., ge=1, le=2**31 - 1),
    new: int = Query(..., ge=1, le=2**31 - 1),
    principal: Principal = Depends(page_principal),
) -> Response:
    engine = engine_of(request)
    found = access.diff_for(engine, principal, plan, old, new)
    versions = [v.version for v in access.versions_for(engine, principal, plan)]
    return render(
        request, "plans_diff.html", principal, help_anchor="plan-diff", diff=found, versions=versions, plan=plan
    )


def _closed_hint(request: Request, principal: Principal) -> str:
    closed = [p for p in periods_for(engine_of(request), principal) if p.status == "closed"]
    if not closed:
        return ""
    newest = max(closed, key=lambda p: p.end)
    return f"{newest.name} is the newest closed month: a version must take effect on {newest.end} or later."


def _editor(
    request: Request,
    principal: Principal,
    plan: str,
    document: str,
    base: int | None,
    effective_from: str,
    note: str = "",
    status_code: int = 200,
    error: str = "",
) -> Response:
    return render(
        request,
        "plans_edit.html",
        principal,
        status_code=status_code,
        help_anchor="plan-editor",
        plan=plan,
        document=document,
        base=base,
        effective_from=effective_from,
        note=note,
        result=access.validate(document, f"{plan}.yaml"),
        closed_hint=_closed_hint(request, principal),
        error=error,
    )


@router.get("/{plan}/edit", response_class=HTMLResponse)
def edit(
    request: Request,
    plan: str = PlanId,
    base: int | None = Query(None, alias="from", ge=1, le=2**31 - 1),
    principal: Principal = Depends(page_principal),
) -> Response:
    """A new draft from a version (default: the newest); publishing it makes the next version."""
    principal.require_write("editing a plan")
    engine = engine_of(request)
    versions = access.versions_for(engine, principal, plan)
    number = base or (versions[0].version if versions else None)
    if number is None:
        raise InvalidInput(f"plan {plan!r} has no version to start a draft from")
    found = access.version_for(engine, principal, plan, number)
    return _editor(request, principal, plan, found.document or "", number, found.effective_from.isoformat())


@router.post("/{plan}/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    plan: str = PlanId,
    csrf_token: str = Form(""),
    document: str = Form("", max_length=MAX_DOCUMENT),
    effective_from: str = Form(""),
    note: str = Form("", max_length=2000),
    base: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("publishing a plan version")
    base_version = int(base) if base.isdigit() else None
    try:
        try:
            day = date.fromisoformat(effective_from.strip()) if effective_from.strip() else None
        except ValueError:
            raise InvalidInput(f"effective from {effective_from!r} is not a date; use YYYY-MM-DD") from None
        published = access.publish_for(engine_of(request), principal, plan, document, day, note.strip())
    except OpenSpmError as exc:
        return _editor(
            request,
            principal,
            plan,
            document,
            base_version,
            effective_from,
            note,
            status_code=exc.http_status,
            error=str(exc),
        )
    done = f"version {published.version} published, effective from {published.effective_from}"
    return RedirectResponse(f"/plans/{plan}?" + urlencode({"done": done}), status_code=303)
