"""Quota planning pages: drafts with their fairness check, a form to make one, review and publish.

Thin over `openspm.access.planning`: admin and comp analyst make and publish drafts, a manager reviews their
team's lines and approves or sends back, finance reads; every form carries the CSRF token.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.access import planning as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.territory_map import territory_map_for
from openspm.core.dates import parse_date
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.planning.quotas import QuotaParams
from openspm.store import models as m
from openspm.web import forms
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/planning")
ScenarioId = Path(..., ge=1, le=2**31 - 1)


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number")
    return value


def _choices(request: Request) -> dict[str, list[str]]:
    with Session(engine_of(request)) as session:
        return {
            "plans": list(session.scalars(select(m.Plan.external_id).order_by(m.Plan.external_id))),
            "years": list(
                session.scalars(select(m.Period.name).where(m.Period.kind == "year").order_by(m.Period.name))
            ),
        }


def _list_page(
    request: Request, principal: Principal, status_code: int = 200, form: dict[str, str] | None = None, **flash: str
) -> Response:
    rows = access.quota_drafts_for(engine_of(request), principal)
    return render(
        request,
        "planning_quotas.html",
        principal,
        status_code=status_code,
        help_anchor="quota-planning",
        rows=rows,
        form=form or {},
        **_choices(request),
        **flash,
    )


@router.get("/quotas", response_class=HTMLResponse)
def quota_drafts(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return _list_page(request, principal, done=request.query_params.get("done", ""))


@router.post("/quotas", response_class=HTMLResponse)
def make_draft(
    request: Request,
    csrf_token: str = Form(""),
    name: str = Form(""),
    year: str = Form(""),
    plan: str = Form(""),
    measure: str = Form("bookings"),
    target: str = Form(""),
    uncovered: str = Form("0"),
    over_assignment: str = Form("1.1"),
    alpha: str = Form("0.6"),
    max_change: str = Form(""),
    seasonality: str = Form(""),
    scale: str = Form("0"),
    ramp: str = Form(""),
    managers_over: str = Form(""),
    managers_plan: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("making a quota draft")
    form = {
        "name": name,
        "year": year,
        "plan": plan,
        "measure": measure,
        "target": target,
        "uncovered": uncovered,
        "over_assignment": over_assignment,
        "alpha": alpha,
        "max_change": max_change,
        "seasonality": seasonality,
        "scale": scale,
        "ramp": ramp,
        "managers_over": managers_over,
        "managers_plan": managers_plan,
    }
    try:
        try:
            places = int(scale.strip() or "0")
        except ValueError:
            raise InvalidInput(f"scale {scale!r} is a whole number of decimal places, e.g. 0 or -3") from None
        params = QuotaParams(
            year=year.strip(),
            plan=plan.strip(),
            measure=measure.strip() or "bookings",
            target=_number(target, "target"),
            uncovered=_number(uncovered or "0", "uncovered"),
            over_assignment=_number(over_assignment, "over-assignment"),
            alpha=_number(alpha, "alpha"),
            max_change=_number(max_change, "max change") if max_change.strip() else None,
            seasonality=tuple(_number(w, "seasonality") for w in seasonality.split(",")) if seasonality.strip() else (),
            scale=places,
            ramp=tuple(_number(f, "ramp") for f in ramp.split(",")) if ramp.strip() else (),
            managers_over=_number(managers_over, "managers over") if managers_over.strip() else None,
            managers_plan=managers_plan.strip() or None,
        )
        draft = access.draft_quotas_for(
            engine_of(request), principal, params, name.strip() or f"{params.year} {params.plan} {params.measure}"
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _list_page(request, principal, status_code=exc.http_status, form=form, error=str(exc))
    return RedirectResponse(f"/planning/quotas/{draft.id}", status_code=303)


def _detail(request: Request, principal: Principal, scenario_id: int, status_code: int = 200, **flash: str) -> Response:
    draft = access.quota_draft_for(engine_of(request), principal, scenario_id)
    quarters = sorted({q for line in draft.lines for q in line.quarters})
    may_decide = (
        draft.status == "draft"
        and draft.created_by != principal.actor
        and (principal.may_write or (principal.is_manager and "write" in principal.scopes))
    )
    may_evaluate = principal.may_write or (principal.is_manager and "write" in principal.scopes)
    context: dict[str, Any] = {
        **_evaluation_jobs(request, principal, scenario_id),
        "d": draft,
        "quarters": quarters,
        "may_decide": may_decide,
        "may_evaluate": may_evaluate,
        "ev": _evaluation_view(draft.evaluation),
    }
    return render(
        request,
        "planning_quota.html",
        principal,
        status_code=status_code,
        help_anchor="quota-planning",
        **context,
        **flash,
    )


def _evaluation_jobs(request: Request, principal: Principal, scenario_id: int) -> dict[str, Any]:
    """The draft's newest evaluation jobs, and whether one is still running (the page then polls)."""
    jobs = access.quota_evaluation_jobs_for(engine_of(request), principal, scenario_id)
    return {"eval_jobs": jobs, "eval_polling": any(not j.done for j in jobs), "scenario_id": scenario_id}


