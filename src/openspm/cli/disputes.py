"""`openspm dispute list|show|resolve|reject`: the analysts' disputes inbox from the command line.

The CLI acts as the operator (`cli:<user>` in the audit log) with an analyst's rights, like `openspm adjust`;
reps raise and follow their disputes in the web app or through the API.
"""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, stdout, user_errors
from openspm.core.text import required_decimal

dispute_app = typer.Typer(help="Disputes: list, show, resolve with an adjustment, reject.", no_args_is_help=True)


@dispute_app.command("list")
def list_command(
    state: list[str] = typer.Option(None, "--state", help="open, in_review, resolved_adjusted, rejected, withdrawn"),
    period: str | None = typer.Option(None, "--period", help="Only this statement month"),
    active: bool = typer.Option(False, "--active", help="Only open and in review, oldest first (the inbox)"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Disputes, newest first (with --active: the inbox, oldest first), and how many are in each state."""
    from openspm.disputes.schemas import ACTIVE
    from openspm.disputes.service import list_disputes, state_counts

    with user_errors():
        store = open_store()
        page = list_disputes(
            store,
            states=list(state or []) or (list(ACTIVE) if active else None),
            period=period,
            oldest_first=active,
            limit=limit,
        )
        counts = state_counts(store, period=period)
    if as_json:
        print_json({"items": [asdict(d) for d in page.items], "total": page.total, "counts": counts})
        return
    table = Table("id", "payee", "month", "line", "state", "assignee", "raised", "age", "outcome")
    for d in page.items:
        outcome = (
            f"{d.adjustment.amount} {d.adjustment.currency} in {d.adjustment.period} ({d.adjustment.status})"
            if d.adjustment
            else (d.resolution_note or "")
        )
        table.add_row(
            str(d.id),
            d.payee,
            d.period,
            d.line_label,
            d.state,
            d.assignee or "",
            f"{d.created_at:%Y-%m-%d}",
            str(d.age_days),
            outcome,
        )
    stdout.print(table)
    stdout.print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f"; shown {len(page.items)} of {page.total}")


@dispute_app.command("show")
def show_command(dispute: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A dispute with its comments (internal notes too) and its history."""
    from openspm.disputes.service import detail

    with user_errors():
        found = detail(open_store(), dispute, internal=True)
    if as_json:
        print_json(asdict(found))
        return
    d = found.dispute
    typer.echo(f"dispute {d.id}: {d.state_label} · {d.payee} ({d.payee_name}) · {d.period}")
    typer.echo(
        f"  line: {d.line_label}" + (f" · {d.line_amount} {d.line_currency}" if d.line_amount is not None else "")
    )
    typer.echo(f"  {d.category}: {d.description}")
    if d.amount_claimed is not None:
        typer.echo(f"  expected: {d.amount_claimed} {d.currency or ''}")
    typer.echo(f"  raised {d.created_at:%Y-%m-%d %H:%M} UTC by {d.raised_by}; assignee {d.assignee or '-'}")
    if d.adjustment:
        a = d.adjustment
        typer.echo(f"  outcome: adjustment {a.id}: {a.amount} {a.currency} in {a.period} ({a.status})")
    if d.resolution_note:
        typer.echo(f"  note: {d.resolution_note}")
    for c in found.comments:
        typer.echo(f"  [{c.created_at:%Y-%m-%d %H:%M}] {c.author}{' (internal)' if c.internal else ''}: {c.body}")
    for h in found.history:
        typer.echo(f"  {h.at:%Y-%m-%d %H:%M} {h.actor} {h.action} → {h.state or ''}")


@dispute_app.command("resolve")
def resolve_command(
    dispute: int = typer.Argument(...),
    amount: str = typer.Option(..., "--amount", help="The adjustment, in the plan currency"),
    plan: str | None = typer.Option(None, "--plan", help="Default: the disputed line's plan"),
    period: str | None = typer.Option(None, "--period", help="Default: the dispute's month, or the next open one"),
    reason: str = typer.Option("dispute", "--reason", help="The adjustment's reason code"),
    note: str | None = typer.Option(None, "--note", help="What the payee reads"),
    needs_approval: bool = typer.Option(False, "--needs-approval", help="The adjustment waits for someone else"),
) -> None:
    """Resolve a dispute by an adjustment, linked to it."""
    from openspm.disputes.service import resolve_with_adjustment

    with user_errors():
        view = resolve_with_adjustment(
            open_store(),
            dispute,
            amount=required_decimal(amount, "amount"),
            actor=actor(),
            plan=plan,
            period=period,
            reason_code=reason,
            note=note,
            needs_approval=needs_approval,
        )
    a = view.adjustment
    assert a is not None
    typer.echo(f"dispute {view.id}: resolved by adjustment {a.id} ({a.amount} {a.currency} in {a.period}, {a.status})")


@dispute_app.command("reject")
def reject_command(
    dispute: int = typer.Argument(...), reason: str = typer.Option(..., "--reason", help="What the payee reads")
) -> None:
    """Reject a dispute, with the reason."""
    from openspm.disputes.service import reject

    with user_errors():
        view = reject(open_store(), dispute, reason=reason, actor=actor())
    typer.echo(f"dispute {view.id}: rejected")
