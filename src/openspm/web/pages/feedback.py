"""Feedback pages: a plan version's threads and surveys (`/plans/{plan}/versions/{v}/feedback`), one thread with
its comments (`/feedback/threads/{id}`), and every thread and survey across plans and versions (`/feedback`, the
designers' view; others see their own plans).

Every form carries the session's CSRF token; every change goes through `openspm.access.feedback` (which checks
the role and audits as the user). A refusal the state causes (409) or bad input (422) shows the page again with
the reason; a role that may not (403) or a plan outside the scope (404) is the error page.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import feedback as access
from openspm.access.principal import Principal
from openspm.feedback.service import MAX_QUESTIONS, THREAD_STATES
from openspm.web.forms import act
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()
PlanId = Path(..., min_length=1, max_length=128)
Version = Path(..., ge=1, le=2**31 - 1)
ThreadId = Path(..., ge=1, le=2**31 - 1)
SurveyId = Path(..., ge=1, le=2**31 - 1)
SURVEY_ROWS = 5  # question rows on the survey form (at most MAX_QUESTIONS)
SUGGESTED = ("Is the quota achievable?", "Is the plan easy to understand?", "What would you change, and why?")


def _version_url(plan: str, version: int) -> str:
    return f"/plans/{plan}/versions/{version}/feedback"


def _version_page(
    request: Request, principal: Principal, plan: str, version: int, status_code: int = 200, error: str = ""
) -> Response:
    found = access.feedback_for(engine_of(request), principal, plan, version)
    return render(
        request,
        "plans_feedback.html",
        principal,
        status_code=status_code,
        help_anchor="plan-feedback",
        fb=found,
        designer=access.may_design(principal),
        taking_part=found.role != "reader",
        rows=range(1, min(SURVEY_ROWS, MAX_QUESTIONS) + 1),
        suggested=SUGGESTED,
        done=request.query_params.get("done", ""),
        error=error,
    )


def _thread_page(
    request: Request, principal: Principal, thread_id: int, status_code: int = 200, error: str = ""
) -> Response:
    found = access.thread_for(engine_of(request), principal, thread_id)
    with_role = access.role_for(engine_of(request), principal, found.thread.plan)
    return render(
        request,
        "feedback_thread.html",
        principal,
        status_code=status_code,
        help_anchor="plan-feedback",
        t=found.thread,
        comments=found.comments,
        designer=access.may_design(principal),
        taking_part=with_role != "reader",
        done=request.query_params.get("done", ""),
        error=error,
    )


# --- a plan version's feedback ---------------------------------------------------------------------------


@router.get("/plans/{plan}/versions/{version}/feedback", response_class=HTMLResponse)
def version_feedback(
    request: Request, plan: str = PlanId, version: int = Version, principal: Principal = Depends(page_principal)
) -> Response:
    return _version_page(request, principal, plan, version)


@router.post("/plans/{plan}/versions/{version}/feedback/threads", response_class=HTMLResponse)
def open_thread(
    request: Request,
    plan: str = PlanId,
    version: int = Version,
    csrf_token: str = Form(""),
    topic: str = Form("", max_length=1000),
    body: str = Form("", max_length=10_000),
    component: str = Form("", max_length=200),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    made: list[int] = []

    def action() -> None:
        found = access.open_thread_for(
            engine, principal, plan, version, topic=topic, body=body, component=component.strip() or None
        )
        made.append(found.thread.id)

    answer = act(
        action,
        lambda status, error: _version_page(request, principal, plan, version, status, error),
        _version_url(plan, version),
        "thread opened",
    )
    if made:
        return RedirectResponse(f"/feedback/threads/{made[0]}?" + urlencode({"done": "thread opened"}), 303)
    return answer


@router.post("/plans/{plan}/versions/{version}/feedback/surveys", response_class=HTMLResponse)
async def create_survey(
    request: Request, plan: str = PlanId, version: int = Version, principal: Principal = Depends(page_principal)
) -> Response:
    """The survey form: `title`, and per row `q{n}` (the question) and `k{n}` (scale or text); blank rows skipped."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    questions = []
    for n in range(1, MAX_QUESTIONS + 1):
        text = str(form.get(f"q{n}", "")).strip()
        if text:
            questions.append((text[:1000], str(form.get(f"k{n}", "scale"))[:16]))
    title = str(form.get("title", ""))[:1000]
    engine = engine_of(request)
    return act(
        lambda: access.create_survey_for(engine, principal, plan, version, title, questions),
        lambda status, error: _version_page(request, principal, plan, version, status, error),
        _version_url(plan, version),
        "survey attached",
    )