@router.get("/quotas/{scenario_id}/evaluations", response_class=HTMLResponse)
def evaluation_jobs(
    request: Request, scenario_id: int = ScenarioId, principal: Principal = Depends(page_principal)
) -> Response:
    """The draft's evaluation jobs (polled every second while one runs; when none is left running htmx reloads
    the page, which then shows the kept evaluation)."""
    context = _evaluation_jobs(request, principal, scenario_id)
    answer = render(request, "planning_quota_evaluations.html", principal, **context)
    if not context["eval_polling"] and request.headers.get("hx-request"):
        answer.headers["HX-Refresh"] = "true"
    return answer


def _evaluation_view(kept: dict[str, Any] | None) -> dict[str, Any] | None:
    """A kept evaluation with its money as Decimals, for the side-by-side table."""
    if not kept:
        return None

    def column(f: dict[str, Any]) -> dict[str, Any]:
        return {
            **f,
            "quota": Decimal(f["quota"]),
            "revenue": Decimal(f["revenue"]),
            "cost": {c: Decimal(v) for c, v in f["cost"].items()},
        }

    def change(x: dict[str, Any]) -> dict[str, Any]:
        return {**x, **{k: Decimal(x[k]) for k in ("baseline", "draft", "change")}}

    return {
        **kept,
        "baseline": column(kept["baseline"]),
        "draft": column(kept["draft"]),
        "gains": [change(x) for x in kept["gains"]],
        "losses": [change(x) for x in kept["losses"]],
    }


@router.get("/quotas/{scenario_id}", response_class=HTMLResponse)
def quota_draft(
    request: Request, scenario_id: int = ScenarioId, principal: Principal = Depends(page_principal)
) -> Response:
    return _detail(request, principal, scenario_id, done=request.query_params.get("done", ""))


@router.post("/quotas/{scenario_id}/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    action: str,
    scenario_id: int = ScenarioId,
    csrf_token: str = Form(""),
    note: str = Form(""),
    from_quarter: str = Form(""),
    basis: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    if action not in ("approve", "reject", "publish", "evaluate"):
        raise InvalidInput(f"unknown action {action!r}; use approve, reject, publish or evaluate")
    engine = engine_of(request)

    def change() -> str:
        if action == "evaluate":
            job = access.start_quota_evaluation_for(
                engine, queue_of(request), principal, scenario_id, basis.strip() or None
            )
            return f"evaluation job {job.id} queued: the result appears below when it is done"
        if action == "publish":
            written = access.publish_quotas_for(engine, principal, scenario_id, from_quarter.strip() or None)
            return f"published {written} quota rows: the next run uses them"
        decided = access.decide_quotas_for(engine, principal, scenario_id, action == "approve", note.strip() or None)
        return f"draft {decided.status}"

    return forms.act(
        change,
        lambda status, error: _detail(request, principal, scenario_id, status_code=status, error=error),
        f"/planning/quotas/{scenario_id}",
        lambda done: done,
        not_found_shows_page=True,
    )


@router.get("/territories", response_class=HTMLResponse)
def territory_map(request: Request, on: str | None = None, principal: Principal = Depends(page_principal)) -> Response:
    """Accounts on a map coloured by territory, each territory's totals and the coverage gaps, as of a day."""
    try:
        day = parse_date(on) if on else None
    except ValueError:
        raise InvalidInput(f"on {on!r}: not a date (expected YYYY-MM-DD)") from None
    data = territory_map_for(engine_of(request), principal, day)
    return render(request, "planning_territories.html", principal, help_anchor="territory-map", t=data)
