"""Gamification pages: `/leaderboard`, `/contests`, `/contests/{ref}`, `/badges`, `/notifications` (and the nav
bell's count), `/settings` (the leaderboard opt-out). Thin over `openspm.access.gamification`."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import gamification as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import OpenSpmError
from openspm.web.security import check_csrf, engine_of, page_principal, session_principal
from openspm.web.templating import render

router = APIRouter()
ContestRef = Path(..., min_length=1, max_length=64)


def _back(url: str, **flash: str) -> RedirectResponse:
    return RedirectResponse(url + ("?" + urlencode(flash) if flash else ""), status_code=303)


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard(
    request: Request,
    measure: str = "",
    period: str = "",
    metric: str = "value",
    scope: str = "company",
    plan: str = "",
    team: str = "",
    region: str = "",
    principal: Principal = Depends(page_principal),
) -> Response:
    engine = engine_of(request)
    error = ""
    board = None
    if ":" in measure:  # the picker's "plan:measure"
        plan, measure = measure.split(":", 1)
    try:
        board = access.leaderboard_for(
            engine,
            principal,
            measure=measure or None,
            period=period or None,
            metric=metric,
            scope=scope,
            plan=plan or None,
            team=team or None,
            region=region or None,
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        error = str(exc)
    return render(
        request,
        "leaderboard.html",
        principal,
        status_code=200,
        help_anchor="leaderboard",
        board=board,
        error=error,
        periods=access.leaderboard_periods(engine),
        form={"measure": measure, "period": period, "metric": metric, "scope": scope, "region": region, "team": team},
        public=access.ranking_public_for(engine, principal),
    )


@router.get("/settings", response_class=HTMLResponse)
def settings(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return render(
        request,
        "settings.html",
        principal,
        help_anchor="settings",
        public=access.ranking_public_for(engine_of(request), principal),
        done=request.query_params.get("done", ""),
    )


@router.post("/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    csrf_token: str = Form(""),
    public: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    shown = access.set_ranking_public_for(engine_of(request), principal, public == "yes")
    done = "you appear by name on leaderboards" if shown else "you are hidden from other people's leaderboards"
    return _back("/settings", done=done)


@router.get("/contests", response_class=HTMLResponse)
def contests(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return render(
        request,
        "contests.html",
        principal,
        help_anchor="contests",
        contests=access.contests_for(engine_of(request), principal),
        done=request.query_params.get("done", ""),
        source="",
    )


@router.post("/contests", response_class=HTMLResponse)
def add_contest(
    request: Request,
    csrf_token: str = Form(""),
    source: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    try:
        added = access.add_contest_for(engine, principal, source, "contest")
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return render(
            request,
            "contests.html",
            principal,
            status_code=exc.http_status,
            help_anchor="contests",
            contests=access.contests_for(engine, principal),
            error=str(exc),
            source=source,
        )
    return _back(f"/contests/{added.id}", done=f"contest {added.key} added")


@router.get("/contests/{ref}", response_class=HTMLResponse)
def contest(request: Request, ref: str = ContestRef, principal: Principal = Depends(page_principal)) -> Response:
    view = access.standings_for(engine_of(request), principal, ref)
    return render(
        request,
        "contest.html",
        principal,
        help_anchor="contests",
        view=view,
        done=request.query_params.get("done", ""),
        error=request.query_params.get("error", ""),
    )


@router.post("/contests/{ref}/close", response_class=HTMLResponse)
def close_contest(
    request: Request,
    ref: str = ContestRef,
    csrf_token: str = Form(""),
    pay_period: str = Form(""),
    early: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    try:
        closed = access.close_contest_for(
            engine_of(request), principal, ref, pay_period.strip() or None, early == "yes"
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _back(f"/contests/{ref}", error=str(exc))
    done = f"closed: {len(closed.adjustments)} adjustment(s) proposed in {closed.pay_period}, waiting for approval"
    return _back(f"/contests/{ref}", done=done)


@router.get("/badges", response_class=HTMLResponse)
def badges(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    return render(
        request,
        "badges.html",
        principal,
        help_anchor="badges",
        badges=access.badges_for(engine_of(request), principal),
        done=request.query_params.get("done", ""),
    )


@router.post("/badges/award", response_class=HTMLResponse)
def award(request: Request, csrf_token: str = Form(""), principal: Principal = Depends(page_principal)) -> Response:
    check_csrf(request, csrf_token)
    report = access.award_badges_for(engine_of(request), principal)
    return _back("/badges", done=f"{len(report.awarded)} new badge(s) from {len(report.months)} month(s) with runs")


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    engine = engine_of(request)
    return render(
        request,
        "notifications.html",
        principal,
        help_anchor="notifications",
        items=access.notifications_for(engine, principal),
        unread=access.unread_for(engine, principal),
    )


@router.get("/notifications/count", response_class=HTMLResponse)
def notification_count(request: Request) -> Response:
    """The nav bell's number (an htmx fragment): empty when nothing is unread, and when the session has ended (a
    count asked for as the user signs out must not follow a redirect and swap the sign-in page into the nav)."""
    principal = session_principal(request)
    if principal is None:
        return HTMLResponse("")
    unread = access.unread_for(engine_of(request), principal)
    body = f'<span class="count" aria-label="{unread} unread">{unread}</span>' if unread else ""
    return HTMLResponse(body)


@router.post("/notifications/read", response_class=HTMLResponse)
def read(
    request: Request,
    csrf_token: str = Form(""),
    notification: int = Form(0, ge=0, le=2**31 - 1),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    access.mark_read_for(engine_of(request), principal, notification or None)
    return _back("/notifications")
