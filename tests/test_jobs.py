"""Background jobs (SQLite and PostgreSQL): a run job reports per month and per stage up to 1.0 and records the
runs it made; a month already being calculated or closed refuses before anything is queued; a failing month
marks the job failed with the error and leaves earlier runs intact; the in-process queue runs jobs off the
caller's thread."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.close import service as close
from openspm.close.documents import month_documents
from openspm.core.errors import Conflict, NotFound
from openspm.jobs import queue as job_queue
from openspm.jobs import service
from openspm.jobs.queue import InProcessQueue, execute
from openspm.jobs.runs import months_to_run, submit_run
from openspm.runs import service as runs_service
from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company


class HeldQueue:
    """A queue that keeps jobs queued (nothing runs until the test says so)."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def enqueue(self, job_id: int) -> None:
        self.ids.append(job_id)


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def _earnings(engine: Engine, run_id: int) -> list[tuple[str, str, Decimal]]:
    with Session(engine) as session:
        rows = session.execute(
            select(m.RunEarning.payee, m.RunEarning.component, m.RunEarning.amount)
            .where(m.RunEarning.run_id == run_id)
            .order_by(m.RunEarning.payee)
        )
        return [(p, c, a) for p, c, a in rows]


def run_ids_of(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(m.Run.id).where(m.Run.actor == "analyst@x.io")))


