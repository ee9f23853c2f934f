"""Planning scenario pages: evaluate a whole scenario (a quota draft, a territory draft, a candidate plan version,
any of them together) as a background job with live progress, read an evaluation (totals, attainment histogram,
who gains and loses) and compare several side by side.

Thin over `openspm.access.scenario_evaluations`: admin, comp analyst and finance start evaluations, managers read
them (their team's payees only), reps get 403; the form carries the CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import scenario_evaluations as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.jobs.service import JobView
from openspm.planning.scenario_evaluation import Comparison
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/planning")
JobId = Path(..., ge=1, le=2**31 - 1)
MAX_DOCUMENT = 1_000_000


def _optional_id(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"{what} {text!r} is not a draft id")
    return int(text)


def _listing(request: Request, principal: Principal) -> dict[str, Any]:
    rows, _total = access.scenario_evaluations_for(engine_of(request), principal)
    return {"jobs": rows, "polling": any(not j.done for j in rows)}


def _list_page(
    request: Request, principal: Principal, status_code: int = 200, form: dict[str, str] | None = None, **flash: str
) -> Response:
    return render(
        request,
        "scenario_evaluations.html",
        principal,
        status_code=status_code,
        help_anchor="scenario-evaluations",
        form=form or {},
        choices=access.choices_for(engine_of(request), principal),
        may_run=access.may_run(principal),
        **_listing(request, principal),
        **flash,
    )


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The evaluations and the form (`?quota_draft=ID&territory_draft=ID` preselects drafts, as their pages link)."""
    form = {k: request.query_params.get(k, "")[:20] for k in ("quota_draft", "territory_draft")}
    return _list_page(request, principal, form=form, done=request.query_params.get("done", ""))


@router.get("/scenarios/jobs", response_class=HTMLResponse)
def scenario_jobs(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The evaluations table alone (what htmx swaps in every second while one runs)."""
    return render(request, "scenario_evaluations_jobs.html", principal, **_listing(request, principal))


@router.post("/scenarios", response_class=HTMLResponse)
def start_evaluation(
    request: Request,
    csrf_token: str = Form(""),
    name: str = Form("", max_length=200),
    quota_draft: str = Form("", max_length=20),
    territory_draft: str = Form("", max_length=20),
    plan_version: str = Form("", max_length=200),
    document: str = Form("", max_length=MAX_DOCUMENT),
    basis: str = Form("", max_length=32),
    months: str = Form("", max_length=400),
    report_plan: str = Form("", max_length=128),
    measure: str = Form("", max_length=64),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    access.require_runner(principal)
    form = {
        "name": name,
        "quota_draft": quota_draft,
        "territory_draft": territory_draft,
        "plan_version": plan_version,
        "document": document,
        "basis": basis,
        "months": months,
        "report_plan": report_plan,
        "measure": measure,
    }
    try:
        values = {
            "name": name.strip() or None,
            "quota_draft": _optional_id(quota_draft, "quota draft"),
            "territory_draft": _optional_id(territory_draft, "territory draft"),
            "plan_version": plan_version.strip() or None,
            "plan_text": document if document.strip() else None,
            "basis": basis.strip() or None,
            "months": [x.strip() for x in months.split(",") if x.strip()],
            "plan": report_plan.strip() or None,
            "measure": measure.strip() or None,
        }
        job = access.start_scenario_evaluation_for(engine_of(request), queue_of(request), principal, values)
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _list_page(request, principal, status_code=exc.http_status, form=form, error=str(exc))
    return RedirectResponse(f"/planning/scenarios/{job.id}", status_code=303)


def _chart(comparison: Comparison) -> dict[str, Any]:
    """The histogram's data for scenario_chart.js: bucket labels and each column's counts."""
    return {"labels": comparison.labels, "series": [{"name": c.label, "data": c.histogram} for c in comparison.columns]}


@router.get("/scenarios/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    job: list[int] = Query(default_factory=list, max_length=20),
    principal: Principal = Depends(page_principal),
) -> Response:
    """Evaluations side by side: `?job=3&job=5` (the baseline first, then each in the order given)."""
    comparison, jobs = access.compare_for(engine_of(request), principal, job)
    return render(
        request,
        "scenario_compare.html",
        principal,
        help_anchor="scenario-evaluations",
        c=comparison,
        jobs=jobs,
        chart=_chart(comparison),
    )


def _status(job: JobView) -> dict[str, Any]:
    return {"j": job, "polling": not job.done}


@router.get("/scenarios/{job_id}/status", response_class=HTMLResponse)
def evaluation_status(
    request: Request, job_id: int = JobId, principal: Principal = Depends(page_principal)
) -> Response:
    """The progress of one evaluation (polled); once it is done, htmx reloads the page to show the result."""
    job = access.scenario_evaluation_for(engine_of(request), principal, job_id)
    answer = render(request, "scenario_evaluation_status.html", principal, **_status(job))
    if job.done and request.headers.get("hx-request"):
        answer.headers["HX-Refresh"] = "true"
    return answer


@router.get("/scenarios/{job_id}", response_class=HTMLResponse)
def evaluation(request: Request, job_id: int = JobId, principal: Principal = Depends(page_principal)) -> Response:
    engine = engine_of(request)
    job = access.scenario_evaluation_for(engine, principal, job_id)
    context: dict[str, Any] = {**_status(job), "c": None, "chart": None}
    if job.state == "succeeded" and job.result:
        comparison, _jobs = access.compare_for(engine, principal, [job_id])
        context.update(c=comparison, chart=_chart(comparison))
    return render(
        request,
        "scenario_evaluation.html",
        principal,
        help_anchor="scenario-evaluations",
        compare_url="/planning/scenarios/compare?" + urlencode({"job": job_id}),
        **context,
    )
