"""Feedback on a plan version: comment threads and short surveys, stored and aggregated.

Threads
- `open_thread(...)` starts a topic on a plan version (optionally about one of its components, checked against
  the version's document) with its first comment; state `open`.
- `reply(...)` adds a comment. A designer's reply (admin, comp analyst) makes the thread `answered` (or `closed`
  with `close=True`); anyone else's comment makes it `open` again (the question is back with the designers).
  A closed thread takes no comment (409) until a designer reopens it.
- `close_thread(...)` / `reopen_thread(...)`: closed ⇄ open.

Surveys
- `create_survey(...)`: a title and 1 to 10 questions, each `scale` (an answer 1 to 5) or `text` (free text).
- `answer(...)`: one answer set per respondent (a user), replaced when they answer again, until the survey is
  closed (409 after). A scale answer is a whole number 1..5; blank answers are allowed but not all blank.
- `results(...)`: per question the count of answers, for a scale question the mean (exact: the sum divided by
  the count, rounded half-even to 2 places, e.g. answers 4, 4, 5 → 13 / 3 = 4.33) and the distribution (how
  many answered 1, 2, 3, 4, 5); for a text question the answers listed. Names go with the answers only when
  `names=True` (the designers' view); `openspm.access.feedback` decides who gets which.

Every change writes an audit entry in the transaction that makes it (entities `feedback_threads`,
`feedback_comments`, `feedback_surveys`, `feedback_answers`). Who may do what is `openspm.access.feedback`; this
module checks state and input only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.text import check_choices, clean_text
from openspm.plan.load import PlanError, parse_plan
from openspm.store import models as m
from openspm.store.audit import add_audited, audit

THREAD_STATES = ("open", "answered", "closed")
SURVEY_STATES = ("open", "closed")
QUESTION_KINDS = ("scale", "text")
SCALE = (1, 2, 3, 4, 5)
MAX_TEXT = 4000
MAX_TITLE = 200
MAX_QUESTIONS = 10
CENTS = Decimal("0.01")


# --- values ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentView:
    id: int
    thread_id: int
    author: str
    author_name: str | None
    designer: bool
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ThreadView:
    id: int
    plan: str
    version: int
    component: str | None
    topic: str
    state: str
    created_by: str
    created_by_name: str | None
    created_at: datetime
    updated_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    comments: int


@dataclass(frozen=True)
class ThreadDetail:
    thread: ThreadView
    comments: list[CommentView]


@dataclass(frozen=True)
class Question:
    number: int  # 1-based position
    text: str
    kind: str  # scale | text


@dataclass(frozen=True)
class SurveyView:
    id: int
    plan: str
    version: int
    title: str
    questions: list[Question]
    state: str
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    respondents: int


@dataclass(frozen=True)
class TextAnswer:
    text: str
    respondent: str | None  # only in the designers' view
    respondent_name: str | None


@dataclass(frozen=True)
class QuestionResult:
    number: int
    text: str
    kind: str
    count: int  # answers given (blank ones not counted)
    mean: Decimal | None  # scale: sum / count, 2 places
    distribution: dict[int, int]  # scale: answer → how many (every value 1..5 listed)
    texts: list[TextAnswer]  # text: the answers, oldest first


@dataclass(frozen=True)
class Respondent:
    respondent: str
    name: str | None
    answered_at: datetime


@dataclass(frozen=True)
class SurveyResults:
    survey: SurveyView
    respondents: int
    questions: list[QuestionResult]
    names: list[Respondent] | None  # who answered: the designers' view only


# --- helpers ---------------------------------------------------------------------------------------------


def _text(value: str | None, what: str, limit: int = MAX_TEXT, required: bool = True) -> str | None:
    return clean_text(value, what, limit, required=required, allow_nul=False)


def version_document(session: Session, plan: str, version: int) -> str:
    """The plan version's document (NotFound for an unknown plan or version)."""
    known = session.scalars(select(m.Plan.id).where(m.Plan.external_id == plan)).first()
    if known is None:
        raise NotFound(f"unknown plan {plan!r}")
    found = session.execute(
        select(m.PlanVersion.id, m.PlanVersion.document).where(
            m.PlanVersion.plan_id == known, m.PlanVersion.version == version
        )
    ).first()
    if found is None:
        raise NotFound(f"plan {plan!r} has no version {version}")
    return found.document or ""


