"""Territory draft pages: the drafts, a form that starts a design as a background job (its progress polled like
the runs page), a draft's summary, moves and per-territory bands, review and publish with an effective date.

Thin over `openspm.access.territory_drafts`: admin and comp analyst start designs and publish, a manager (or
admin, comp analyst) who did not make a draft approves or sends it back, finance reads; forms carry the CSRF token.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import territory_drafts as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.dates import parse_date, utc_now
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.planning.territory_scenarios import TerritoryParams
from openspm.web import forms
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/planning")
ScenarioId = Path(..., ge=1, le=2**31 - 1)


def _day(text: str, what: str) -> date:
    try:
        return parse_date(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r}: not a date (expected YYYY-MM-DD)") from None


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number")
    return value


def _jobs(request: Request, principal: Principal) -> dict[str, Any]:
    """The design jobs and the drafts (one fragment, so a draft appears when its job is done)."""
    jobs = access.design_jobs_for(engine_of(request), principal)
    rows = access.territory_drafts_for(engine_of(request), principal)
    return {"jobs": jobs, "rows": rows, "polling": any(not j.done for j in jobs)}


def _list_page(
    request: Request, principal: Principal, status_code: int = 200, form: dict[str, str] | None = None, **flash: str
) -> Response:
    return render(
        request,
        "territory_drafts.html",
        principal,
        status_code=status_code,
        help_anchor="territory-drafts",
        form=form or {"on": utc_now().date().isoformat()},
        **_jobs(request, principal),
        **flash,
    )


@router.get("/territory-drafts", response_class=HTMLResponse)
def territory_drafts(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return _list_page(request, principal, done=request.query_params.get("done", ""))


@router.get("/territory-drafts/jobs", response_class=HTMLResponse)
def design_jobs(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The design jobs and drafts tables alone (what htmx swaps in every second while a design runs)."""
    return render(request, "territory_drafts_jobs.html", principal, **_jobs(request, principal))


@router.post("/territory-drafts", response_class=HTMLResponse)
def start_design(
    request: Request,
    csrf_token: str = Form(""),
    name: str = Form(""),
    on: str = Form(""),
    tolerance: str = Form("0.05"),
    solver: str = Form("highs"),
    time_limit: str = Form("60"),
    measures: str = Form("potential"),
    objective: str = Form("moves"),
    parent: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("starting a territory design")
    form = {
        "name": name,
        "on": on,
        "tolerance": tolerance,
        "solver": solver,
        "time_limit": time_limit,
        "measures": measures,
        "objective": objective,
        "parent": parent,
    }
    try:
        day = _day(on, "on")
        if solver not in ("highs", "cpsat", "greedy"):
            raise InvalidInput(f"solver {solver!r}: choose highs, cpsat or greedy")
        params = TerritoryParams(
            on=day,
            tolerance=_number(tolerance, "tolerance"),
            solver=solver,
            time_limit=float(_number(time_limit, "time limit")),
            measures=tuple(x.strip() for x in measures.split(",") if x.strip()),
            objective=objective.strip() or None,
            parent=parent.strip() or None,
        )
        job = access.start_design_for(
            engine_of(request), queue_of(request), principal, params, name.strip() or f"territories on {day}"
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _list_page(request, principal, status_code=exc.http_status, form=form, error=str(exc))
    done = f"design job {job.id} queued: the draft appears below when it is done"
    return RedirectResponse("/planning/territory-drafts?" + urlencode({"done": done}), status_code=303)


def _detail(request: Request, principal: Principal, scenario_id: int, status_code: int = 200, **flash: str) -> Response:
    draft = access.territory_draft_for(engine_of(request), principal, scenario_id)
    measures = list(draft.params.get("measures", ["potential"]))
    return render(
        request,
        "territory_draft.html",
        principal,
        status_code=status_code,
        help_anchor="territory-drafts",
        d=draft,
        measures=measures,
        may_decide=access.may_decide(principal, draft),
        today=utc_now().date().isoformat(),
        **flash,
    )


@router.get("/territory-drafts/{scenario_id}", response_class=HTMLResponse)
def territory_draft(
    request: Request, scenario_id: int = ScenarioId, principal: Principal = Depends(page_principal)
) -> Response:
    return _detail(request, principal, scenario_id, done=request.query_params.get("done", ""))


@router.post("/territory-drafts/{scenario_id}/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    action: str,
    scenario_id: int = ScenarioId,
    csrf_token: str = Form(""),
    note: str = Form(""),
    effective_from: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    if action not in ("approve", "reject", "publish"):
        raise InvalidInput(f"unknown action {action!r}; use approve, reject or publish")
    engine = engine_of(request)

    def change() -> str:
        if action == "publish":
            day = _day(effective_from, "effective from")
            moved = access.publish_territories_for(engine, principal, scenario_id, day)
            return f"published: {moved} accounts move on {day.isoformat()}"
        decided = access.decide_territories_for(
            engine, principal, scenario_id, action == "approve", note.strip() or None
        )
        return f"draft {decided.status}"

    return forms.act(
        change,
        lambda status, error: _detail(request, principal, scenario_id, status_code=status, error=error),
        f"/planning/territory-drafts/{scenario_id}",
        lambda done: done,
        not_found_shows_page=True,
    )
