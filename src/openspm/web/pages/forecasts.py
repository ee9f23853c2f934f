"""The forecasts page `/insights/forecasts`: a scope's monthly bookings with the newest stored forecast of each
method and the seasonal-naive baseline (chart and table), forecast jobs (started by admin and comp analyst, progress
polled), the accuracy of every stored forecast, an on-demand back-test, and commits: the entry form (a rep's commit
and best case, a manager's call) and the roll-up of the reporting lines.

Thin over `openspm.access.forecasts`: reps see only the commits part; forms carry the CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import forecasts as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.insights import series
from openspm.web.jobqueue import queue_of
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/insights")


def _jobs(request: Request, principal: Principal) -> dict[str, Any]:
    jobs = access.forecast_jobs_for(engine_of(request), principal)
    return {"jobs": jobs, "polling": any(not j.done for j in jobs)}


def _chart(view: Any) -> dict[str, Any]:
    """The series as ECharts wants them: months, actuals (null after the last), one list per method, each
    starting from the last actual month so the lines join the history."""
    actual = [None if p.actual is None else float(p.actual) for p in view.points]
    methods: dict[str, list[float | None]] = {}
    for mt in view.methods:
        values = [float(p.forecasts[mt]) if mt in p.forecasts else None for p in view.points]
        first = next((i for i, v in enumerate(values) if v is not None), None)
        if first and actual[first - 1] is not None and values[first - 1] is None:
            values[first - 1] = actual[first - 1]
        methods[mt] = values
    return {"months": [p.month for p in view.points], "actual": actual, "methods": methods, "baseline": series.BASELINE}


def _page(request: Request, principal: Principal, status_code: int = 200, **flash: str) -> Response:
    engine = engine_of(request)
    params = request.query_params
    context: dict[str, Any] = {"reader": access.may_read(principal), "methods": series.METHODS}
    if context["reader"]:
        page = access.forecast_page_for(engine, principal, params.get("scope") or "company")
        context.update(page=page, chart=_chart(page.view), **_jobs(request, principal))
        holdout = params.get("holdout_from", "").strip()
        context["holdout_from"] = holdout
        if holdout:
            try:
                context["backtest"] = access.backtest_for(engine, principal, holdout)
            except InvalidInput as exc:
                context["backtest_error"] = str(exc)
    periods, current = access.commit_periods(engine)
    period = params.get("period") or current
    context.update(periods=periods, period=period)
    if period:
        payee = params.get("payee") or None
        trees = access.rollup_for(engine, principal, period, payee)
        # the whole company is long: admin, comp analyst and finance see three levels and drill down by name
        depth = 2 if principal.sees_all and payee is None else 99
        context["trees"] = [[(d, n) for d, n in t.walk() if d <= depth] for t in trees]
        context["payee"] = payee
        context["mine"] = access.history_for(engine, principal, period)
    return render(
        request, "forecasts.html", principal, status_code=status_code, help_anchor="forecasts", **context, **flash
    )


@router.get("/forecasts", response_class=HTMLResponse)
def forecasts_page(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return _page(request, principal, done=request.query_params.get("done", ""))


@router.get("/forecasts/jobs", response_class=HTMLResponse)
def forecast_jobs(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The forecast jobs table alone (what htmx swaps in every second while a forecast runs)."""
    return render(request, "forecasts_jobs.html", principal, **_jobs(request, principal))


@router.post("/forecasts", response_class=HTMLResponse)
def start_forecast(
    request: Request,
    csrf_token: str = Form(""),
    horizon: str = Form("6"),
    method: list[str] = Form([]),
    first_month: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    try:
        try:
            months = int(horizon)
        except ValueError:
            raise InvalidInput(f"horizon {horizon!r} is not a whole number of months") from None
        job = access.start_forecast_for(
            engine_of(request), queue_of(request), principal, months, method or series.METHODS
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _page(request, principal, status_code=exc.http_status, error=str(exc))
    done = f"forecast job {job.id} queued: the chart shows it when it is done"
    return RedirectResponse("/insights/forecasts?" + urlencode({"done": done}), status_code=303)


@router.post("/forecasts/commits", response_class=HTMLResponse)
def enter_commit(
    request: Request,
    csrf_token: str = Form(""),
    period: str = Form(""),
    commit: str = Form(""),
    best_case: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    try:
        amount = access.parse_amount(commit, "the commit")
        if amount is None:
            raise InvalidInput("enter a commit amount")
        entry = access.enter_commit_for(
            engine_of(request),
            principal,
            period=period,
            commit=amount,
            best_case=access.parse_amount(best_case, "the best case"),
            note=note.strip() or None,
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _page(request, principal, status_code=exc.http_status, error=str(exc))
    what = "call" if entry.kind == "call" else "commit"
    done = f"{what} for {entry.period} saved: {entry.commit:,.2f} {entry.currency}"
    return RedirectResponse("/insights/forecasts?" + urlencode({"done": done, "period": period}), status_code=303)
