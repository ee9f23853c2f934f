"""Who may see and do what with feedback on plan versions (threads and surveys); pages, API and CLI go through
here (the CLI acts as a designer).

- designers (admin, comp analyst): every plan's feedback; open threads, reply, close and reopen them; attach,
  close and read surveys with the respondents' names.
- participants: the payees assigned to the plan (at any time) and their managers (a manager with someone of
  their team today on the plan): read the plan's threads and surveys, open threads, comment, answer surveys
  (a user linked to a payee answers; once per survey, changed until it closes).
- finance: reads every plan's feedback (survey results without names); changes nothing.
- anyone else: a rep not on the plan gets `NotFound` (`unknown plan`), as for the plan itself; a manager whose
  team is not on the plan gets `Forbidden`.

Surveys are anonymous to everyone but the designers: results carry no names for participants and finance, and
participants see a survey's results only once at least `MIN_ANONYMOUS` people have answered (so a lone answer
cannot be told apart). Thread comments are signed (the author's name), like any discussion. A token needs the
`write` scope for any change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import WRITERS, Principal
from openspm.access.visibility import visible_payee_ids
from openspm.core.errors import NotFound
from openspm.feedback import service as fb
from openspm.feedback.service import SurveyResults, SurveyView, ThreadDetail, ThreadView
from openspm.store import models as m

MIN_ANONYMOUS = 3
DESIGNER, PARTICIPANT, READER = "designer", "participant", "reader"


def _plan_payees(session: Session, plan: str) -> set[int]:
    return set(
        session.scalars(
            select(m.PlanAssignment.payee_id)
            .join(m.Plan, m.Plan.id == m.PlanAssignment.plan_id)
            .where(m.Plan.external_id == plan)
        )
    )


def role_in(session: Session, principal: Principal, plan: str) -> str | None:
    """`designer`, `participant`, `reader` (finance), or None (may not take part in this plan's feedback)."""
    if principal.roles & WRITERS:
        return DESIGNER
    if principal.sees_all:
        return READER
    if principal.payee_id is None:
        return None
    on_plan = _plan_payees(session, plan)
    if principal.payee_id in on_plan:
        return PARTICIPANT
    if principal.is_manager and (visible_payee_ids(session, principal) or set()) & on_plan:
        return PARTICIPANT
    return None


def _role(session: Session, principal: Principal, plan: str) -> str:
    """The principal's role in the plan's feedback; NotFound / Forbidden when they have none."""
    known = session.scalars(select(m.Plan.id).where(m.Plan.external_id == plan)).first()
    role = role_in(session, principal, plan) if known is not None else None
    if role is not None:
        return role
    if known is None or not principal.is_manager:
        raise NotFound(f"unknown plan {plan!r}")
    raise Forbidden(
        f"feedback on plan {plan} is for its payees, their managers and the plan's designers; "
        f"nobody on {principal.email}'s team is on it"
    )


def role_for(engine: Engine, principal: Principal, plan: str) -> str:
    """The principal's role in a plan's feedback: designer, participant or reader (NotFound / Forbidden: none)."""
    with Session(engine) as session:
        return _role(session, principal, plan)


def _taking_part(role: str, principal: Principal, what: str) -> None:
    if role == READER:
        raise Forbidden(f"{principal.email} has read-only access (finance) and cannot take part in plan feedback")
    if "write" not in principal.scopes:
        raise Forbidden(f"{what} needs a token with the write scope; this token has read only")


def participant_plans(engine: Engine, principal: Principal) -> set[str] | None:
    """The plans whose feedback the principal may see (None: every plan)."""
    if principal.sees_all:
        return None
    with Session(engine) as session:
        return {p for p in session.scalars(select(m.Plan.external_id)) if role_in(session, principal, p)}


@dataclass(frozen=True)
class SurveyEntry:
    survey: SurveyView
    results: SurveyResults | None  # None: hidden until MIN_ANONYMOUS answered (participants)
    mine: list[object] | None  # the principal's own answers (None: not answered)
    may_answer: bool


@dataclass(frozen=True)
class VersionFeedback:
    plan: str
    version: int
    role: str  # designer | participant | reader
    components: list[str]
    threads: list[ThreadView]
    counts: dict[str, int]
    surveys: list[SurveyEntry]


def _results(engine: Engine, principal: Principal, role: str, survey: SurveyView) -> SurveyResults | None:
    if role != DESIGNER and role != READER and survey.respondents < MIN_ANONYMOUS:
        return None
    return fb.results(engine, survey.id, names=role == DESIGNER)


def _entry(engine: Engine, principal: Principal, role: str, survey: SurveyView) -> SurveyEntry:
    mine = fb.my_answers(engine, survey.id, principal.actor) if principal.payee_id is not None else None
    may_answer = role == PARTICIPANT and principal.payee_id is not None and survey.state == "open"
    return SurveyEntry(survey, _results(engine, principal, role, survey), mine, may_answer)


def feedback_for(engine: Engine, principal: Principal, plan: str, version: int) -> VersionFeedback:
    """A plan version's threads and surveys (with results as the principal may see them)."""
    with Session(engine) as session:
        role = _role(session, principal, plan)
        fb.version_document(session, plan, version)
        names = fb.components(session, plan, version)
    return VersionFeedback(
        plan,
        version,
        role,
        names,
        fb.list_threads(engine, plan=plan, version=version),
        fb.thread_counts(engine, plan, version),
        [_entry(engine, principal, role, s) for s in fb.list_surveys(engine, plan=plan, version=version)],
    )


def summary_for(engine: Engine, principal: Principal, plan: str, version: int) -> dict[str, int] | None:
    """Threads per state and surveys open on a plan version, or None when the principal takes no part."""
    with Session(engine) as session:
        if role_in(session, principal, plan) is None:
            return None
    counts = fb.thread_counts(engine, plan, version)
    counts["surveys_open"] = sum(1 for s in fb.list_surveys(engine, plan=plan, version=version) if s.state == "open")
    return counts


@dataclass(frozen=True)
class Overview:
    threads: list[ThreadView]
    surveys: list[SurveyView]


def overview_for(
    engine: Engine, principal: Principal, *, plan: str | None = None, states: Iterable[str] | None = None
) -> Overview:
    """Every thread and survey across plans and versions the principal may see (the designers' view), filtered."""
    visible = participant_plans(engine, principal)
    if plan is not None:
        with Session(engine) as session:
            _role(session, principal, plan)
    return Overview(
        fb.list_threads(engine, plan=plan, plans=visible, states=states),
        fb.list_surveys(engine, plan=plan, plans=visible),
    )


# --- threads ---------------------------------------------------------------------------------------------


def _thread_role(engine: Engine, principal: Principal, thread_id: int) -> str:
    plan, _ = fb.thread_plan(engine, thread_id)
    with Session(engine) as session:
        try:
            return _role(session, principal, plan)
        except (NotFound, Forbidden):
            raise NotFound(f"unknown feedback thread {thread_id}") from None


def thread_for(engine: Engine, principal: Principal, thread_id: int) -> ThreadDetail:
    """A thread with its comments (NotFound outside the principal's plans)."""
    _thread_role(engine, principal, thread_id)
    return fb.thread_detail(engine, thread_id)


def may_design(principal: Principal) -> bool:
    return bool(principal.roles & WRITERS) and "write" in principal.scopes


def open_thread_for(
    engine: Engine,
    principal: Principal,
    plan: str,
    version: int,
    *,
    topic: str,
    body: str,
    component: str | None = None,
) -> ThreadDetail:
    """Open a thread on a plan version (a participant or a designer)."""
    with Session(engine) as session:
        role = _role(session, principal, plan)
    _taking_part(role, principal, "opening a feedback thread")
    return fb.open_thread(
        engine,
        plan=plan,
        version=version,
        topic=topic,
        body=body,
        component=component,
        actor=principal.actor,
        actor_name=principal.name,
        designer=role == DESIGNER,
    )


def reply_for(engine: Engine, principal: Principal, thread_id: int, body: str, close: bool = False) -> ThreadDetail:
    """Comment on a thread; a designer's reply answers it (and may close it)."""
    role = _thread_role(engine, principal, thread_id)
    _taking_part(role, principal, "commenting on a feedback thread")
    if close and role != DESIGNER:
        raise Forbidden("only a plan designer (admin, comp_analyst) closes a feedback thread")
    return fb.reply(
        engine,
        thread_id,
        body=body,
        actor=principal.actor,
        actor_name=principal.name,
        designer=role == DESIGNER,
        close=close,
    )


def close_thread_for(engine: Engine, principal: Principal, thread_id: int, note: str | None = None) -> ThreadDetail:
    _thread_role(engine, principal, thread_id)
    principal.require_write("closing a feedback thread")
    return fb.close_thread(engine, thread_id, actor=principal.actor, note=note)


def reopen_thread_for(engine: Engine, principal: Principal, thread_id: int, note: str | None = None) -> ThreadDetail:
    _thread_role(engine, principal, thread_id)
    principal.require_write("reopening a feedback thread")
    return fb.reopen_thread(engine, thread_id, actor=principal.actor, note=note)


# --- surveys ---------------------------------------------------------------------------------------------


def _survey_role(engine: Engine, principal: Principal, survey_id: int) -> tuple[str, SurveyView]:
    found = fb.survey(engine, survey_id)
    with Session(engine) as session:
        try:
            return _role(session, principal, found.plan), found
        except (NotFound, Forbidden):
            raise NotFound(f"unknown survey {survey_id}") from None


def create_survey_for(
    engine: Engine, principal: Principal, plan: str, version: int, title: str, questions: Sequence[tuple[str, str]]
) -> SurveyView:
    """Attach a survey to a plan version (designers)."""
    principal.require_write("attaching a survey")
    return fb.create_survey(engine, plan=plan, version=version, title=title, questions=questions, actor=principal.actor)


def survey_for(engine: Engine, principal: Principal, survey_id: int) -> SurveyEntry:
    """A survey with its results as the principal may see them and their own answers."""
    role, found = _survey_role(engine, principal, survey_id)
    return _entry(engine, principal, role, found)


def answer_for(engine: Engine, principal: Principal, survey_id: int, answers: Sequence[object]) -> SurveyEntry:
    """Answer (or change the answer to) an open survey: a participant linked to a payee."""
    role, _ = _survey_role(engine, principal, survey_id)
    _taking_part(role, principal, "answering a survey")
    if role != PARTICIPANT or principal.payee_id is None:
        raise Forbidden("surveys are answered by the plan's payees and their managers, not by its designers")
    fb.answer(
        engine,
        survey_id,
        answers=answers,
        respondent=principal.actor,
        respondent_name=principal.name,
        payee_id=principal.payee_id,
    )
    return survey_for(engine, principal, survey_id)


def close_survey_for(engine: Engine, principal: Principal, survey_id: int) -> SurveyEntry:
    _survey_role(engine, principal, survey_id)
    principal.require_write("closing a survey")
    fb.close_survey(engine, survey_id, actor=principal.actor)
    return survey_for(engine, principal, survey_id)
