"""`openspm accounting schedule` and `openspm accounting journal`: ASC 340-40 / IFRS 15 commission accounting."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from openspm.cli.common import open_store, stdout, user_errors
from openspm.core.money import to_text

accounting_app = typer.Typer(
    help="Commission accounting (ASC 340-40 / IFRS 15): capitalized costs, amortization, journal entries.",
    no_args_is_help=True,
)

POLICY = typer.Option(None, "--policy", help="Accounting policy YAML file (see docs/accounting.md)")
BASIS = typer.Option(None, "--basis", help="contract_term or expected_benefit_months", metavar="BASIS")
BENEFIT = typer.Option(None, "--expected-benefit-months", help="Expected customer life in months", min=1)
RENEWALS = typer.Option(
    None,
    "--renewals-commensurate/--renewals-not-commensurate",
    help="Not commensurate: amortize over --expected-benefit-months",
    show_default=False,
)
EXPEDIENT = typer.Option(
    None,
    "--practical-expedient/--no-practical-expedient",
    help="Expense costs amortized over 12 months or less (default: on)",
    show_default=False,
)


def _policy(path: Path | None, basis: str | None, benefit: int | None, renewals: bool | None, expedient: bool | None
            ) -> Any:  # fmt: skip
    from openspm.accounting.schemas import load_policy

    return load_policy(
        path,
        basis=basis,
        expected_benefit_months=benefit,
        renewals_commensurate=renewals,
        practical_expedient=expedient,
    )


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def _money(totals: dict[str, Decimal]) -> str:
    return ", ".join(f"{to_text(v)} {k}" for k, v in totals.items()) or "0"


@accounting_app.command("schedule")
def schedule_command(
    through: str = typer.Option(..., "--through", help="Last month (or a quarter or year), e.g. FY2025-M12"),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write every cost's schedule line to this CSV file"),
    limit: int = typer.Option(20, "--limit", help="How many costs to list on screen"),
    policy: Path | None = POLICY,
    basis: str | None = BASIS,
    expected_benefit_months: int | None = BENEFIT,
    renewals_commensurate: bool | None = RENEWALS,
    practical_expedient: bool | None = EXPEDIENT,
) -> None:
    """Every commission cost through a month: contract, payee, amount, treatment, months, monthly amortization,
    the asset remaining."""
    from openspm.accounting.service import SCHEDULE_COLUMNS, TREATMENTS, book, schedule_rows

    with user_errors():
        chosen = _policy(policy, basis, expected_benefit_months, renewals_commensurate, practical_expedient)
        result = book(open_store(), through, chosen)
    rows = schedule_rows(result)
    if csv_out is not None:
        _write_csv(csv_out, SCHEDULE_COLUMNS, rows)
    typer.echo(f"{len(rows)} costs through {result.through.name} ({len(result.runs)} months read)")
    for treatment in TREATMENTS:
        mine = [c for c in result.costs if c.treatment == treatment]
        if mine:
            totals: dict[str, Decimal] = {}
            for cost in mine:
                totals[cost.currency] = totals.get(cost.currency, Decimal(0)) + cost.amount
            typer.echo(f"  {treatment:<26} {len(mine):>6}  {_money(totals)}")
    typer.echo(f"deferred commissions at the end of {result.through.name}: {_money(result.remaining())}")
    if result.missing:
        typer.echo(f"no completed run (nothing read): {', '.join(result.missing)}")
    for issue in result.issues:
        typer.echo(f"issue: {issue}", err=True)
    if limit and rows:
        table = Table(title_justify="left")
        shown = ("period", "contract", "payee", "amount", "treatment", "months", "monthly", "remaining")
        for header in shown:
            table.add_column(
                header, justify="right" if header in {"amount", "months", "monthly", "remaining"} else "left"
            )
        for row in rows[:limit]:
            table.add_row(*(row[h] for h in shown))
        stdout.print(table)
        if len(rows) > limit:
            typer.echo(f"... {len(rows) - limit} more (--limit N, or --csv FILE)")
    if csv_out is not None:
        typer.echo(f"wrote {csv_out}")


@accounting_app.command("journal")
def journal_command(
    period: str = typer.Option(..., "--period", "-p", help="Month, e.g. FY2025-M08"),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write the journal to this CSV file"),
    detail: bool = typer.Option(False, "--detail", help="In the CSV, every entry line per cost (with memos)"),
    policy: Path | None = POLICY,
    basis: str | None = BASIS,
    expected_benefit_months: int | None = BENEFIT,
    renewals_commensurate: bool | None = RENEWALS,
    practical_expedient: bool | None = EXPEDIENT,
) -> None:
    """A month's balanced commission accounting entries by account and cost center."""
    from openspm.accounting.service import (
        DETAIL_COLUMNS,
        JOURNAL_COLUMNS,
        book,
        entry_rows,
        ledger,
        ledger_rows,
        month_entries,
    )

    with user_errors():
        chosen = _policy(policy, basis, expected_benefit_months, renewals_commensurate, practical_expedient)
        result = book(open_store(), period, chosen)
        entries = month_entries(result, result.through.name)
    lines = ledger(entries)
    if csv_out is not None:
        if detail:
            _write_csv(csv_out, DETAIL_COLUMNS, entry_rows(entries))
        else:
            _write_csv(csv_out, JOURNAL_COLUMNS, ledger_rows(result.through.name, lines))
    debits = sum((x.debit for x in lines), Decimal(0))
    credits = sum((x.credit for x in lines), Decimal(0))
    state = "balanced" if debits == credits else "NOT BALANCED"
    typer.echo(
        f"{result.through.name}: {len(entries)} entries, debits {to_text(debits)}, credits {to_text(credits)}: {state}"
    )
    if result.through.name in result.missing:
        typer.echo(f"no completed run for {result.through.name}: only earlier months' costs amortize")
    table = Table(title_justify="left")
    for header in ("entry", "account", "cost center", "currency", "debit", "credit"):
        table.add_column(header, justify="right" if header in {"debit", "credit"} else "left")
    for x in lines:
        table.add_row(
            x.entry, x.account, x.cost_center, x.currency, to_text(x.debit) if x.debit else "",
            to_text(x.credit) if x.credit else "",
        )  # fmt: skip
    if lines:
        stdout.print(table)
    if csv_out is not None:
        typer.echo(f"wrote {csv_out}")
