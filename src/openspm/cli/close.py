"""`openspm period ...`, `openspm adjust ...`, `openspm hold release`, `openspm payments`: pay and close."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, stdout, user_errors
from openspm.core.errors import InvalidInput

period_app = typer.Typer(help="The period lifecycle: status, approve, close, reopen.", no_args_is_help=True)
adjust_app = typer.Typer(help="Manual adjustments with reason codes and approval.", no_args_is_help=True)
hold_app = typer.Typer(help="Release held earnings.", no_args_is_help=True)


def _months(store: object, period: list[str], year: str | None) -> list[str]:
    from openspm.close.service import status

    months = list(period)
    if year is not None:
        found = status(store, year)  # type: ignore[arg-type]
        months += [s.period for s in found if s.run_id is not None and s.status != "closed"]
    if not months and year is None:
        raise InvalidInput("say which months: FY2025-M03 ... or --year FY2025")
    return months


@period_app.command("status")
def status_command(
    year: str | None = typer.Option(None, "--year", help="Only the months of a fiscal year, e.g. FY2025"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Each month's status (open, calculated, approved, closed), the run that stands for it and its close."""
    from openspm.close.service import status

    with user_errors():
        rows = status(open_store(), year)
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    table = Table("month", "status", "run", "closed by", "closed at", "documents")
    for r in rows:
        closed_at = f"{r.closed_at:%Y-%m-%d %H:%M}" if r.closed_at else ""
        table.add_row(r.period, r.status, str(r.run_id or ""), r.closed_by or "", closed_at, str(r.documents or ""))
    stdout.print(table)


@period_app.command("approve")
def approve_command(
    period: list[str] = typer.Argument(None, help="Months to approve, e.g. FY2025-M03"),
    year: str | None = typer.Option(None, "--year", help="Every calculated month of a fiscal year"),
) -> None:
    """Approve each month's newest completed run."""
    from openspm.close.service import approve

    with user_errors():
        store = open_store()
        for month in _months(store, period or [], year):
            result = approve(store, month, actor())
            typer.echo(f"{month}: approved run {result.run_id}")


@period_app.command("close")
def close_command(
    period: list[str] = typer.Argument(None, help="Months to close, in order, e.g. FY2025-M03"),
    year: str | None = typer.Option(None, "--year", help="Every month of a fiscal year that has a run"),
    approve_first: bool = typer.Option(False, "--approve", help="Approve each month's newest run first"),
    statements: bool = typer.Option(
        False, "--statements", help="Fingerprint every payee's statement too (about 0.1 s a payee)"
    ),
) -> None:
    """Close approved months: freeze each month's run as its snapshot, with the digests of its documents
    (payment and earning registers, payroll file, GL journal; statements with --statements)."""
    from openspm.close.documents import month_documents, with_statements
    from openspm.close.service import approve, close

    with user_errors():
        store = open_store()
        for month in _months(store, period or [], year):
            if approve_first:
                approve(store, month, actor())
            result = close(store, month, actor(), with_statements if statements else month_documents)
            typer.echo(f"{month}: closed; snapshot run {result.run_id}, {result.documents} documents fingerprinted")


@period_app.command("verify")
def verify_command(period: str = typer.Argument(..., help="A closed month")) -> None:
    """Make a closed month's documents again and check each has the digest it had at close."""
    from openspm.close.documents import month_documents
    from openspm.close.service import verify

    with user_errors():
        checks = verify(open_store(), period, month_documents)
    for name, same in checks.items():
        typer.echo(f"{'same' if same else 'CHANGED'}  {name}")
    if not all(checks.values()):
        raise typer.Exit(1)


@period_app.command("reopen")
def reopen_command(
    period: str = typer.Argument(..., help="The newest closed month"),
    reason: str = typer.Option(..., "--reason", help="Why it is reopened (kept in the audit log)"),
) -> None:
    """Reopen the newest closed month (an audited admin action)."""
    from openspm.close.service import reopen

    with user_errors():
        reopen(open_store(), period, actor(), reason)
    typer.echo(f"{period}: reopened; run, approve and close it again")


@period_app.command("unlock")
def unlock_command(period: str = typer.Argument(..., help="A month whose calculation run died")) -> None:
    """Remove the calculation lock of a month whose run died (audited)."""
    from openspm.close.service import unlock

    with user_errors():
        removed = unlock(open_store(), period, actor())
    typer.echo(f"{period}: lock removed" if removed else f"{period}: no lock")


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"amount {text!r} is not a number") from None


@adjust_app.command("add")
def adjust_add_command(
    payee: str = typer.Option(..., "--payee"),
    plan: str = typer.Option(..., "--plan"),
    period: str = typer.Option(..., "--period", help="The open month it is paid in"),
    amount: str = typer.Option(..., "--amount", help="Plan currency; negative takes money back"),
    reason: str = typer.Option(..., "--reason", help="Reason code (correction, missed_credit, dispute, ...)"),
    note: str | None = typer.Option(None, "--note"),
    component: str | None = typer.Option(None, "--component", help="The component it corrects, if any"),
    needs_approval: bool = typer.Option(False, "--needs-approval", help="Wait for someone else's approval"),
) -> None:
    """Record a manual adjustment (paid by the month's next run once approved)."""
    from openspm.close.adjustments import add_adjustment

    with user_errors():
        view = add_adjustment(
            open_store(),
            payee=payee,
            plan=plan,
            period=period,
            amount=_amount(amount),
            reason_code=reason,
            actor=actor(),
            note=note,
            component=component,
            needs_approval=needs_approval,
        )
    typer.echo(f"adjustment {view.id}: {view.amount} {view.currency} for {payee} in {period} ({view.status})")


