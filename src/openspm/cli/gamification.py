"""`openspm leaderboard`, `openspm contest add|list|standings|close`, `openspm badges award|list`.

The CLI acts as the operator (`cli:<user>` in the audit log) with a comp analyst's rights, like `openspm adjust`:
it sees every name on a board. `openspm leaderboard --as EMAIL` shows the board as that user sees it (their
row marked, opted-out payees hidden as "(hidden)").
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.access import gamification as access
from openspm.access.principal import Principal, principal_of
from openspm.cli.common import actor, open_store, print_json, stdout, user_errors
from openspm.core.errors import InvalidInput, NotFound
from openspm.store import models as m

contest_app = typer.Typer(help="Contests and SPIF campaigns: add, list, standings, close.", no_args_is_help=True)
badges_app = typer.Typer(help="Badges and milestones: award from stored results, list.", no_args_is_help=True)


def _operator(as_user: str | None = None) -> Principal:
    engine = open_store()
    if as_user is None:
        return Principal(0, actor(), "operator", frozenset({"comp_analyst"}))
    with Session(engine) as session:
        user_id = session.scalar(select(m.User.id).where(m.User.email == as_user))
    if user_id is None:
        raise NotFound(f"unknown user {as_user!r}")
    return principal_of(engine, user_id)


def _plain(value: Any) -> Any:
    return str(value) if value is not None else None


def leaderboard_command(
    measure: str | None = typer.Option(None, "--measure", help="A measure stored by runs (default bookings)"),
    period: str | None = typer.Option(None, "--period", help="A month, quarter or year (default this quarter)"),
    metric: str = typer.Option("value", "--metric", help="value, count (deals) or attainment"),
    scope: str = typer.Option("company", "--scope", help="company, team or region"),
    team: str | None = typer.Option(None, "--team", help="The team's manager (payee id), with --scope team"),
    region: str | None = typer.Option(None, "--region", help="The region, with --scope region"),
    plan: str | None = typer.Option(None, "--plan", help="The plan, when several plans have the measure"),
    as_user: str | None = typer.Option(None, "--as", help="Show it as this user sees it (email)"),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Payees ranked on a stored measure for a period (equal values share a rank: 1, 2, 2, 4)."""
    with user_errors():
        viewer = _operator(as_user)
        if scope == "team" and team is None and viewer.payee_id is None:
            raise InvalidInput("--scope team needs --team MANAGER_ID (or --as a rep or manager)")
        board = access.leaderboard_for(
            open_store(),
            viewer,
            measure=measure,
            period=period,
            metric=metric,
            scope=scope,
            plan=plan,
            team=team,
            region=region,
        )
    rows = board.rows[:limit]
    if as_json:
        data = {k: v for k, v in asdict(board).items() if k not in ("rows", "measures", "regions")}
        print_json({**data, "rows": [{**asdict(r), "value": _plain(r.value)} for r in rows]})
        return
    table = Table("rank", "payee", "name", board.metric if board.metric != "value" else board.measure)
    for r in rows:
        value = "—" if r.value is None else (f"{r.value * 100:.2f}%" if board.metric == "attainment" else str(r.value))
        style = "bold yellow" if r.me else None
        table.add_row(str(r.rank), r.payee or "", r.name, value, style=style)
    stdout.print(f"{board.measure} ({board.plan}) · {board.period} · {board.scope_label}")
    stdout.print(table)
    if board.my_rank:
        stdout.print(f"you are #{board.my_rank} of {len(board.rows)}")


