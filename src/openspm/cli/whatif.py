"""`openspm what-if`: a payee's open deals, the exact earnings change if chosen deals closed (the engine that
pays, nothing stored), and the open deals ranked by expected earnings."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from openspm.cli.common import open_store, print_json, progress_bar, stdout, user_errors
from openspm.core.errors import InvalidInput

whatif_app = typer.Typer(
    help="Rep what-if: the earnings change if deals closed, computed by the engine that pays.", no_args_is_help=True
)
PAYEE = typer.Option(..., "--payee", help="The payee's id, e.g. EMP-1009")
CLOSE_ON = typer.Option(None, "--close-on", help="Close every chosen open deal on this day (YYYY-MM-DD) instead")


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


@whatif_app.command("deals")
def deals_command(
    payee: str = PAYEE, close_on: str | None = CLOSE_ON, as_json: bool = typer.Option(False, "--json")
) -> None:
    """The payee's open opportunities as the deals a what-if books (product, list amount, close date)."""
    from openspm.insights.whatif import deal_json, open_deals

    with user_errors(), Session(open_store()) as session:
        deals = open_deals(session, payee, _day(close_on))
    if as_json:
        print_json({"payee": payee, "deals": [deal_json(d) for d in deals]})
        return
    table = Table("opportunity", "name", "account", "product", "amount", "closes", "probability", title=payee)
    for d in deals:
        table.add_row(d.key, d.name, d.account, d.product, f"{d.amount:,} {d.currency}", d.close_date.isoformat(),
                      "" if d.probability is None else str(d.probability))  # fmt: skip
    stdout.print(table)


@whatif_app.command("run")
def run_command(
    payee: str = PAYEE,
    opportunity: list[str] = typer.Option([], "--opportunity", "-o", help="An open opportunity of the payee"),
    deal: list[str] = typer.Option(
        [], "--deal", help="A typed-in deal: ACCOUNT,PRODUCT,AMOUNT,CLOSE_DATE[,DISCOUNT%[,CURRENCY]]"
    ),
    close_on: str | None = CLOSE_ON,
    discount: str = typer.Option("0", "--discount", help="Percent off the chosen open deals"),
    transactions: Path | None = typer.Option(
        None, "--transactions", help="Also write the deals as a transactions import file (CSV)"
    ),
    as_json: bool = typer.Option(False, "--json"),
    progress: bool = typer.Option(False, "--progress/--no-progress", help="A progress bar on stderr"),
) -> None:
    """The payee's earnings change per month and component if the deals closed, and what the discount costs."""
    from openspm.access.whatif import HypotheticalIn, deals_of
    from openspm.insights.whatif import transaction_rows, what_if, what_if_json

    with user_errors():
        typed = []
        for text in deal:
            parts = [p.strip() for p in text.split(",")]
            if len(parts) < 4:
                raise InvalidInput(f"--deal {text!r}: give ACCOUNT,PRODUCT,AMOUNT,CLOSE_DATE[,DISCOUNT[,CURRENCY]]")
            typed.append(HypotheticalIn(parts[0], parts[1], parts[2], parts[3], *(parts[4:6])))
        with Session(open_store()) as session, progress_bar(progress) as bar:
            deals = deals_of(session, payee, opportunity, typed, close_on, discount)
            result = what_if(
                session, payee, deals, on_step=(lambda done, total, text: bar("what-if", done, total)) if bar else None
            )
        if transactions is not None:
            rows = transaction_rows(result.deals)
            with transactions.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    if as_json:
        print_json(what_if_json(result))
        return
    table = Table("month", "plan", "component", "over", "now", "at list", "with the deals", "change",
                  title=f"{payee}: what if {', '.join(d.key for d in result.deals)} closed")  # fmt: skip
    for line in result.lines:
        if line.delta or line.discount_cost:
            table.add_row(line.month, line.plan, line.component, line.measure_period, f"{line.before:,}",
                          f"{line.at_list:,}", f"{line.after:,}", f"{line.delta:+,} {line.currency}")  # fmt: skip
    stdout.print(table)
    stdout.print("change: " + (", ".join(f"{v:+,} {k}" for k, v in result.total().items()) or "0"))
    cost = {k: v for k, v in result.total("discount_cost").items() if v}
    if cost:
        stdout.print("the discount costs: " + ", ".join(f"{v:,} {k}" for k, v in cost.items()))
    for c in result.credits:
        stdout.print(f"{c.deal} credits {c.payee} ({c.plan}, {c.role} {c.share:%})")


@whatif_app.command("rank")
def rank_command(
    payee: str = PAYEE,
    close_on: str | None = CLOSE_ON,
    as_json: bool = typer.Option(False, "--json"),
    progress: bool = typer.Option(False, "--progress/--no-progress", help="A progress bar on stderr"),
) -> None:
    """The payee's open deals by expected earnings: probability × (marginal earnings + renewal value)."""
    from openspm.insights.whatif import rank_open_deals, ranked_json

    with user_errors(), Session(open_store()) as session, progress_bar(progress) as bar:
        rows = rank_open_deals(
            session,
            payee,
            close_on=_day(close_on),
            on_step=(lambda done, total, text: bar("ranking", done, total)) if bar else None,
        )
    if as_json:
        print_json({"payee": payee, "deals": ranked_json(rows)})
        return
    table = Table("#", "opportunity", "closes", "amount", "probability", "marginal", "renewal", "expected",
                  title=f"{payee}: open deals by expected earnings")  # fmt: skip
    for i, r in enumerate(rows, start=1):
        amount, expected = f"{r.deal.amount:,} {r.deal.currency}", f"{r.expected:,} {r.currency}"
        table.add_row(str(i), r.deal.key, r.deal.close_date.isoformat(), amount, str(r.probability),
                      f"{r.marginal:,}", f"{r.renewal_value:,}", expected)  # fmt: skip
    stdout.print(table)
    if not rows:
        stdout.print("no open deals")