def components(session: Session, plan: str, version: int) -> list[str]:
    """The component names of a plan version (empty when its document does not parse)."""
    try:
        return [c.name for c in parse_plan(version_document(session, plan, version), f"{plan}.yaml").components]
    except PlanError:
        return []


def _thread_view(row: m.FeedbackThread, comments: int) -> ThreadView:
    return ThreadView(
        row.id,
        row.plan,
        row.version,
        row.component,
        row.topic,
        row.state,
        row.created_by,
        row.created_by_name,
        row.created_at,
        row.updated_at,
        row.closed_by,
        row.closed_at,
        comments,
    )


def _comment_view(c: m.FeedbackComment) -> CommentView:
    return CommentView(c.id, c.thread_id, c.author, c.author_name, c.designer, c.body, c.created_at)


def thread_row(session: Session, thread_id: int) -> m.FeedbackThread:
    """The thread (NotFound when there is none)."""
    row = session.get(m.FeedbackThread, thread_id)
    if row is None:
        raise NotFound(f"unknown feedback thread {thread_id}")
    return row


def survey_row(session: Session, survey_id: int) -> m.FeedbackSurvey:
    """The survey (NotFound when there is none)."""
    row = session.get(m.FeedbackSurvey, survey_id)
    if row is None:
        raise NotFound(f"unknown survey {survey_id}")
    return row


def _detail(session: Session, row: m.FeedbackThread) -> ThreadDetail:
    comments = [
        _comment_view(c)
        for c in session.scalars(
            select(m.FeedbackComment)
            .where(m.FeedbackComment.thread_id == row.id)
            .order_by(m.FeedbackComment.created_at, m.FeedbackComment.id)
        )
    ]
    return ThreadDetail(_thread_view(row, len(comments)), comments)


def _questions(row: m.FeedbackSurvey) -> list[Question]:
    return [Question(i, str(q.get("text", "")), str(q.get("kind", "text"))) for i, q in enumerate(row.questions, 1)]


def _survey_view(row: m.FeedbackSurvey, respondents: int) -> SurveyView:
    return SurveyView(
        row.id,
        row.plan,
        row.version,
        row.title,
        _questions(row),
        row.state,
        row.created_by,
        row.created_at,
        row.closed_by,
        row.closed_at,
        respondents,
    )


def _about(
    model: type[m.FeedbackThread] | type[m.FeedbackSurvey],
    plan: str | None,
    version: int | None,
    plans: Iterable[str] | None,
) -> list[ColumnElement[bool]]:
    """The filter of threads or surveys: of one plan, one version, the plans in `plans` (none: nothing)."""
    clauses: list[ColumnElement[bool]] = []
    if plan is not None:
        clauses.append(model.plan == plan)
    if version is not None:
        clauses.append(model.version == version)
    if plans is not None:
        clauses.append(model.plan.in_(list(plans) or [""]))
    return clauses


# --- threads: reading ------------------------------------------------------------------------------------


def thread_detail(engine: Engine, thread_id: int) -> ThreadDetail:
    """A thread with its comments, oldest first."""
    with Session(engine) as session:
        return _detail(session, thread_row(session, thread_id))


def thread_plan(engine: Engine, thread_id: int) -> tuple[str, int]:
    """The plan and version a thread is about (NotFound when there is none)."""
    with Session(engine) as session:
        row = thread_row(session, thread_id)
        return row.plan, row.version


def list_threads(
    engine: Engine,
    *,
    plan: str | None = None,
    version: int | None = None,
    plans: Iterable[str] | None = None,
    states: Iterable[str] | None = None,
) -> list[ThreadView]:
    """Threads (of one plan version, one plan, or the plans in `plans`), in `states`; open ones first, then
    answered, then closed, each newest change first."""
    clauses = _about(m.FeedbackThread, plan, version, plans)
    wanted = check_choices(states or [], THREAD_STATES)
    if wanted:
        clauses.append(m.FeedbackThread.state.in_(wanted))
    counts = (
        select(m.FeedbackComment.thread_id, func.count().label("n")).group_by(m.FeedbackComment.thread_id).subquery()
    )
    with Session(engine) as session:
        rows = session.execute(
            select(m.FeedbackThread, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.thread_id == m.FeedbackThread.id)
            .where(*clauses)
            .order_by(m.FeedbackThread.updated_at.desc(), m.FeedbackThread.id.desc())
        ).all()
    views = [_thread_view(row, int(n)) for row, n in rows]
    return sorted(views, key=lambda t: THREAD_STATES.index(t.state))  # stable: newest first within a state