@contest_app.command("add")
def add_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The contest's YAML file"),
    replace: bool = typer.Option(False, "--replace", help="Replace an active contest with the same key"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a contest file (errors say FILE @ key) and add it."""
    with user_errors():
        added = access.add_contest_for(open_store(), _operator(), file.read_text(encoding="utf-8"), str(file), replace)
    if as_json:
        print_json(asdict(added))
        return
    stdout.print(f"contest {added.key} (id {added.id}): {added.name}, {added.first_month} – {added.last_month}")


@contest_app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help="active or closed"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Contests, active first."""
    with user_errors():
        found = access.contests_for(open_store(), _operator(), status)
    if as_json:
        print_json([asdict(c) for c in found])
        return
    table = Table("id", "key", "name", "kind", "plan", "window", "status")
    for c in found:
        table.add_row(str(c.id), c.key, c.name, c.kind, c.plan, f"{c.first_month} – {c.last_month}", c.status)
    stdout.print(table)


@contest_app.command("standings")
def standings_command(
    contest: str = typer.Argument(..., help="The contest's key or id"),
    refresh: bool = typer.Option(False, "--refresh", help="Recompute even when nothing changed"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Live standings (final once closed), computed by the engine from the latest credits."""
    with user_errors():
        view = access.standings_for(open_store(), _operator(), contest, refresh)
    rows = [
        {
            "rank": s.rank,
            "payee": s.payee,
            "name": s.name,
            "value": str(s.value),
            "qualifies": s.qualifies,
            "award": _plain(s.award),
        }
        for s in view.rows
    ]
    if as_json:
        print_json(
            {"contest": asdict(view.contest), "final": view.final, "computed_at": view.computed_at, "rows": rows}
        )
        return
    table = Table("rank", "payee", "name", "metric", f"award ({view.currency})")
    for r in rows:
        note = "" if r["qualifies"] else " (below threshold)"
        table.add_row(str(r["rank"]), r["payee"], r["name"], r["value"] + note, r["award"] or "")
    state = "final" if view.final else f"live as of {view.computed_at}"
    stdout.print(f"{view.contest.name} ({view.contest.key}) · {state}")
    stdout.print(table)


@contest_app.command("close")
def close_command(
    contest: str = typer.Argument(..., help="The contest's key or id"),
    pay_period: str | None = typer.Option(None, "--pay-period", help="The month to pay in (default: the month after)"),
    early: bool = typer.Option(False, "--early", help="Close before the window has ended"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Final standings; every prize or SPIF payout proposed as a pending adjustment (reason spiff)."""
    with user_errors():
        closed = access.close_contest_for(open_store(), _operator(), contest, pay_period, early)
    if as_json:
        print_json(
            {"contest": asdict(closed.contest), "pay_period": closed.pay_period, "adjustments": closed.adjustments}
        )
        return
    stdout.print(f"{closed.contest.key} closed; awards proposed in {closed.pay_period}, waiting for approval:")
    for a in closed.adjustments:
        stdout.print(f"  {a['payee']}: {a['amount']} (adjustment {a['adjustment_id']}, {a['status']})")


@badges_app.command("award")
def award_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """Award every badge the stored results earn (first deal, quota month/quarter, streaks); idempotent."""
    with user_errors():
        report = access.award_badges_for(open_store(), _operator())
    items = [{**asdict(b), "earned_on": b.earned_on.isoformat()} for b in report.awarded]
    if as_json:
        print_json({"months": report.months, "awarded": items})
        return
    stdout.print(f"{len(report.awarded)} new badge(s) from {len(report.months)} month(s) with runs")
    for b in report.awarded:
        stdout.print(f"  {b.payee} {b.title} ({b.key}) earned {b.earned_on}")


@badges_app.command("list")
def badges_list_command(
    payee: str | None = typer.Option(None, "--payee", help="Only this payee"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Badges awarded, newest first."""
    with user_errors():
        found = [b for b in access.badges_for(open_store(), _operator()) if payee is None or b.payee == payee]
    if as_json:
        print_json([{**asdict(b), "earned_on": b.earned_on.isoformat()} for b in found])
        return
    table = Table("payee", "name", "badge", "key", "earned")
    for b in found:
        table.add_row(b.payee, b.name, b.title, b.key, b.earned_on.isoformat())
    stdout.print(table)
