"""`openspm export payroll` and `openspm export journal`: a month's payroll file and GL accrual journal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import typer

from openspm.cli.common import open_store, user_errors

export_app = typer.Typer(
    help="Payroll files and GL accrual journals, byte-identical when made again for a closed month.",
    no_args_is_help=True,
)

PERIOD = typer.Option(..., "--period", "-p", help="Month, e.g. FY2025-M08")
OUT = typer.Option(None, "--out", "-o", help="Write to this file (default: standard output)")


def _emit(data: bytes, out: Path | None, summary: str) -> None:
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    out.write_bytes(data)
    typer.echo(f"{summary}; wrote {out}", err=True)


@export_app.command("payroll")
def payroll_command(
    period: str = PERIOD,
    config: Path | None = typer.Option(None, "--config", help="Payroll columns and earning codes (YAML)"),
    out: Path | None = OUT,
) -> None:
    """The month's payroll file: one CSV row per payee and earning code, in the pay currency."""
    from openspm.exports.payroll import load_payroll_config, payroll_csv

    with user_errors():
        data = payroll_csv(open_store(), period, load_payroll_config(config))
    rows = data.count(b"\n") - 1
    _emit(data, out, f"{period}: {rows} payroll rows")


@export_app.command("journal")
def journal_command(
    period: str = PERIOD,
    config: Path | None = typer.Option(None, "--config", help="GL account names (YAML `accounts:`)"),
    out: Path | None = OUT,
) -> None:
    """The month's GL accrual journal: accrued and paid commissions, draws, clawbacks, by cost center."""
    from openspm.exports.journal import JOURNAL_HEADER, journal_rows, load_accounts
    from openspm.exports.journal import gl_journal as make
    from openspm.exports.payroll import render

    with user_errors():
        lines = make(open_store(), period, load_accounts(config))
    data = render(JOURNAL_HEADER, journal_rows(period, lines))
    debits = sum((x.debit for x in lines), Decimal(0))
    credits = sum((x.credit for x in lines), Decimal(0))
    state = "balanced" if debits == credits else "NOT BALANCED"
    entries = len({x.entry for x in lines})
    _emit(data, out, f"{period}: {entries} entries, debits {debits}, credits {credits}: {state}")