def thread_counts(engine: Engine, plan: str, version: int) -> dict[str, int]:
    """How many threads of a plan version are in each state (every state listed)."""
    with Session(engine) as session:
        found = dict(
            session.execute(
                select(m.FeedbackThread.state, func.count())
                .where(m.FeedbackThread.plan == plan, m.FeedbackThread.version == version)
                .group_by(m.FeedbackThread.state)
            )
            .tuples()
            .all()
        )
    return {state: int(found.get(state, 0)) for state in THREAD_STATES}


# --- threads: changing -----------------------------------------------------------------------------------


def open_thread(
    engine: Engine,
    *,
    plan: str,
    version: int,
    topic: str,
    body: str,
    actor: str,
    actor_name: str | None = None,
    designer: bool = False,
    component: str | None = None,
) -> ThreadDetail:
    """Start a thread on a plan version with its first comment (state `open`)."""
    title = _text(topic, "the topic", MAX_TITLE)
    text = _text(body, "the comment")
    anchor = _text(component, "the component", 128, required=False)
    with Session(engine) as session, session.begin():
        version_document(session, plan, version)
        if anchor is not None:
            names = components(session, plan, version)
            if anchor not in names:
                raise InvalidInput(
                    f"plan {plan} version {version} has no component {anchor!r}; it has: {', '.join(names) or 'none'}"
                )
        now = utc_now()
        row = m.FeedbackThread(
            plan=plan,
            version=version,
            component=anchor,
            topic=title,
            state="open",
            created_by=actor,
            created_by_name=actor_name,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        session.add(
            m.FeedbackComment(
                thread_id=row.id, author=actor, author_name=actor_name, designer=designer, body=text, created_at=now
            )
        )
        session.flush()
        audit(
            session,
            actor=actor,
            action="insert",
            entity="feedback_threads",
            entity_key=str(row.id),
            after={"plan": plan, "version": version, "component": anchor, "topic": title, "state": "open"},
            note=text,
        )
        return _detail(session, row)


def _set_state(session: Session, row: m.FeedbackThread, state: str, actor: str, action: str, note: str | None) -> None:
    before = row.state
    now = utc_now()
    row.state, row.updated_at = state, now
    if state == "closed":
        row.closed_by, row.closed_at = actor, now
    else:
        row.closed_by = row.closed_at = None
    audit(
        session,
        actor=actor,
        action=action,
        entity="feedback_threads",
        entity_key=str(row.id),
        before={"state": before},
        after={"state": state},
        note=note,
    )


def reply(
    engine: Engine,
    thread_id: int,
    *,
    body: str,
    actor: str,
    actor_name: str | None = None,
    designer: bool = False,
    close: bool = False,
) -> ThreadDetail:
    """Comment on a thread that is not closed: a designer's reply answers it (or closes it, `close=True`),
    anyone else's comment opens it again."""
    text = _text(body, "the comment")
    if close and not designer:
        raise InvalidInput("only a plan designer closes a thread")
    with Session(engine) as session, session.begin():
        row = thread_row(session, thread_id)
        if row.state == "closed":
            raise Conflict(f"feedback thread {thread_id} is closed; a designer reopens it before it takes comments")
        now = utc_now()
        note = m.FeedbackComment(
            thread_id=row.id, author=actor, author_name=actor_name, designer=designer, body=text, created_at=now
        )
        add_audited(
            session,
            note,
            actor=actor,
            action="comment",
            entity="feedback_comments",
            after={"thread": row.id, "designer": designer},
            note=text,
        )
        state = ("closed" if close else "answered") if designer else "open"
        if state != row.state:
            _set_state(session, row, state, actor, "close" if close else ("answer" if designer else "update"), None)
        row.updated_at = now
        return _detail(session, row)


def close_thread(engine: Engine, thread_id: int, *, actor: str, note: str | None = None) -> ThreadDetail:
    """Close a thread (409 when it is closed already)."""
    text = _text(note, "the note", required=False)
    with Session(engine) as session, session.begin():
        row = thread_row(session, thread_id)
        if row.state == "closed":
            raise Conflict(f"feedback thread {thread_id} is closed already")
        _set_state(session, row, "closed", actor, "close", text)
        return _detail(session, row)


def reopen_thread(engine: Engine, thread_id: int, *, actor: str, note: str | None = None) -> ThreadDetail:
    """Reopen a closed thread (409 when it is not closed)."""
    text = _text(note, "the note", required=False)
    with Session(engine) as session, session.begin():
        row = thread_row(session, thread_id)
        if row.state != "closed":
            raise Conflict(f"feedback thread {thread_id} is {row.state}, not closed")
        _set_state(session, row, "open", actor, "reopen", text)
        return _detail(session, row)


# --- surveys ---------------------------------------------------------------------------------------------


def _respondent_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(m.FeedbackAnswer.survey_id, func.count())
            .where(m.FeedbackAnswer.survey_id.in_(ids))
            .group_by(m.FeedbackAnswer.survey_id)
        )
        .tuples()
        .all()
    )


