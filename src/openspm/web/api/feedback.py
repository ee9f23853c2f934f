"""`/api/v1` feedback on plan versions: threads (open, comment, close, reopen) and surveys (attach, answer,
close, results). Thin over `openspm.access.feedback`.

A plan you may not take part in answers 404 (a rep) or 403 (a manager with nobody on it); a change your role may
not make 403; a change the state forbids (a comment on a closed thread, an answer to a closed survey) 409; bad
input 422. Survey results carry names for the plan's designers only, and reach other participants once three
people have answered.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import feedback as access
from openspm.access.principal import Principal
from openspm.feedback.service import MAX_QUESTIONS, THREAD_STATES
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, principal
from openspm.web.api.schemas import NoteIn, StrictIn
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["feedback"])
PlanPath = Path(..., min_length=1, max_length=128, description="The plan's id, e.g. ae-commission")
VersionPath = Path(..., ge=1, le=2**31 - 1, description="The plan version")
ThreadId = Path(..., ge=1, le=2**31 - 1, description="The thread's id")
SurveyId = Path(..., ge=1, le=2**31 - 1, description="The survey's id")
CONFLICT = {**WRITE_ERRORS, 409: {**WRITE_ERRORS[409], "description": "The thread's or survey's state forbids it"}}


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    thread_id: int
    author: str
    author_name: str | None
    designer: bool = Field(description="A plan designer's (admin, comp analyst) reply")
    body: str
    created_at: datetime


class ThreadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    plan: str
    version: int
    component: str | None = Field(description="The plan component the thread is about, if any")
    topic: str
    state: str = Field(description=", ".join(THREAD_STATES))
    created_by: str
    created_by_name: str | None
    created_at: datetime
    updated_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    comments: int


class ThreadDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    thread: ThreadOut
    comments: list[CommentOut]


class QuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    text: str
    kind: str = Field(description="scale (answer 1 to 5) or text")


class SurveyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    plan: str
    version: int
    title: str
    questions: list[QuestionOut]
    state: str = Field(description="open or closed")
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    respondents: int


class TextAnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    text: str
    respondent: str | None = Field(description="Designers only")
    respondent_name: str | None


class QuestionResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    text: str
    kind: str
    count: int
    mean: Decimal | None = Field(description="Scale questions: the mean answer, 2 places")
    distribution: dict[int, int] = Field(description="Scale questions: how many answered 1, 2, 3, 4, 5")
    texts: list[TextAnswerOut]


class RespondentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    respondent: str
    name: str | None
    answered_at: datetime


class ResultsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    survey: SurveyOut
    respondents: int
    questions: list[QuestionResultOut]
    names: list[RespondentOut] | None = Field(description="Who answered: designers only")


class SurveyEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    survey: SurveyOut
    results: ResultsOut | None = Field(description="null: hidden until three people answered (participants)")
    mine: list[int | str | None] | None = Field(description="Your answers (null: not answered)")
    may_answer: bool


class VersionFeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    version: int
    role: str = Field(description="Yours: designer, participant or reader")
    components: list[str]
    threads: list[ThreadOut]
    counts: dict[str, int] = Field(description="Threads per state")
    surveys: list[SurveyEntryOut]


class OverviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    threads: list[ThreadOut]
    surveys: list[SurveyOut]


class ThreadIn(StrictIn):
    topic: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=4000, description="The first comment")
    component: str | None = Field(None, max_length=128, description="A component of this plan version")


class CommentIn(StrictIn):
    body: str = Field(..., min_length=1, max_length=4000)
    close: bool = Field(False, description="Designers: close the thread with this reply")


class QuestionIn(StrictIn):
    text: str = Field(..., min_length=1, max_length=500)
    kind: Literal["scale", "text"]


class SurveyIn(StrictIn):
    title: str = Field(..., min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(..., min_length=1, max_length=MAX_QUESTIONS)


class AnswersIn(StrictIn):
    answers: list[int | str | None] = Field(
        ..., max_length=MAX_QUESTIONS, description="One per question, in order: 1..5, a text, or null"
    )


@router.get("/plans/{plan}/versions/{version}/feedback", response_model=VersionFeedbackOut)
def version_feedback(
    request: Request, plan: str = PlanPath, version: int = VersionPath, who: Principal = Depends(principal)
) -> Any:
    """A plan version's feedback threads and surveys (with results as you may see them)."""
    return access.feedback_for(engine_of(request), who, plan, version)


