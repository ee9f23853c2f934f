"""`openspm territory draft|show|list|approve|reject|publish`: territory scenarios over the store (docs/planning.md).

`draft` designs from the accounts and territories in effect on a day and stores the proposal as a draft (progress
on stderr); someone else approves it; `publish --from DATE` moves the accounts from that day.
"""

from __future__ import annotations

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, stderr, stdout, user_errors
from openspm.cli.territory import territory_app


def _show(scenario: int, as_json: bool) -> None:
    from dataclasses import asdict

    from openspm.planning.territory_scenarios import territory_draft

    d = territory_draft(open_store(), scenario)
    if as_json:
        print_json({**asdict(d), "in_band": d.in_band, "in_band_before": d.in_band_before})
        return
    measures = list(d.params.get("measures", ["potential"]))
    table = Table("territory", "name", "accounts", *[f"{m} before → after" for m in measures], "band", "in band")
    for t in d.totals:
        table.add_row(
            t.territory,
            t.name,
            f"{t.accounts_before} → {t.accounts}",
            *[f"{t.before[m]:,} → {t.totals[m]:,}" for m in measures],
            "; ".join(f"{t.lower[m]:,.0f}–{t.upper[m]:,.0f}" for m in measures),
            "yes" if t.in_band else "NO",
        )
    stdout.print(table)
    if d.moves:
        moves = Table("account", "name", "from", "to", "potential")
        for x in d.moves:
            moves.add_row(x.account, x.name, x.source or "—", x.target, f"{x.potential:,}")
        stdout.print(moves)
    gap = f"{d.gap:.2%}" if d.gap is not None else "—"
    stdout.print(
        f"scenario {d.id} '{d.name}' as of {d.on.isoformat()}: {d.status}; solve {d.solve_status} ({d.solver}, "
        f"{d.seconds:.1f} s); {len(d.moves)} moves of {d.accounts} accounts; objective {d.objective}, bound "
        f"{d.bound if d.bound is not None else '—'}, gap {gap}; {d.in_band} of {len(d.totals)} territories in band "
        f"(before: {d.in_band_before})"
        + (f"; published from {d.effective_from.isoformat()}" if d.effective_from else "")
    )
    for problem in d.problems:
        stdout.print(f"  {problem}")


@territory_app.command("draft")
def draft_command(
    on: str = typer.Option(..., "--on", help="Read the accounts and territories in effect on this day (YYYY-MM-DD)"),
    tolerance: str = typer.Option("0.05", "--tolerance", help="each total within ±this fraction of the mean"),
    solver: str = typer.Option("highs", "--solver", help="highs | cpsat | greedy"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="seconds"),
    measures: str = typer.Option("potential", "--balance", help="measures to balance: potential, workload, accounts"),
    objective: str = typer.Option("moves", "--objective", help="moves | moved_potential"),
    parent: str | None = typer.Option(None, "--parent", help="only the children of this territory"),
    unassigned: bool = typer.Option(False, "--include-unassigned", help="also place accounts with no territory"),
    name: str | None = typer.Option(None, "--name", help="a name for the draft"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Design territories from the store and keep the proposal as a draft for review."""
    from openspm.core.dates import parse_date
    from openspm.core.errors import InvalidInput
    from openspm.core.money import parse_decimal
    from openspm.planning.territory_scenarios import TerritoryParams, draft_territories

    with user_errors():
        try:
            day = parse_date(on)
        except ValueError:
            raise InvalidInput(f"--on {on!r}: not a date (expected YYYY-MM-DD)") from None
        try:
            tau = parse_decimal(tolerance)
        except ValueError as exc:
            raise InvalidInput(f"--tolerance: {exc}") from None
        params = TerritoryParams(
            on=day,
            tolerance=tau,
            solver=solver,
            time_limit=time_limit,
            measures=tuple(x.strip() for x in measures.split(",") if x.strip()),
            objective=objective,
            parent=parent,
            include_unassigned=unassigned,
        )
        draft = draft_territories(
            open_store(),
            params,
            name=name or f"territories on {day.isoformat()}",
            actor=actor(),
            progress=lambda fraction, text: stderr.print(f"[{fraction:4.0%}] {text}"),
        )
        _show(draft.id, as_json)


@territory_app.command("show")
def show_command(
    scenario: int = typer.Argument(..., help="The draft's id"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """A territory draft: totals before and after with the bands, the moves, objective, bound and gap."""
    with user_errors():
        _show(scenario, as_json)


@territory_app.command("list")
def list_command() -> None:
    """Territory drafts, newest first."""
    from openspm.planning.territory_scenarios import territory_drafts

    with user_errors():
        rows = territory_drafts(open_store())
    table = Table("id", "name", "as of", "status", "solve", "moves", "in band", "made by", "decided by", "from")
    for d in rows:
        table.add_row(
            str(d.id),
            d.name,
            d.on.isoformat(),
            d.status,
            d.solve_status,
            str(len(d.moves)),
            f"{d.in_band}/{len(d.totals)}",
            d.created_by,
            d.decided_by or "",
            d.effective_from.isoformat() if d.effective_from else "",
        )
    stdout.print(table)


@territory_app.command("approve")
def approve_command(scenario: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Approve a territory draft (not your own)."""
    from openspm.planning.territory_scenarios import decide

    with user_errors():
        decide(open_store(), scenario, actor(), True, note)
    typer.echo(f"territory scenario {scenario} approved")


@territory_app.command("reject")
def reject_command(scenario: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Send a territory draft back (it is discarded)."""
    from openspm.planning.territory_scenarios import decide

    with user_errors():
        decide(open_store(), scenario, actor(), False, note)
    typer.echo(f"territory scenario {scenario} discarded")


@territory_app.command("publish")
def publish_command(
    scenario: int = typer.Argument(...),
    effective_from: str = typer.Option(..., "--from", help="The moves take effect on this day (YYYY-MM-DD)"),
) -> None:
    """Move the accounts of an approved draft from a day (refused in or before a closed month, or when the store
    changed since the draft)."""
    from openspm.core.dates import parse_date
    from openspm.core.errors import InvalidInput
    from openspm.planning.territory_scenarios import publish

    with user_errors():
        try:
            day = parse_date(effective_from)
        except ValueError:
            raise InvalidInput(f"--from {effective_from!r}: not a date (expected YYYY-MM-DD)") from None
        moved = publish(open_store(), scenario, actor(), day)
    typer.echo(f"territory scenario {scenario} published: {moved} accounts move on {day.isoformat()}")