def test_a_run_job_reports_each_month_and_stage_up_to_one_and_records_its_runs(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[tuple[Decimal, str]] = []
    original = service.report

    def spy(engine: Engine, job_id: int, fraction: float, message: str, result: Any = None) -> None:
        original(engine, job_id, fraction, message, result)
        reports.append((service.get(engine, job_id).progress, message))

    monkeypatch.setattr(service, "report", spy)
    held = HeldQueue()
    job = submit_run(company, held, "FY2025-Q1", "analyst@x.io")
    assert job.state == "queued" and job.progress == 0 and held.ids == [job.id]
    assert job.params == {"period": "FY2025-Q1", "months": ["FY2025-M01", "FY2025-M02", "FY2025-M03"], "skipped": []}
    execute(company, job.id)
    done = service.get(company, job.id)
    assert done.state == "succeeded" and done.progress == Decimal(1) and done.error is None
    assert done.started_at is not None and done.finished_at is not None and done.finished_at >= done.started_at
    with Session(company) as session:
        made = list(session.scalars(select(m.Run).where(m.Run.actor == "analyst@x.io").order_by(m.Run.id)))
    assert [r.period for r in made] == ["FY2025-M01", "FY2025-M02", "FY2025-M03"]
    assert all(r.status == "completed" for r in made)
    assert done.result is not None and done.result["runs"] == [r.id for r in made]
    assert [x["month"] for x in done.result["months"]] == ["FY2025-M01", "FY2025-M02", "FY2025-M03"]
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == Decimal(1)  # never backwards, ends at 1
    messages = [text for _, text in reports]
    for month, n in (("FY2025-M01", 1), ("FY2025-M02", 2), ("FY2025-M03", 3)):
        for stage in ("read the store", "ae: classify", "pay: payments", "store: write results"):
            assert any(t.startswith(f"{month} ({n} of 3): {stage}") for t in messages), (month, stage, messages)
    # after the first month, a third of the job is done
    first_done = next(f for f, t in reports if t.startswith("FY2025-M01") and "completed" in t)
    assert Decimal("0.33") <= first_done <= Decimal("0.34")


def test_a_month_being_calculated_or_closed_is_refused_before_anything_is_queued(company: Engine) -> None:
    held = HeldQueue()
    first = submit_run(company, held, "FY2025-M02", "analyst@x.io")
    with pytest.raises(Conflict, match=f"FY2025-M02 is already being calculated by job {first.id}"):
        submit_run(company, held, "FY2025-Q1", "admin@x.io")  # the quarter overlaps the queued month
    assert len(held.ids) == 1 and service.jobs(company)[1] == 1
    with Session(company) as session, session.begin():  # a run started elsewhere (the CLI) holds the lock
        session.add(m.PeriodLock(period="FY2025-M03", run_id=99, actor="cli"))
    with pytest.raises(Conflict, match="FY2025-M03 is being calculated by run 99"):
        submit_run(company, held, "FY2025-M03", "admin@x.io")
    runs_service.release_lock(company, "FY2025-M03")
    execute(company, first.id)
    close.approve(company, "FY2025-M01", "admin@x.io")
    close.close(company, "FY2025-M01", "admin@x.io", month_documents)
    with pytest.raises(Conflict, match="every month of FY2025-M01 is closed"):
        submit_run(company, held, "FY2025-M01", "admin@x.io")
    assert months_to_run(company, "FY2025-Q1") == (["FY2025-M02", "FY2025-M03"], ["FY2025-M01"])
    with pytest.raises(NotFound, match="unknown period 'FY2099-M01'"):
        submit_run(company, held, "FY2099-M01", "admin@x.io")
    assert len(held.ids) == 1


def test_a_failing_month_fails_the_job_with_the_error_and_leaves_earlier_runs_intact(
    company: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(company) as session:
        before = session.scalars(select(m.Run.id).where(m.Run.period == "FY2025-M02")).one()
    earnings_before = _earnings(company, before)
    real = runs_service._store_results
    calls = {"n": 0}

    def store_then_fail(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second month dies while writing its results
            raise RuntimeError("disk full")
        real(*args)

    monkeypatch.setattr(runs_service, "_store_results", store_then_fail)
    job = submit_run(company, HeldQueue(), "FY2025-Q1", "analyst@x.io")
    execute(company, job.id)
    failed = service.get(company, job.id)
    assert failed.state == "failed" and failed.error == "disk full" and failed.finished_at is not None
    assert failed.progress < 1
    with Session(company) as session:
        runs = {r.id: (r.period, r.status) for r in session.scalars(select(m.Run).where(m.Run.actor == "analyst@x.io"))}
        assert session.get(m.PeriodLock, "FY2025-M02") is None  # the lock is released
        newest_m02 = runs_service.latest_run(session, "FY2025-M02").id
    assert failed.result is not None
    assert [runs[i] for i in failed.result["runs"]] == [("FY2025-M01", "completed")]
    assert failed.result["failed_month"] == "FY2025-M02"
    assert runs[failed.result["failed_run"]] == ("FY2025-M02", "failed")
    assert sorted(p for p, _ in runs.values()) == ["FY2025-M01", "FY2025-M02"]  # M03 never started
    assert newest_m02 == before and _earnings(company, before) == earnings_before  # the earlier run is intact


def test_the_in_process_queue_runs_jobs_in_the_background_one_at_a_time(company: Engine) -> None:
    queue = InProcessQueue(company, workers=1)
    try:
        first = submit_run(company, queue, "FY2025-M01", "analyst@x.io")
        second = submit_run(company, queue, "FY2025-M02", "analyst@x.io")
        done = [queue.wait(first.id, timeout=120), queue.wait(second.id, timeout=120)]
    finally:
        queue.shutdown()
    assert [j.state for j in done] == ["succeeded", "succeeded"]
    assert done[0].finished_at is not None and done[1].started_at is not None
    assert done[0].finished_at <= done[1].started_at  # one at a time, in the order they came
    finished = service.get(company, first.id).finished_at
    execute(company, first.id)  # a job that is done is not run again
    assert service.get(company, first.id).finished_at == finished and len(run_ids_of(company)) == 2


def test_a_job_of_an_unknown_kind_fails_with_a_reason(company: Engine) -> None:
    job = service.submit(company, "nonsense", {}, "admin@x.io")
    execute(company, job.id)
    failed = service.get(company, job.id)
    assert failed.state == "failed" and failed.error == "no handler for jobs of kind 'nonsense'"
    with pytest.raises(NotFound, match="unknown job 999"):
        service.get(company, 999)
    assert "run" in job_queue.HANDLERS


def test_the_cli_lists_jobs_and_shows_one(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    good = submit_run(company, HeldQueue(), "FY2025-M02", "analyst@x.io")
    runner = CliRunner()
    queued = runner.invoke(app, ["job", "list"])
    assert queued.exit_code == 0 and "FY2025-M02" in queued.output and "queued" in queued.output
    execute(company, good.id)
    bad = service.submit(company, "nonsense", {"period": "FY2025-M03"}, "admin@x.io")
    execute(company, bad.id)
    shown = runner.invoke(app, ["job", "show", str(good.id), "--follow"])
    run_id = service.get(company, good.id).result["runs"][0]  # type: ignore[index]
    assert shown.exit_code == 0 and "succeeded" in shown.output and f"runs [{run_id}]" in shown.output
    failed = runner.invoke(app, ["job", "show", str(bad.id)])
    assert failed.exit_code == 1 and "error: no handler for jobs of kind 'nonsense'" in failed.output
    listed = runner.invoke(app, ["job", "list", "--state", "failed", "--json"])
    assert listed.exit_code == 0 and '"total": 1' in listed.output
    assert runner.invoke(app, ["job", "show", "999"]).exit_code != 0


def test_a_job_whose_process_died_is_cancelled_and_frees_its_months(company: Engine) -> None:
    from tests.test_api import assert_error, client_with_token

    stuck = submit_run(company, HeldQueue(), "FY2025-M02", "analyst@x.io")  # its process died: it never runs
    with pytest.raises(Conflict, match=f"openspm job cancel {stuck.id}"):
        submit_run(company, HeldQueue(), "FY2025-M02", "analyst@x.io")
    assert_error(client_with_token(company, "finance@x.io").post(f"/api/v1/jobs/{stuck.id}/cancel"), 403, "forbidden")
    analyst = client_with_token(company, "analyst@x.io")
    cancelled = analyst.post(f"/api/v1/jobs/{stuck.id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "failed" and cancelled.json()["error"] == "cancelled by analyst@x.io"
    assert_error(analyst.post(f"/api/v1/jobs/{stuck.id}/cancel"), 409, "conflict")
    assert_error(analyst.post("/api/v1/jobs/424242/cancel"), 404, "not_found")
    execute(company, stuck.id)  # a cancelled job never starts
    assert service.get(company, stuck.id).started_at is None and len(run_ids_of(company)) == 0
    with Session(company) as session:
        entry = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "jobs")).one()
    assert (entry.action, entry.actor, entry.before, entry.after) == (
        "cancel",
        "analyst@x.io",
        {"state": "queued"},
        {"state": "failed"},
    )
    again = submit_run(company, HeldQueue(), "FY2025-M02", "analyst@x.io")  # the month is free again
    assert again.state == "queued"