# --- threads ---------------------------------------------------------------------------------------------


@router.get("/feedback/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(
    request: Request, thread_id: int = ThreadId, principal: Principal = Depends(page_principal)
) -> Response:
    return _thread_page(request, principal, thread_id)


def _thread_act(
    request: Request, principal: Principal, thread_id: int, done: str, action: Callable[[], object]
) -> Response:
    return act(
        action,
        lambda status, error: _thread_page(request, principal, thread_id, status, error),
        f"/feedback/threads/{thread_id}",
        done,
    )


@router.post("/feedback/threads/{thread_id}/reply", response_class=HTMLResponse)
def reply(
    request: Request,
    thread_id: int = ThreadId,
    csrf_token: str = Form(""),
    body: str = Form("", max_length=10_000),
    close: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _thread_act(
        request,
        principal,
        thread_id,
        "reply added, thread closed" if close else "comment added",
        lambda: access.reply_for(engine, principal, thread_id, body, bool(close)),
    )


@router.post("/feedback/threads/{thread_id}/close", response_class=HTMLResponse)
def close_thread(
    request: Request,
    thread_id: int = ThreadId,
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _thread_act(
        request, principal, thread_id, "thread closed", lambda: access.close_thread_for(engine, principal, thread_id)
    )


@router.post("/feedback/threads/{thread_id}/reopen", response_class=HTMLResponse)
def reopen_thread(
    request: Request,
    thread_id: int = ThreadId,
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _thread_act(
        request, principal, thread_id, "thread reopened", lambda: access.reopen_thread_for(engine, principal, thread_id)
    )


# --- surveys ---------------------------------------------------------------------------------------------


@router.post("/feedback/surveys/{survey_id}/answer", response_class=HTMLResponse)
async def answer(
    request: Request, survey_id: int = SurveyId, principal: Principal = Depends(page_principal)
) -> Response:
    """The answer form: `a{n}` per question, in order."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    engine = engine_of(request)
    entry = access.survey_for(engine, principal, survey_id)
    answers = [str(form.get(f"a{q.number}", ""))[:10_000] for q in entry.survey.questions]
    plan, version = entry.survey.plan, entry.survey.version
    return act(
        lambda: access.answer_for(engine, principal, survey_id, answers),
        lambda status, error: _version_page(request, principal, plan, version, status, error),
        _version_url(plan, version),
        "your answers are saved" if entry.mine is None else "your answers are changed",
    )


@router.post("/feedback/surveys/{survey_id}/close", response_class=HTMLResponse)
def close_survey(
    request: Request,
    survey_id: int = SurveyId,
    csrf_token: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    entry = access.survey_for(engine, principal, survey_id)
    plan, version = entry.survey.plan, entry.survey.version
    return act(
        lambda: access.close_survey_for(engine, principal, survey_id),
        lambda status, error: _version_page(request, principal, plan, version, status, error),
        _version_url(plan, version),
        "survey closed",
    )


# --- across plans ----------------------------------------------------------------------------------------


@router.get("/feedback", response_class=HTMLResponse)
def overview(
    request: Request,
    state: str | None = Query(None, max_length=16),
    plan: str | None = Query(None, max_length=128),
    principal: Principal = Depends(page_principal),
) -> Response:
    """Every thread and survey across plans and versions the user may see; open threads first."""
    chosen = state if state in THREAD_STATES else None
    found = access.overview_for(engine_of(request), principal, plan=plan or None, states=[chosen] if chosen else None)
    return render(
        request,
        "feedback.html",
        principal,
        help_anchor="plan-feedback",
        threads=found.threads,
        surveys=found.surveys,
        state=chosen or "",
        plan=plan or "",
        states=THREAD_STATES,
    )
