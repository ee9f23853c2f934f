"""`openspm feedback list|show|add|reply|close|reopen|survey`: feedback on plan versions from the command line.

The CLI acts as the operator (`cli:<user>` in the audit log) with a plan designer's rights, like `openspm dispute`:
it reads every thread and survey (results with names), opens threads, replies, closes, attaches and closes
surveys. Payees and managers take part in the web app or through the API.
"""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, stdout, user_errors
from openspm.core.errors import InvalidInput

feedback_app = typer.Typer(
    help="Feedback on plan versions: threads (list, show, add, reply, close, reopen) and surveys.",
    no_args_is_help=True,
)
survey_app = typer.Typer(help="Surveys on a plan version: list, create, results, close.", no_args_is_help=True)
feedback_app.add_typer(survey_app, name="survey")


@feedback_app.command("list")
def list_command(
    plan: str | None = typer.Argument(None, help="Only this plan"),
    version: int | None = typer.Option(None, "--version", min=1, help="Only this version (with a plan)"),
    state: list[str] = typer.Option(None, "--state", help="open, answered, closed (repeat for several)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Threads across plans and versions (open first, newest change first)."""
    from openspm.feedback.service import list_threads

    with user_errors():
        if version is not None and plan is None:
            raise InvalidInput("--version needs a plan")
        threads = list_threads(open_store(), plan=plan, version=version, states=list(state or []) or None)
    if as_json:
        print_json({"items": [asdict(t) for t in threads], "total": len(threads)})
        return
    table = Table("id", "plan", "version", "topic", "component", "state", "comments", "raised by", "last change")
    for t in threads:
        table.add_row(
            str(t.id),
            t.plan,
            str(t.version),
            t.topic,
            t.component or "",
            t.state,
            str(t.comments),
            t.created_by,
            f"{t.updated_at:%Y-%m-%d %H:%M}",
        )
    stdout.print(table)
    stdout.print(f"{len(threads)} thread{'' if len(threads) == 1 else 's'}")


def _print_thread(thread_id: int) -> None:
    from openspm.feedback.service import thread_detail

    found = thread_detail(open_store(), thread_id)
    t = found.thread
    typer.echo(f"thread {t.id}: {t.state} · {t.plan} v{t.version}{f' · {t.component}' if t.component else ''}")
    typer.echo(f"  {t.topic}")
    for c in found.comments:
        who = f"{c.author_name or c.author}{' (designer)' if c.designer else ''}"
        typer.echo(f"  [{c.created_at:%Y-%m-%d %H:%M}] {who}: {c.body}")


@feedback_app.command("show")
def show_command(thread: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A thread with its comments."""
    from openspm.feedback.service import thread_detail

    with user_errors():
        if as_json:
            print_json(asdict(thread_detail(open_store(), thread)))
            return
        _print_thread(thread)


@feedback_app.command("add")
def add_command(
    plan: str = typer.Argument(...),
    version: int = typer.Argument(..., min=1),
    topic: str = typer.Option(..., "--topic"),
    text: str = typer.Option(..., "--text", help="The first comment"),
    component: str | None = typer.Option(None, "--component", help="A component of this version"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open a thread on a plan version (as a designer)."""
    from openspm.feedback.service import open_thread

    with user_errors():
        found = open_thread(
            open_store(),
            plan=plan,
            version=version,
            topic=topic,
            body=text,
            component=component,
            actor=actor(),
            designer=True,
        )
    if as_json:
        print_json(asdict(found))
        return
    typer.echo(f"thread {found.thread.id} opened on {plan} v{version}")


@feedback_app.command("reply")
def reply_command(
    thread: int = typer.Argument(...),
    text: str = typer.Option(..., "--text"),
    close: bool = typer.Option(False, "--close", help="Close the thread with this reply"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reply to a thread as a designer: it becomes answered (or closed with --close)."""
    from openspm.feedback.service import reply

    with user_errors():
        found = reply(open_store(), thread, body=text, actor=actor(), designer=True, close=close)
    if as_json:
        print_json(asdict(found))
        return
    typer.echo(f"thread {thread}: replied; now {found.thread.state}")


@feedback_app.command("close")
def close_command(thread: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Close a thread."""
    from openspm.feedback.service import close_thread

    with user_errors():
        close_thread(open_store(), thread, actor=actor(), note=note)
    typer.echo(f"thread {thread}: closed")


@feedback_app.command("reopen")
def reopen_command(thread: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Reopen a closed thread."""
    from openspm.feedback.service import reopen_thread

    with user_errors():
        reopen_thread(open_store(), thread, actor=actor(), note=note)
    typer.echo(f"thread {thread}: open")


@survey_app.command("list")
def survey_list_command(
    plan: str | None = typer.Argument(None, help="Only this plan"),
    version: int | None = typer.Option(None, "--version", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Surveys (open first) with how many have answered."""
    from openspm.feedback.service import list_surveys

    with user_errors():
        found = list_surveys(open_store(), plan=plan, version=version)
    if as_json:
        print_json({"items": [asdict(s) for s in found], "total": len(found)})
        return
    table = Table("id", "plan", "version", "title", "state", "questions", "answered")
    for s in found:
        table.add_row(str(s.id), s.plan, str(s.version), s.title, s.state, str(len(s.questions)), str(s.respondents))
    stdout.print(table)


@survey_app.command("create")
def survey_create_command(
    plan: str = typer.Argument(...),
    version: int = typer.Argument(..., min=1),
    title: str = typer.Option(..., "--title"),
    scale: list[str] = typer.Option(None, "--scale", help="A question answered 1 to 5 (repeat)"),
    text: list[str] = typer.Option(None, "--text", help="A question answered in words (repeat; asked after)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Attach a survey to a plan version: scale questions first, then free-text ones."""
    from openspm.feedback.service import create_survey

    questions = [(q, "scale") for q in scale or []] + [(q, "text") for q in text or []]
    with user_errors():
        found = create_survey(open_store(), plan=plan, version=version, title=title, questions=questions, actor=actor())
    if as_json:
        print_json(asdict(found))
        return
    typer.echo(f"survey {found.id} attached to {plan} v{version} ({len(found.questions)} questions)")


@survey_app.command("results")
def survey_results_command(survey: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A survey's results: per question the count, mean and distribution (1..5), or the answers in words, with
    who answered (the designers' view)."""
    from openspm.feedback.service import results

    with user_errors():
        found = results(open_store(), survey, names=True)
    if as_json:
        print_json(asdict(found))
        return
    s = found.survey
    typer.echo(f"survey {s.id}: {s.title} · {s.plan} v{s.version} · {s.state} · {found.respondents} answered")
    for q in found.questions:
        if q.kind == "scale":
            spread = " ".join(f"{k}:{n}" for k, n in q.distribution.items())
            typer.echo(f"  {q.number}. {q.text}  n={q.count} mean={q.mean if q.mean is not None else '-'}  {spread}")
        else:
            typer.echo(f"  {q.number}. {q.text}  n={q.count}")
            for t in q.texts:
                typer.echo(f"     - {t.text} ({t.respondent_name or t.respondent})")


@survey_app.command("close")
def survey_close_command(survey: int = typer.Argument(...)) -> None:
    """Close a survey: answers are final."""
    from openspm.feedback.service import close_survey

    with user_errors():
        close_survey(open_store(), survey, actor=actor())
    typer.echo(f"survey {survey}: closed")