@router.post(
    "/plans/{plan}/versions/{version}/feedback/threads",
    response_model=ThreadDetailOut,
    status_code=201,
    responses=CONFLICT,
)
def open_thread(
    request: Request,
    body: ThreadIn,
    plan: str = PlanPath,
    version: int = VersionPath,
    who: Principal = Depends(principal),
) -> Any:
    """Raise a topic on a plan version (its payees, their managers, the designers)."""
    return access.open_thread_for(
        engine_of(request), who, plan, version, topic=body.topic, body=body.body, component=body.component
    )


@router.post(
    "/plans/{plan}/versions/{version}/feedback/surveys", response_model=SurveyOut, status_code=201, responses=CONFLICT
)
def create_survey(
    request: Request,
    body: SurveyIn,
    plan: str = PlanPath,
    version: int = VersionPath,
    who: Principal = Depends(principal),
) -> Any:
    """Attach a survey to a plan version (designers): questions of kind `scale` (1 to 5) or `text`."""
    questions = [(q.text, q.kind) for q in body.questions]
    return access.create_survey_for(engine_of(request), who, plan, version, body.title, questions)


@router.get("/feedback", response_model=OverviewOut)
def overview(
    request: Request,
    plan: str | None = Query(None, min_length=1, max_length=128, description="Only this plan"),
    state: list[str] | None = Query(None, description="Only threads in these states (repeat for several)"),
    who: Principal = Depends(principal),
) -> Any:
    """Every thread and survey across plans and versions you may see (the designers' view: all of them)."""
    return access.overview_for(engine_of(request), who, plan=plan, states=state)


@router.get("/feedback/threads/{thread_id}", response_model=ThreadDetailOut)
def get_thread(request: Request, thread_id: int = ThreadId, who: Principal = Depends(principal)) -> Any:
    """A thread with its comments."""
    return access.thread_for(engine_of(request), who, thread_id)


@router.post(
    "/feedback/threads/{thread_id}/comments", response_model=ThreadDetailOut, status_code=201, responses=CONFLICT
)
def comment(request: Request, body: CommentIn, thread_id: int = ThreadId, who: Principal = Depends(principal)) -> Any:
    """Comment on a thread that is not closed; a designer's reply marks it answered (or closes it)."""
    return access.reply_for(engine_of(request), who, thread_id, body.body, body.close)


@router.post("/feedback/threads/{thread_id}/close", response_model=ThreadDetailOut, responses=CONFLICT)
def close_thread(
    request: Request, body: NoteIn | None = None, thread_id: int = ThreadId, who: Principal = Depends(principal)
) -> Any:
    """Close a thread (designers)."""
    return access.close_thread_for(engine_of(request), who, thread_id, body.note if body else None)


@router.post("/feedback/threads/{thread_id}/reopen", response_model=ThreadDetailOut, responses=CONFLICT)
def reopen_thread(
    request: Request, body: NoteIn | None = None, thread_id: int = ThreadId, who: Principal = Depends(principal)
) -> Any:
    """Reopen a closed thread (designers)."""
    return access.reopen_thread_for(engine_of(request), who, thread_id, body.note if body else None)


@router.get("/feedback/surveys/{survey_id}", response_model=SurveyEntryOut)
def get_survey(request: Request, survey_id: int = SurveyId, who: Principal = Depends(principal)) -> Any:
    """A survey, its results as you may see them, and your own answers."""
    return access.survey_for(engine_of(request), who, survey_id)


@router.put("/feedback/surveys/{survey_id}/answers", response_model=SurveyEntryOut, responses=CONFLICT)
def answer(request: Request, body: AnswersIn, survey_id: int = SurveyId, who: Principal = Depends(principal)) -> Any:
    """Answer an open survey, or change your answer (payees on the plan and their managers)."""
    return access.answer_for(engine_of(request), who, survey_id, body.answers)


@router.post("/feedback/surveys/{survey_id}/close", response_model=SurveyEntryOut, responses=CONFLICT)
def close_survey(request: Request, survey_id: int = SurveyId, who: Principal = Depends(principal)) -> Any:
    """Close a survey: answers are final (designers)."""
    return access.close_survey_for(engine_of(request), who, survey_id)
