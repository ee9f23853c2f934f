"""Feedback on plan versions (SQLite and PostgreSQL): threads (states, anchors, audit), surveys (one answer per
person, changed until closed, aggregated exactly, anonymous but to designers), who may take part, and the API,
pages and CLI over them.

The company: managers M1 (R1) and M2 (R2, R3); plan `ae` (versions 1 and 2) is R1's, R2's and R3's; plan `sdr`
only R3's. No runs: feedback needs only plans, assignments and users.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.access import feedback as access
from openspm.access.errors import Forbidden
from openspm.auth.service import set_passwords
from openspm.cli.main import app
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.feedback import service as fb
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan, publish_version
from openspm.store import models as m
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import PASSWORD, PLAN, USERS, who
from tests.test_api import assert_error, client_with_token
from tests.test_web import SECRET, csrf_of

SDR = PLAN.replace("plan: ae", "plan: sdr").replace("name: AE plan", "name: SDR plan")
QUESTIONS = [("Is the quota achievable?", "scale"), ("Is the plan easy to understand?", "scale"), ("Why?", "text")]


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    files = {
        "payees": "id,name,pay_currency,email\nM1,Mia,USD,m1@x.io\nM2,Max,USD,m2@x.io\nR1,Ann,USD,r1@x.io\n"
        "R2,Bob,USD,r2@x.io\nR3,Cy,USD,r3@x.io\n",
        "reporting_lines": "payee,manager,effective_from,effective_to\nR1,M1,2025-01-01,\nR2,M2,2025-01-01,\n"
        "R3,M2,2025-01-01,\n",
    }
    for kind, body in files.items():
        assert import_file(engine, kind, write(f"{kind}.csv", body), actor="test").rejected == 0
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    add_plan(engine, write("sdr.yaml", SDR), actor="test")
    publish_version(engine, "ae", PLAN.replace("rate: 0.10", "rate: 0.12"), actor="test")
    pa = "payee,plan,effective_from\nR1,ae,2025-01-01\nR2,ae,2025-01-01\nR3,ae,2025-01-01\nR3,sdr,2025-01-01\n"
    assert import_file(engine, "plan_assignments", write("pa.csv", pa), actor="test").rejected == 0
    users = "email,name,roles,payee\n" + "".join(f"{e},{e.split('@')[0]},{r},{p}\n" for e, (r, p) in USERS.items())
    assert import_file(engine, "users", write("users.csv", users), actor="test").rejected == 0
    set_passwords(engine, PASSWORD, actor="test")
    return engine


def audit_trail(engine: Engine, entity: str) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        return [
            (e.entity_key, e.action, e.actor)
            for e in session.scalars(
                select(m.AuditEntry).where(m.AuditEntry.entity == entity).order_by(m.AuditEntry.id)
            )
        ]


def test_a_thread_goes_open_answered_open_closed_and_every_write_is_audited(company: Engine) -> None:
    rep, analyst = who(company, "r1@x.io"), who(company, "analyst@x.io")
    opened = access.open_thread_for(
        company, rep, "ae", 2, topic="Accelerator too low", body="12% above quota still lags", component="commission"
    )
    t = opened.thread
    assert (t.plan, t.version, t.component, t.state, t.created_by, t.comments) == (
        "ae",
        2,
        "commission",
        "open",
        "r1@x.io",
        1,
    )
    assert opened.comments[0].body == "12% above quota still lags" and not opened.comments[0].designer
    answered = access.reply_for(company, analyst, t.id, "Modelled: 12% costs 3% more; we keep it")
    assert answered.thread.state == "answered" and answered.comments[-1].designer
    again = access.reply_for(company, rep, t.id, "Then raise the cap?")
    assert again.thread.state == "open" and again.thread.comments == 3
    with pytest.raises(Forbidden, match="only a plan designer"):
        access.reply_for(company, rep, t.id, "closing it myself", close=True)
    with pytest.raises(Forbidden, match="admin or comp_analyst"):
        access.close_thread_for(company, rep, t.id)
    closed = access.reply_for(company, analyst, t.id, "The cap stays for this year.", close=True)
    assert (closed.thread.state, closed.thread.closed_by) == ("closed", "analyst@x.io")
    with pytest.raises(Conflict, match="is closed"):
        access.reply_for(company, rep, t.id, "one more thing")
    with pytest.raises(Conflict, match="closed already"):
        access.close_thread_for(company, analyst, t.id)
    assert access.reopen_thread_for(company, analyst, t.id, "new data").thread.state == "open"
    # input is checked: the anchor must be a component of that version, topic and text are required
    with pytest.raises(InvalidInput, match="no component 'bonus'; it has: commission"):
        access.open_thread_for(company, rep, "ae", 1, topic="x", body="y", component="bonus")
    with pytest.raises(InvalidInput, match="the topic is required"):
        access.open_thread_for(company, rep, "ae", 1, topic="  ", body="y")
    with pytest.raises(NotFound, match="no version 7"):
        access.open_thread_for(company, rep, "ae", 7, topic="x", body="y")
    key = str(t.id)
    assert [a for k, a, _ in audit_trail(company, "feedback_threads") if k == key] == [
        "insert",
        "answer",
        "update",
        "close",
        "reopen",
    ]
    assert [(a, who_) for _, a, who_ in audit_trail(company, "feedback_comments")] == [
        ("comment", "analyst@x.io"),
        ("comment", "r1@x.io"),
        ("comment", "analyst@x.io"),
    ]
    # listing: per version, open first; counts per state
    access.open_thread_for(company, who(company, "r2@x.io"), "ae", 2, topic="Quota split", body="why 50/50?")
    listed = access.feedback_for(company, analyst, "ae", 2)
    assert [x.state for x in listed.threads] == ["open", "open"] and listed.counts["open"] == 2
    assert listed.components == ["commission"] and listed.role == "designer"
    assert access.feedback_for(company, analyst, "ae", 1).threads == []


def test_who_may_take_part_in_a_plans_feedback(company: Engine) -> None:
    analyst = who(company, "analyst@x.io")
    thread = access.open_thread_for(company, who(company, "r3@x.io"), "sdr", 1, topic="SDR credit", body="?").thread
    # the payee on the plan and their manager take part; the designers too
    assert access.feedback_for(company, who(company, "m2@x.io"), "sdr", 1).role == "participant"
    access.reply_for(company, who(company, "m2@x.io"), thread.id, "my team agrees")
    assert access.feedback_for(company, analyst, "sdr", 1).role == "designer"
    # a rep not on the plan: the plan is unknown to them; a manager without anyone on it: forbidden
    for rep_call in (
        lambda: access.feedback_for(company, who(company, "r1@x.io"), "sdr", 1),
        lambda: access.open_thread_for(company, who(company, "r1@x.io"), "sdr", 1, topic="x", body="y"),
    ):
        with pytest.raises(NotFound, match="unknown plan 'sdr'"):
            rep_call()
    with pytest.raises(NotFound, match=f"unknown feedback thread {thread.id}"):
        access.thread_for(company, who(company, "r1@x.io"), thread.id)
    with pytest.raises(Forbidden, match=r"nobody on m1@x\.io's team is on it"):
        access.feedback_for(company, who(company, "m1@x.io"), "sdr", 1)
    assert access.summary_for(company, who(company, "m1@x.io"), "sdr", 1) is None
    assert access.summary_for(company, who(company, "m2@x.io"), "sdr", 1) == {
        "open": 1,
        "answered": 0,
        "closed": 0,
        "surveys_open": 0,
    }
    # finance reads, changes nothing; a read-only token changes nothing
    finance = who(company, "finance@x.io")
    assert access.feedback_for(company, finance, "sdr", 1).role == "reader"
    with pytest.raises(Forbidden, match="read-only"):
        access.reply_for(company, finance, thread.id, "hm")
    with pytest.raises(Forbidden, match="write scope"):
        access.reply_for(company, who(company, "r3@x.io", frozenset({"read"})), thread.id, "hm")
    # the overview: designers see every plan's threads, a rep only their plans'
    access.open_thread_for(company, who(company, "r1@x.io"), "ae", 1, topic="AE", body="?")
    assert {t.plan for t in access.overview_for(company, analyst).threads} == {"ae", "sdr"}
    assert {t.plan for t in access.overview_for(company, who(company, "r1@x.io")).threads} == {"ae"}
    assert [t.plan for t in access.overview_for(company, analyst, states=["open"], plan="sdr").threads] == ["sdr"]


def test_a_survey_is_answered_once_per_person_aggregated_exactly_and_anonymous_but_to_designers(
    company: Engine,
) -> None:
    analyst = who(company, "analyst@x.io")
    with pytest.raises(Forbidden):
        access.create_survey_for(company, who(company, "r1@x.io"), "ae", 2, "Q", QUESTIONS)
    with pytest.raises(InvalidInput, match="unknown kind 'stars'"):
        access.create_survey_for(company, analyst, "ae", 2, "Q", [("How many?", "stars")])
    with pytest.raises(InvalidInput, match="at least one question"):
        access.create_survey_for(company, analyst, "ae", 2, "Q", [])
    s = access.create_survey_for(company, analyst, "ae", 2, "AE plan 2026", QUESTIONS)
    assert [(q.number, q.kind) for q in s.questions] == [(1, "scale"), (2, "scale"), (3, "text")]
    r1, r2, r3, m1 = (who(company, e) for e in ("r1@x.io", "r2@x.io", "r3@x.io", "m1@x.io"))
    first = access.answer_for(company, r1, s.id, [2, "3", "quota is 20% above last year"])
    assert first.mine == [2, 3, "quota is 20% above last year"]
    assert first.results is None  # fewer than 3 answers: hidden from participants
    access.answer_for(company, r1, s.id, [4, 3, "on reflection it is fine"])  # changed, still one answer
    access.answer_for(company, r2, s.id, [4, None, ""])
    access.answer_for(company, m1, s.id, [5, 2, "my team can do it"])
    with pytest.raises(InvalidInput, match="answer 1 to 5, not 6"):
        access.answer_for(company, r3, s.id, [6, 1, ""])
    with pytest.raises(InvalidInput, match="at least one question"):
        access.answer_for(company, r3, s.id, [None, " ", ""])
    with pytest.raises(InvalidInput, match="has 3 questions; 2 answers"):
        access.answer_for(company, r3, s.id, [1, 1])
    with pytest.raises(Forbidden, match="not by its designers"):
        access.answer_for(company, analyst, s.id, [1, 1, ""])

    seen = access.survey_for(company, analyst, s.id)
    assert seen.results is not None and seen.results.respondents == 3
    quota, clear, why = seen.results.questions
    assert (quota.count, quota.mean, quota.distribution) == (3, Decimal("4.33"), {1: 0, 2: 0, 3: 0, 4: 2, 5: 1})
    assert (clear.count, clear.mean) == (2, Decimal("2.50"))  # R2 left it blank
    assert [(t.text, t.respondent) for t in why.texts] == [
        ("on reflection it is fine", "r1@x.io"),
        ("my team can do it", "m1@x.io"),
    ]
    assert seen.results.names is not None and [n.respondent for n in seen.results.names] == [
        "r1@x.io",
        "r2@x.io",
        "m1@x.io",
    ]
    # a participant sees the same figures without any name; finance too
    for viewer in (r3, who(company, "finance@x.io")):
        anonymous = access.survey_for(company, viewer, s.id).results
        assert anonymous is not None and anonymous.names is None
        assert anonymous.questions[0].mean == Decimal("4.33")
        assert [t.respondent for t in anonymous.questions[2].texts] == [None, None]
    # closing makes answers final
    closed = access.close_survey_for(company, analyst, s.id)
    assert closed.survey.state == "closed" and not closed.may_answer
    with pytest.raises(Conflict, match="is closed"):
        access.answer_for(company, r1, s.id, [1, 1, ""])
    sdr = access.create_survey_for(company, analyst, "sdr", 1, "SDR", QUESTIONS[:1])
    with pytest.raises(NotFound, match=f"unknown survey {sdr.id}"):  # R1 is not on the SDR plan
        access.survey_for(company, r1, sdr.id)
    assert [a for _, a, _ in audit_trail(company, "feedback_answers")] == ["insert", "update", "insert", "insert"]
    assert [a for _, a, _ in audit_trail(company, "feedback_surveys")] == ["insert", "close", "insert"]


def test_aggregate_is_exact_and_lists_every_scale_value() -> None:
    questions = [fb.Question(1, "q", "scale"), fb.Question(2, "t", "text")]
    sets: list[tuple[list[object], str, str | None]] = [
        ([1, "a"], "x", None),
        ([2, None], "y", None),
        ([2, "b"], "z", "Zed"),
    ]
    scale, text = fb.aggregate(questions, sets, names=False)
    assert scale.mean == Decimal("1.67") and scale.distribution == {1: 1, 2: 2, 3: 0, 4: 0, 5: 0}
    assert [(t.text, t.respondent) for t in text.texts] == [("a", None), ("b", None)]
    empty = fb.aggregate(questions, [], names=True)
    assert (empty[0].count, empty[0].mean, empty[1].texts) == (0, None, [])


def signed_in(engine: Engine, email: str) -> TestClient:
    client = TestClient(create_app(engine, secret=SECRET))
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def test_the_api_runs_a_thread_and_a_survey_with_the_documented_errors(company: Engine) -> None:
    rep, analyst = client_with_token(company, "r1@x.io"), client_with_token(company, "analyst@x.io")
    base = "/api/v1/plans/ae/versions/2/feedback"
    made = rep.post(
        f"{base}/threads", json={"topic": "Cap", "body": "the cap bites at 150%", "component": "commission"}
    )
    assert made.status_code == 201, made.text
    thread = made.json()["thread"]
    assert (thread["state"], thread["component"], thread["comments"]) == ("open", "commission", 1)
    replied = analyst.post(f"/api/v1/feedback/threads/{thread['id']}/comments", json={"body": "noted", "close": True})
    assert replied.status_code == 201 and replied.json()["thread"]["state"] == "closed"
    assert_error(rep.post(f"/api/v1/feedback/threads/{thread['id']}/comments", json={"body": "x"}), 409, "conflict")
    assert_error(rep.post(f"/api/v1/feedback/threads/{thread['id']}/reopen"), 403, "forbidden")
    assert analyst.post(f"/api/v1/feedback/threads/{thread['id']}/reopen").json()["thread"]["state"] == "open"
    assert_error(rep.post(f"{base}/threads", json={"topic": "x", "body": "y", "extra": 1}), 422, "invalid_input")
    assert_error(
        client_with_token(company, "r1@x.io", "read").post(f"{base}/threads", json={"topic": "x", "body": "y"}),
        403,
        "forbidden",
    )
    assert_error(rep.get("/api/v1/plans/sdr/versions/1/feedback"), 404, "not_found")
    assert_error(client_with_token(company, "m1@x.io").get("/api/v1/plans/sdr/versions/1/feedback"), 403, "forbidden")

    survey = analyst.post(
        f"{base}/surveys",
        json={
            "title": "AE 2026",
            "questions": [{"text": "Quota achievable?", "kind": "scale"}, {"text": "Why?", "kind": "text"}],
        },
    )
    assert survey.status_code == 201, survey.text
    sid = survey.json()["id"]
    assert_error(
        rep.post(f"{base}/surveys", json={"title": "t", "questions": [{"text": "q", "kind": "scale"}]}),
        403,
        "forbidden",
    )
    answered = rep.put(f"/api/v1/feedback/surveys/{sid}/answers", json={"answers": [3, "too high"]})
    assert answered.status_code == 200, answered.text
    assert answered.json()["mine"] == [3, "too high"] and answered.json()["results"] is None
    for email, value in (("r2@x.io", 4), ("r3@x.io", 5)):
        client_with_token(company, email).put(
            f"/api/v1/feedback/surveys/{sid}/answers", json={"answers": [value, None]}
        )
    mine = rep.get(f"/api/v1/feedback/surveys/{sid}").json()
    assert mine["results"]["questions"][0]["mean"] == "4.00" and mine["results"]["names"] is None
    assert mine["results"]["questions"][0]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}
    designers = analyst.get(f"/api/v1/feedback/surveys/{sid}").json()["results"]
    assert [n["respondent"] for n in designers["names"]] == ["r1@x.io", "r2@x.io", "r3@x.io"]
    assert designers["questions"][1]["texts"] == [
        {"text": "too high", "respondent": "r1@x.io", "respondent_name": "r1"}
    ]
    assert_error(rep.put(f"/api/v1/feedback/surveys/{sid}/answers", json={"answers": [9, None]}), 422, "invalid_input")
    assert analyst.post(f"/api/v1/feedback/surveys/{sid}/close").json()["survey"]["state"] == "closed"
    assert_error(rep.put(f"/api/v1/feedback/surveys/{sid}/answers", json={"answers": [1, None]}), 409, "conflict")
    version = rep.get(base).json()
    assert version["role"] == "participant" and [t["id"] for t in version["threads"]] == [thread["id"]]
    assert [s["survey"]["id"] for s in version["surveys"]] == [sid]
    overview = analyst.get("/api/v1/feedback", params={"state": "open"}).json()
    assert [t["id"] for t in overview["threads"]] == [thread["id"]] and len(overview["surveys"]) == 1


def test_the_pages_raise_reply_answer_and_show_results(company: Engine) -> None:
    rep = signed_in(company, "r1@x.io")
    version_page = rep.get("/plans/ae/versions/2")
    assert version_page.status_code == 200 and 'href="/plans/ae/versions/2/feedback"' in version_page.text
    page = rep.get("/plans/ae/versions/2/feedback")
    assert page.status_code == 200 and "Raise topic" in page.text and "Attach survey" not in page.text
    token = csrf_of(rep, "/plans/ae/versions/2/feedback")
    made = rep.post(
        "/plans/ae/versions/2/feedback/threads",
        data={"csrf_token": token, "topic": "Quota too high", "body": "20% up on last year", "component": "commission"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    thread_url = made.headers["location"].split("?")[0]
    assert "Quota too high" in rep.get(thread_url).text
    bad = rep.post(
        "/plans/ae/versions/2/feedback/threads",
        data={"csrf_token": token, "topic": "", "body": "x"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "the topic is required" in bad.text
    assert rep.post("/plans/ae/versions/2/feedback/threads", data={"topic": "x", "body": "y"}).status_code == 403

    analyst = signed_in(company, "analyst@x.io")
    atoken = csrf_of(analyst, thread_url)
    answered = analyst.post(f"{thread_url}/reply", data={"csrf_token": atoken, "body": "Benchmarked: fair"})
    assert answered.status_code == 200 and 'data-state="answered"' in answered.text
    created = analyst.post(
        "/plans/ae/versions/2/feedback/surveys",
        data={
            "csrf_token": atoken,
            "title": "AE 2026",
            "q1": "Quota achievable?",
            "k1": "scale",
            "q2": "",
            "k2": "scale",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    with Session(company) as session:
        sid = session.scalars(select(m.FeedbackSurvey.id)).one()
    for email, value in (("r1@x.io", "2"), ("r2@x.io", "4"), ("r3@x.io", "4")):
        client = rep if email == "r1@x.io" else signed_in(company, email)
        saved = client.post(
            f"/feedback/surveys/{sid}/answer",
            data={"csrf_token": csrf_of(client, "/plans/ae/versions/2/feedback"), "a1": value},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
    shown = rep.get("/plans/ae/versions/2/feedback").text
    assert re.search(r"data-mean>3\.33<", shown) and "Answered by" not in shown
    assert "Answered by (designers only): r1, r2, r3" in analyst.get("/plans/ae/versions/2/feedback").text
    overview = analyst.get("/feedback?state=answered")
    assert overview.status_code == 200 and "Quota too high" in overview.text and "AE 2026" in overview.text
    assert 'href="/feedback"' in analyst.get("/plans").text  # in the admin menu


def test_the_cli_lists_adds_replies_and_runs_surveys(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    runner = CliRunner()
    added = runner.invoke(app, ["feedback", "add", "ae", "1", "--topic", "Tiers", "--text", "why two?", "--json"])
    assert added.exit_code == 0, added.output
    tid = json.loads(added.output)["thread"]["id"]
    replied = runner.invoke(app, ["feedback", "reply", str(tid), "--text", "simpler", "--close"])
    assert replied.exit_code == 0 and "now closed" in replied.output
    listed = json.loads(runner.invoke(app, ["feedback", "list", "ae", "--json"]).output)
    assert [(t["id"], t["state"], t["comments"]) for t in listed["items"]] == [(tid, "closed", 2)]
    again = runner.invoke(app, ["feedback", "reply", str(tid), "--text", "more"])
    assert again.exit_code == 4 and "is closed" in again.output
    made = runner.invoke(
        app,
        [
            "feedback",
            "survey",
            "create",
            "ae",
            "1",
            "--title",
            "T",
            "--scale",
            "Achievable?",
            "--text",
            "Why?",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    sid = json.loads(made.output)["id"]
    access.answer_for(company, who(company, "r1@x.io"), sid, [5, "fine"])
    results = runner.invoke(app, ["feedback", "survey", "results", str(sid)])
    assert results.exit_code == 0 and "n=1 mean=5.00" in results.output and "fine (r1)" in results.output
    assert runner.invoke(app, ["feedback", "survey", "close", str(sid)]).exit_code == 0
    assert runner.invoke(app, ["feedback", "add", "nope", "1", "--topic", "x", "--text", "y"]).exit_code == 3
