"""Plan modeling pages: `/plans/model` (a form that starts a model as a background job, the model jobs with their
progress polled every second), a model's results with charts (`/plans/model/{job}`), and its one-page report as
HTML and PDF. Thin over `openspm.access.plan_modeling` (admin, comp analyst, finance; others 403).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import plan_modeling as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.insights import plan_model_report
from openspm.insights.plan_modeling import ModelParams
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render, templates

router = APIRouter(prefix="/plans/model")


def _decimal(value: str | None) -> Decimal | None:
    """A model result's money text as a Decimal, for the `money` filter."""
    return None if value is None else Decimal(value)


templates.env.filters.setdefault("decimal", _decimal)
JobId = Path(..., ge=1, le=2**31 - 1)


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a whole number") from None


def _versions_of(plan: str, values: list[str]) -> list[int]:
    """The ticked stored versions (`plan:version`) of the chosen plan; ticks of other plans are ignored."""
    found = []
    for value in values:
        name, _, number = value.rpartition(":")
        if name == plan:
            found.append(_int(number, "version"))
    return found


def _jobs(request: Request, principal: Principal) -> dict[str, Any]:
    jobs = access.model_jobs_for(engine_of(request), principal)
    return {"jobs": jobs, "polling": any(not j.done for j in jobs)}


def _list_page(
    request: Request, principal: Principal, status_code: int = 200, form: dict[str, Any] | None = None, **flash: str
) -> Response:
    options = access.model_options_for(engine_of(request), principal)
    return render(
        request,
        "plan_modeling.html",
        principal,
        status_code=status_code,
        help_anchor="plan-modeling",
        options=options,
        form=form
        or {"plan": options[0]["plan"] if options else "", "draws": "200", "seed": "7", "method": "lognormal"},
        **_jobs(request, principal),
        **flash,
    )


@router.get("", response_class=HTMLResponse)
def plan_modeling(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return _list_page(request, principal, done=request.query_params.get("done", ""))


@router.get("/jobs", response_class=HTMLResponse)
def model_jobs(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The model jobs table alone (what htmx swaps in every second while a model runs)."""
    return render(request, "plan_modeling_jobs.html", principal, **_jobs(request, principal))


@router.post("", response_class=HTMLResponse)
def start_model(
    request: Request,
    csrf_token: str = Form(""),
    plan: str = Form(""),
    versions: list[str] = Form([]),
    candidate_yaml: str = Form(""),
    candidate_label: str = Form(""),
    start: str = Form(""),
    end: str = Form(""),
    draws: str = Form("200"),
    seed: str = Form("7"),
    method: str = Form("lognormal"),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    form = {
        "plan": plan,
        "versions": versions,
        "candidate_yaml": candidate_yaml,
        "candidate_label": candidate_label,
        "start": start,
        "end": end,
        "draws": draws,
        "seed": seed,
        "method": method,
    }
    engine = engine_of(request)
    try:
        access.require_modeler(principal)
        candidates = access.candidates_of(
            engine,
            plan.strip(),
            _versions_of(plan.strip(), versions),
            [candidate_yaml],
            [candidate_label.strip()],
        )
        params = ModelParams(
            plan.strip(),
            start.strip(),
            end.strip(),
            candidates,
            draws=_int(draws, "draws"),
            seed=_int(seed, "seed"),
            method=method,
        )
        job = access.start_model_for(engine, queue_of(request), principal, params)
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _list_page(request, principal, status_code=exc.http_status, form=form, error=str(exc))
    done = f"model {job.id} queued: its results appear below when it is done"
    return RedirectResponse("/plans/model?" + urlencode({"done": done}), status_code=303)


@router.get("/{job_id}", response_class=HTMLResponse)
def model_result(request: Request, job_id: int = JobId, principal: Principal = Depends(page_principal)) -> Response:
    job = access.model_job_for(engine_of(request), principal, job_id)
    result = job.result if job.state == "succeeded" else None
    charts = None
    if result is not None:
        charts = {
            "histogram": result["histogram"],
            "changes": [
                {"label": c["label"], "rows": c["top_gains"] + list(reversed(c["top_losses"]))}
                for c in result["changes"]
            ],
        }
    return render(
        request,
        "plan_model.html",
        principal,
        help_anchor="plan-modeling",
        job=job,
        r=result,
        charts=json.dumps(charts) if charts else "",
    )


@router.get("/{job_id}/report.html", response_class=HTMLResponse)
def model_report_html(
    request: Request, job_id: int = JobId, principal: Principal = Depends(page_principal)
) -> Response:
    job, result = access.finished_model_for(engine_of(request), principal, job_id)
    return HTMLResponse(plan_model_report.render_html(result, job.id))


@router.get("/{job_id}/report.pdf")
def model_report_pdf(request: Request, job_id: int = JobId, principal: Principal = Depends(page_principal)) -> Response:
    job, result = access.finished_model_for(engine_of(request), principal, job_id)
    return Response(
        plan_model_report.render_pdf(result, job.id),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="plan-model-{job.id}.pdf"'},
    )