def list_surveys(
    engine: Engine, *, plan: str | None = None, version: int | None = None, plans: Iterable[str] | None = None
) -> list[SurveyView]:
    """Surveys (of one plan version, one plan, or the plans in `plans`), open ones first, newest first."""
    clauses = _about(m.FeedbackSurvey, plan, version, plans)
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(m.FeedbackSurvey)
                .where(*clauses)
                .order_by(m.FeedbackSurvey.created_at.desc(), m.FeedbackSurvey.id.desc())
            )
        )
        counts = _respondent_counts(session, [r.id for r in rows])
    views = [_survey_view(r, int(counts.get(r.id, 0))) for r in rows]
    return sorted(views, key=lambda s: SURVEY_STATES.index(s.state))


def survey(engine: Engine, survey_id: int) -> SurveyView:
    with Session(engine) as session:
        row = survey_row(session, survey_id)
        return _survey_view(row, int(_respondent_counts(session, [row.id]).get(row.id, 0)))


def create_survey(
    engine: Engine, *, plan: str, version: int, title: str, questions: Sequence[tuple[str, str]], actor: str
) -> SurveyView:
    """Attach a survey to a plan version: `questions` are (text, kind) pairs, kind `scale` (1–5) or `text`."""
    name = _text(title, "the survey's title", MAX_TITLE)
    asked: list[dict[str, str]] = []
    for number, (text, kind) in enumerate(questions, 1):
        if kind not in QUESTION_KINDS:
            raise InvalidInput(f"question {number}: unknown kind {kind!r}; use one of: {', '.join(QUESTION_KINDS)}")
        wording = _text(text, f"question {number}", 500)
        asked.append({"text": str(wording), "kind": kind})
    if not asked:
        raise InvalidInput("a survey needs at least one question")
    if len(asked) > MAX_QUESTIONS:
        raise InvalidInput(f"a survey has at most {MAX_QUESTIONS} questions; this one has {len(asked)}")
    with Session(engine) as session, session.begin():
        version_document(session, plan, version)
        row = m.FeedbackSurvey(
            plan=plan,
            version=version,
            title=name,
            questions=asked,
            state="open",
            created_by=actor,
            created_at=utc_now(),
        )
        add_audited(
            session,
            row,
            actor=actor,
            action="insert",
            entity="feedback_surveys",
            after={"plan": plan, "version": version, "title": name, "questions": asked, "state": "open"},
        )
        return _survey_view(row, 0)


def _value(question: Question, given: object) -> int | str | None:
    """One answer, checked against its question: a whole number 1..5 for a scale, a text for a text."""
    if given is None or (isinstance(given, str) and not given.strip()):
        return None
    if question.kind == "scale":
        if isinstance(given, bool):
            given = str(given)
        text = str(given).strip()
        if not text.isdigit() or int(text) not in SCALE:
            raise InvalidInput(f"question {question.number} ({question.text}): answer 1 to 5, not {given!r}")
        return int(text)
    return _text(str(given), f"the answer to question {question.number}")


