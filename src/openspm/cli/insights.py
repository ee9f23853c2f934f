"""`openspm insights kpis` and `openspm insights data-quality`: analytics and data-quality checks of the store.

The command line acts for the store's operator, so it sees every payee (the web and the API filter by role).
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from decimal import Decimal

import typer
from rich.table import Table as RichTable

from openspm.cli.common import open_store, print_json, stdout, user_errors

insights_app = typer.Typer(
    help="Analytics (KPIs by rep, team, region, product) and data-quality checks.", no_args_is_help=True
)


def _decimal(text: str | None, what: str, default: Decimal) -> Decimal:
    from openspm.core.errors import InvalidInput

    if text is None:
        return default
    try:
        return Decimal(text)
    except ArithmeticError:
        raise InvalidInput(f"{what} {text!r} is not a number") from None


@insights_app.command("kpis")
def kpis_command(
    period: str | None = typer.Option(
        None, "--period", help="A month, quarter or year (default: the year of the newest run)"
    ),
    team: str | None = typer.Option(None, "--team", help="A manager's payee id: them and everyone below them"),
    region: str | None = typer.Option(None, "--region", help="A region (the account's, or the payee's)"),
    product: str | None = typer.Option(None, "--product", help="A product id or family"),
    rep: str | None = typer.Option(None, "--rep", help="One payee id"),
    currency: str | None = typer.Option(None, "--currency", help="Reporting currency (default: the first plan's)"),
    growth_floor: str | None = typer.Option(None, "--growth-floor", help="Flag revenue growth below this (-0.10)"),
    attainment_floor: str | None = typer.Option(None, "--attainment-floor", help="Flag attainment below this (0.80)"),
    table: str = typer.Option("by_rep", "--table", help="The table --csv prints (or shown on screen)"),
    as_json: bool = typer.Option(False, "--json", help="Everything as JSON"),
    as_csv: bool = typer.Option(False, "--csv", help="One table (--table) as CSV on stdout"),
    limit: int = typer.Option(25, "--limit", help="Rows of the table shown on screen"),
) -> None:
    """Revenue, attainment, win rate, funnel, deal size, cycle, velocity, pipeline coverage, discount, cost of
    sales and pay for performance (docs/insights.md, "Analytics")."""
    from sqlalchemy.orm import Session

    from openspm.insights.kpis import Filters, compute, table_csv
    from openspm.insights.kpis import as_json as kpis_json

    with user_errors():
        base = Filters()
        filters = Filters(
            period=period,
            team=team,
            region=region,
            product=product,
            rep=rep,
            currency=currency,
            growth_floor=_decimal(growth_floor, "--growth-floor", base.growth_floor),
            attainment_floor=_decimal(attainment_floor, "--attainment-floor", base.attainment_floor),
        )
        with Session(open_store()) as session:
            k = compute(session, filters, None)
        chosen = k.table(table)
    if as_json:
        print_json(kpis_json(k))
        return
    if as_csv:
        sys.stdout.write(table_csv(chosen))
        return
    console = stdout
    console.print(f"[bold]{k.period.name}[/bold] ({k.period.start} to {k.period.end}), {k.currency}")
    head = RichTable("figure", "value", show_header=False)
    for key, value in k.headline.items():
        head.add_row(key.replace("_", " "), "" if value is None else str(value))
    console.print(head)
    for note in k.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    shown = RichTable(*[c.name for c in chosen.columns], title=f"{chosen.title} ({len(chosen.rows)} rows)")
    for row in chosen.rows[:limit]:
        shown.add_row(*["" if v is None else str(v) for v in row])
    console.print(shown)
    console.print(f"tables: {', '.join(k.tables)} (--table NAME, --csv)")


@insights_app.command("data-quality")
def data_quality_command(
    as_of: str | None = typer.Option(None, "--as-of", help="Judge as of this day (default today)"),
    stale_days: int = typer.Option(90, "--stale-days", min=1, max=3650, help="An open opportunity older is stale"),
    as_json: bool = typer.Option(False, "--json", help="Everything as JSON"),
    as_csv: bool = typer.Option(False, "--csv", help="Every problem as CSV on stdout (with a check column)"),
    limit: int = typer.Option(10, "--limit", help="Problems shown per check on screen"),
) -> None:
    """Transactions that credited nobody, accounts without owner or territory, stale and duplicate opportunities,
    late data; each with where to fix it (docs/insights.md, "Data quality")."""
    from sqlalchemy.orm import Session

    from openspm.core.dates import parse_date
    from openspm.core.errors import InvalidInput
    from openspm.insights.data_quality import as_json as dq_json
    from openspm.insights.data_quality import data_quality

    with user_errors():
        try:
            day = parse_date(as_of) if as_of else None
        except ValueError:
            raise InvalidInput(f"--as-of {as_of!r}: not a date (expected YYYY-MM-DD)") from None
        with Session(open_store()) as session:
            dq = data_quality(session, day, stale_days)
    if as_json:
        print_json(dq_json(dq))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["check", "subject", "date", "detail", "view", "fix"])
        for name, check in dq.checks.items():
            for p in check.rows:
                writer.writerow(
                    [name, p.subject, p.when.isoformat() if isinstance(p.when, date) else "", p.detail, p.view, p.fix]
                )
        sys.stdout.write(out.getvalue())
        return
    console = stdout
    console.print(f"[bold]data quality[/bold] as of {dq.as_of}")
    for check in dq.checks.values():
        console.print(f"[bold]{check.title}[/bold]: {check.count}")
        for p in check.rows[:limit]:
            console.print(f"  {p.subject}  {p.detail}  → {p.fix}")
