"""Admin, comp analyst and finance pages: runs started as background jobs with live progress, a run's results,
two runs compared, and held earnings with their release.

Finance sees everything without the forms; a manager or rep gets 403. The jobs table polls its own fragment
(`/admin/runs/jobs`) every second with htmx while a job is queued or running, and stops when all are done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import runs_admin as access
from openspm.access.principal import Principal
from openspm.access.service import periods_for, runs_for
from openspm.core.errors import OpenSpmError
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/admin")


def _run_id() -> Any:
    """A run id in the path (a fresh parameter each time: FastAPI names a shared one after its first use)."""
    return Path(..., ge=1, le=2**31 - 1)


JOBS_SHOWN = 15
RUNS_SHOWN = 50


def _choices(request: Request, principal: Principal) -> dict[str, list[str]]:
    """The months, quarters and years the run form offers (from the calendar's months)."""
    months = [p.name for p in periods_for(engine_of(request), principal)]
    quarters: list[str] = []
    years: list[str] = []
    for name in months:
        year, _, month = name.partition("-M")
        if year not in years:
            years.append(year)
        if month.isdigit():
            quarter = f"{year}-Q{(int(month) - 1) // 3 + 1}"
            if quarter not in quarters:
                quarters.append(quarter)
    return {"months": months, "quarters": quarters, "years": years}


def _runs_page(request: Request, principal: Principal, status_code: int = 200, **context: object) -> Response:
    engine = engine_of(request)
    jobs, total = access.jobs_for(engine, principal, limit=JOBS_SHOWN)
    runs = runs_for(engine, principal)[:RUNS_SHOWN]
    return render(
        request,
        "runs.html",
        principal,
        status_code=status_code,
        help_anchor="runs-and-jobs",
        jobs=jobs,
        jobs_total=total,
        runs=runs,
        polling=any(not j.done for j in jobs),
        **_choices(request, principal),
        **context,
    )


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    access.require_staff(principal, "the runs page")
    return _runs_page(request, principal, done=request.query_params.get("done", ""))


@router.get("/runs/jobs", response_class=HTMLResponse)
def jobs_fragment(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The jobs and runs tables alone (what htmx swaps in every second while a job runs)."""
    engine = engine_of(request)
    jobs, total = access.jobs_for(engine, principal, limit=JOBS_SHOWN)
    return render(
        request,
        "_runs_jobs.html",
        principal,
        jobs=jobs,
        jobs_total=total,
        runs=runs_for(engine, principal)[:RUNS_SHOWN],
        polling=any(not j.done for j in jobs),
    )


@router.post("/runs", response_class=HTMLResponse)
def start_run(
    request: Request,
    csrf_token: str = Form(""),
    period: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("starting a run")
    try:
        job = access.start_run_for(engine_of(request), queue_of(request), principal, period.strip())
    except OpenSpmError as exc:
        return _runs_page(request, principal, status_code=exc.http_status, error=str(exc), period=period)
    months = job.params.get("months", [])
    done = f"job {job.id} queued: {', '.join(months[:3])}{' …' if len(months) > 3 else ''}"
    return RedirectResponse("/admin/runs?" + urlencode({"done": done}), status_code=303)


@router.post("/runs/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel_job(
    request: Request,
    job_id: int = _run_id(),
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    try:
        job = access.cancel_job_for(engine_of(request), principal, job_id)
    except OpenSpmError as exc:
        if exc.http_status == 403:
            raise
        return _runs_page(request, principal, status_code=exc.http_status, error=str(exc))
    return RedirectResponse("/admin/runs?" + urlencode({"done": f"job {job.id} cancelled"}), status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_detail(
    request: Request,
    run_id: int = _run_id(),
    principal: Principal = Depends(page_principal),
) -> Response:
    engine = engine_of(request)
    detail = access.run_for(engine, principal, run_id)
    others = [(i, p) for i, p in access.completed_runs_for(engine, principal) if i != run_id]
    same_month = [o for o in others if o[1] == detail.period]
    return render(
        request,
        "run.html",
        principal,
        help_anchor="run-results",
        run=detail,
        others=same_month + [o for o in others if o[1] != detail.period],
        suggested=next((i for i, _ in same_month if i < run_id), same_month[0][0] if same_month else None),
    )


@router.get("/runs/{run_a}/diff", response_class=HTMLResponse)
def diff_choice(
    request: Request, run_a: int = _run_id(), against: int = 0, principal: Principal = Depends(page_principal)
) -> Response:
    """The "compare with" form's target: /admin/runs/{a}/diff?against=B → /admin/runs/B/diff/A (older first)."""
    access.require_staff(principal, "comparing runs")
    if against < 1:
        return RedirectResponse(f"/admin/runs/{run_a}", status_code=303)
    first, second = sorted((run_a, against))
    return RedirectResponse(f"/admin/runs/{first}/diff/{second}", status_code=303)


@router.get("/runs/{run_a}/diff/{run_b}", response_class=HTMLResponse)
def diff(
    request: Request,
    run_a: int = _run_id(),
    run_b: int = _run_id(),
    principal: Principal = Depends(page_principal),
) -> Response:
    result = access.run_diff_for(engine_of(request), principal, run_a, run_b)
    return render(request, "run_diff.html", principal, help_anchor="run-diff", diff=result)


# --- holds ----------------------------------------------------------------------------------------------------


def _holds_page(
    request: Request, principal: Principal, payee: str | None, status_code: int = 200, **context: object
) -> Response:
    rows = access.holds_for(engine_of(request), principal, payee or None)
    open_months = [p.name for p in periods_for(engine_of(request), principal) if p.status != "closed"]
    return render(
        request,
        "holds.html",
        principal,
        status_code=status_code,
        help_anchor="holds",
        rows=rows,
        payee=payee or "",
        open_months=open_months,
        **context,
    )


@router.get("/holds", response_class=HTMLResponse)
def holds(request: Request, payee: str | None = None, principal: Principal = Depends(page_principal)) -> Response:
    access.require_staff(principal, "the held earnings")
    return _holds_page(request, principal, payee, done=request.query_params.get("done", ""))


@router.post("/holds/release", response_class=HTMLResponse)
def release(
    request: Request,
    csrf_token: str = Form(""),
    plan: str = Form(""),
    payee: str = Form(""),
    component: str = Form(""),
    earned_in: str = Form(""),
    into: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    principal.require_write("releasing a held earning")
    try:
        access.release_hold_for(
            engine_of(request),
            principal,
            plan=plan,
            payee=payee,
            component=component,
            earned_in=earned_in,
            into=into.strip(),
            note=note.strip() or None,
        )
    except OpenSpmError as exc:
        return _holds_page(request, principal, None, status_code=exc.http_status, error=str(exc))
    done = f"{payee}'s {component} of {earned_in} released into {into}: paid when {into} runs next"
    return RedirectResponse("/admin/holds?" + urlencode({"done": done}), status_code=303)