@adjust_app.command("approve")
def adjust_approve_command(adjustment: int = typer.Argument(...), note: str | None = typer.Option(None)) -> None:
    """Approve a pending adjustment (not your own)."""
    from openspm.close.adjustments import decide

    with user_errors():
        view = decide(open_store(), adjustment, actor(), True, note)
    typer.echo(f"adjustment {view.id}: approved")


@adjust_app.command("reject")
def adjust_reject_command(
    adjustment: int = typer.Argument(...), note: str = typer.Option(..., "--note", help="Why")
) -> None:
    """Reject a pending adjustment, with the reason."""
    from openspm.close.adjustments import decide

    with user_errors():
        view = decide(open_store(), adjustment, actor(), False, note)
    typer.echo(f"adjustment {view.id}: rejected")


@adjust_app.command("list")
def adjust_list_command(
    period: str | None = typer.Option(None, "--period"),
    status: str | None = typer.Option(None, "--status", help="pending, approved or rejected"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Adjustments, newest first."""
    from openspm.close.adjustments import adjustments

    with user_errors():
        rows = adjustments(open_store(), period, status)
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    table = Table("id", "payee", "plan", "period", "amount", "reason", "status", "by", "decided by", "note")
    for r in rows:
        table.add_row(
            str(r.id),
            r.payee,
            r.plan,
            r.period,
            f"{r.amount} {r.currency}",
            r.reason_code,
            r.status,
            r.created_by,
            r.decided_by or "",
            r.note or "",
        )
    stdout.print(table)


@hold_app.command("release")
def hold_release_command(
    payee: str = typer.Option(..., "--payee"),
    plan: str = typer.Option(..., "--plan"),
    component: str = typer.Option(..., "--component"),
    origin: str = typer.Option(..., "--earned-in", help="The month the held earning was earned"),
    into: str = typer.Option(..., "--into", help="The open month it is paid in"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Release a held earning (a `until: manual` hold) into an open month."""
    from openspm.close.adjustments import release_hold

    with user_errors():
        release_hold(
            open_store(),
            plan=plan,
            payee=payee,
            component=component,
            origin=origin,
            into=into,
            actor=actor(),
            note=note,
        )
    typer.echo(f"{payee}'s {component} of {origin}: released into {into}")


def accept_command(
    plan: str = typer.Argument(..., help="Plan id"),
    payee: str = typer.Option(..., "--payee"),
    version: int | None = typer.Option(None, "--version", help="Default: the newest version"),
    on: str | None = typer.Option(None, "--on", help="Date accepted (default today)"),
) -> None:
    """Record a payee's acceptance of a plan version."""
    from openspm.close.adjustments import accept_plan

    with user_errors():
        day = date.fromisoformat(on) if on else date.today()
        accept_plan(open_store(), payee=payee, plan=plan, version=version, on=day, actor=actor())
    typer.echo(f"{payee} accepted {plan}")


def payments_command(
    period: str = typer.Option(..., "--period", "-p"),
    payee: str | None = typer.Option(None, "--payee"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What a month pays each payee (its snapshot once closed), with each line when --payee is given."""
    from sqlalchemy.orm import Session

    from openspm.runs.pay import payments_of

    with user_errors():
        store = open_store()
        with Session(store) as session:
            rows = [p for p in payments_of(session, period) if payee is None or p.payee == payee]
            data: list[dict[str, Any]] = [
                {
                    "plan": p.plan,
                    "payee": p.payee,
                    "earned": str(p.earned),
                    "amount": str(p.amount),
                    "currency": p.currency,
                    "pay_amount": str(p.pay_amount),
                    "pay_currency": p.pay_currency,
                    "rate": str(p.rate),
                    "lines": p.lines,
                    "balance": p.balance,
                }
                for p in rows
            ]
    if as_json:
        print_json(data)
        return
    table = Table("plan", "payee", "earned", "paid", "pay currency", "draw owed", "held")
    for d in data:
        table.add_row(
            d["plan"],
            d["payee"],
            f"{d['earned']} {d['currency']}",
            f"{d['amount']} {d['currency']}",
            f"{d['pay_amount']} {d['pay_currency']}",
            d["balance"].get("draw_owed", "0"),
            d["balance"].get("held_total", "0"),
        )
    stdout.print(table)
    if payee is not None:
        for d in data:
            for line in d["lines"]:
                source = ", ".join(f"{k}={v}" for k, v in line["source"].items())
                stdout.print(f"  {line['kind']:<24} {line['amount']:>14}  {source}  {line['reason']}")
