"""`openspm job list|show`: the background jobs (runs started from the web or the API) and their progress.

`openspm job show 7 --follow` draws the job's progress bar from the store, as the web page does, until it ends.
"""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from openspm.cli.common import actor, open_store, print_json, stderr, stdout, user_errors

job_app = typer.Typer(
    help="Background jobs (runs started from the web or API) and their progress.", no_args_is_help=True
)
POLL_SECONDS = 0.5


def _line(job: object) -> str:
    from openspm.jobs.service import JobView

    assert isinstance(job, JobView)
    runs = ", ".join(str(r) for r in (job.result or {}).get("runs", []))
    tail = f"error: {job.error}" if job.state == "failed" else job.message
    return (
        f"{job.id:>5}  {job.kind:<5} {job.params.get('period', ''):<11} {job.state:<9} {job.percent:>3}%  "
        f"{job.requested_by:<28} runs [{runs}]  {tail}"
    )


def _as_dict(job: object) -> dict[str, object]:
    import dataclasses

    return dataclasses.asdict(job) if dataclasses.is_dataclass(job) and not isinstance(job, type) else {}


@job_app.command("list")
def job_list_command(
    state: str | None = typer.Option(None, "--state", help="queued, running, succeeded or failed"),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Jobs, newest first: id, kind, period, state, progress, who asked, the runs made, what it is doing."""
    from openspm.jobs.service import jobs

    with user_errors():
        found, total = jobs(open_store(), state=state, limit=limit)
    if as_json:
        print_json({"items": [_as_dict(j) for j in found], "total": total})
        return
    for job in found:
        stdout.print(_line(job), highlight=False)
    if total > len(found):
        stdout.print(f"(the newest {len(found)} of {total})", highlight=False)


@job_app.command("show")
def job_show_command(
    job_id: int = typer.Argument(..., help="The job's id (openspm job list)"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Show its progress until it ends"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One job; with --follow, its progress bar until it succeeds (exit 0) or fails (exit 1)."""
    from openspm.jobs.service import get

    with user_errors():
        store = open_store()
        job = get(store, job_id)
        if follow and not job.done:
            show = stderr.is_terminal and not as_json
            columns = (BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
            with Progress(
                TextColumn(f"job {job_id}"), *columns, TextColumn("{task.fields[message]}"), console=stderr,
                transient=True, disable=not show,
            ) as bar:  # fmt: skip
                task = bar.add_task("job", total=1.0, message=job.message)
                while not job.done:
                    time.sleep(POLL_SECONDS)
                    job = get(store, job_id)
                    bar.update(task, completed=float(job.progress), message=job.message)
    if as_json:
        print_json(_as_dict(job))
    else:
        stdout.print(_line(job), highlight=False)
    if job.state == "failed":
        raise typer.Exit(1)


@job_app.command("cancel")
def job_cancel_command(job_id: int = typer.Argument(..., help="The job's id (openspm job list)")) -> None:
    """Mark a queued or running job failed ("cancelled"; audited): for a job whose process died."""
    from openspm.jobs.service import cancel

    with user_errors():
        job = cancel(open_store(), job_id, actor())
    stdout.print(_line(job), highlight=False)