def answer(
    engine: Engine,
    survey_id: int,
    *,
    answers: Sequence[object],
    respondent: str,
    respondent_name: str | None = None,
    payee_id: int | None = None,
) -> SurveyView:
    """Record (or replace) the respondent's answers to an open survey: one value per question, in order."""
    with Session(engine) as session, session.begin():
        row = survey_row(session, survey_id)
        if row.state != "open":
            raise Conflict(f"survey {survey_id} is closed; answers no longer change")
        questions = _questions(row)
        if len(answers) != len(questions):
            raise InvalidInput(f"survey {survey_id} has {len(questions)} questions; {len(answers)} answers were given")
        values = [_value(q, a) for q, a in zip(questions, answers, strict=True)]
        if all(v is None for v in values):
            raise InvalidInput("answer at least one question")
        now = utc_now()
        mine = session.scalars(
            select(m.FeedbackAnswer).where(
                m.FeedbackAnswer.survey_id == row.id, m.FeedbackAnswer.respondent == respondent
            )
        ).first()
        before: dict[str, Any] | None = None
        if mine is None:
            mine = m.FeedbackAnswer(
                survey_id=row.id,
                respondent=respondent,
                respondent_name=respondent_name,
                payee_id=payee_id,
                answers=values,
                created_at=now,
                updated_at=now,
            )
            session.add(mine)
        else:
            before = {"answers": list(mine.answers)}
            mine.answers, mine.updated_at, mine.respondent_name = values, now, respondent_name
        session.flush()
        audit(
            session,
            actor=respondent,
            action="insert" if before is None else "update",
            entity="feedback_answers",
            entity_key=str(mine.id),
            before=before,
            after={"survey": row.id, "answers": values},
        )
        counts = _respondent_counts(session, [row.id])
        return _survey_view(row, int(counts.get(row.id, 0)))


def my_answers(engine: Engine, survey_id: int, respondent: str) -> list[Any] | None:
    """The respondent's current answers (None: not answered)."""
    with Session(engine) as session:
        found = session.scalars(
            select(m.FeedbackAnswer.answers).where(
                m.FeedbackAnswer.survey_id == survey_id, m.FeedbackAnswer.respondent == respondent
            )
        ).first()
        return list(found) if found is not None else None


def close_survey(engine: Engine, survey_id: int, *, actor: str) -> SurveyView:
    """Close a survey: its answers are final (409 when it is closed already)."""
    with Session(engine) as session, session.begin():
        row = survey_row(session, survey_id)
        if row.state == "closed":
            raise Conflict(f"survey {survey_id} is closed already")
        row.state, row.closed_by, row.closed_at = "closed", actor, utc_now()
        audit(
            session,
            actor=actor,
            action="close",
            entity="feedback_surveys",
            entity_key=str(row.id),
            before={"state": "open"},
            after={"state": "closed"},
        )
        return _survey_view(row, int(_respondent_counts(session, [row.id]).get(row.id, 0)))


def aggregate(
    questions: Sequence[Question], answer_sets: Sequence[tuple[Sequence[Any], str, str | None]], names: bool
) -> list[QuestionResult]:
    """Per question: count, mean (sum / count, half-even to 2 places) and distribution of a scale question, the
    answers of a text question (with the respondent when `names`). `answer_sets` are (answers, who, name)."""
    out: list[QuestionResult] = []
    for i, q in enumerate(questions):
        given = [(a[i], who, name) for a, who, name in answer_sets if i < len(a) and a[i] is not None]
        if q.kind == "scale":
            values = [int(v) for v, _, _ in given]
            mean = (Decimal(sum(values)) / Decimal(len(values))).quantize(CENTS, ROUND_HALF_EVEN) if values else None
            spread = {k: values.count(k) for k in SCALE}
            out.append(QuestionResult(q.number, q.text, q.kind, len(values), mean, spread, []))
        else:
            texts = [TextAnswer(str(v), who if names else None, name if names else None) for v, who, name in given]
            out.append(QuestionResult(q.number, q.text, q.kind, len(texts), None, {}, texts))
    return out


def results(engine: Engine, survey_id: int, *, names: bool) -> SurveyResults:
    """A survey's aggregated answers; with `names`, who answered and who wrote each text answer."""
    with Session(engine) as session:
        row = survey_row(session, survey_id)
        rows = list(
            session.scalars(
                select(m.FeedbackAnswer)
                .where(m.FeedbackAnswer.survey_id == row.id)
                .order_by(m.FeedbackAnswer.created_at, m.FeedbackAnswer.id)
            )
        )
        view = _survey_view(row, len(rows))
    sets = [(list(r.answers), r.respondent, r.respondent_name) for r in rows]
    people = [Respondent(r.respondent, r.respondent_name, r.updated_at) for r in rows] if names else None
    return SurveyResults(view, len(rows), aggregate(view.questions, sets, names), people)
