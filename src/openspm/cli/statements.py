"""`openspm statement` (one payee, one month) and `openspm statements` (every payee of a month, in bulk)."""

from __future__ import annotations

from pathlib import Path

import typer

from openspm.cli.common import open_store, progress_bar, stderr, user_errors


def statement_command(
    period: str = typer.Option(..., "--period", "-p", help="Month, e.g. FY2025-M08"),
    payee: str = typer.Option(..., "--payee", help="Payee id"),
    pdf: Path | None = typer.Option(None, "--pdf", help="Write the PDF here"),
    html: Path | None = typer.Option(None, "--html", help="Write the HTML here"),
) -> None:
    """A payee's statement for a month, as PDF and/or HTML (default: FY2025-M08_P0001.pdf in this folder)."""
    from sqlalchemy.orm import Session

    from openspm.statements.bulk import file_stem
    from openspm.statements.render import html_to_pdf, pdf_epoch, render_html
    from openspm.statements.service import statement

    with user_errors():
        engine = open_store()
        with Session(engine) as session:
            data = statement(session, period, payee)
        page = render_html(data)
        if pdf is None and html is None:
            pdf = Path(f"{file_stem(period, payee)}.pdf")
        if html is not None:
            html.write_text(page, encoding="utf-8")
            typer.echo(f"{html}: statement of {payee} for {period} (run {data.run_id})")
        if pdf is not None:
            pdf.write_bytes(html_to_pdf(page, pdf_epoch(data)))
            typer.echo(f"{pdf}: statement of {payee} for {period} (run {data.run_id})")


def statements_command(
    period: str = typer.Option(..., "--period", "-p", help="Month, e.g. FY2025-M08"),
    out: Path = typer.Option(..., "--out", help="Folder to write the statements and their index into"),
    formats: str = typer.Option("pdf,html", "--format", help="pdf, html or pdf,html"),
    payee: list[str] = typer.Option([], "--payee", help="Only these payees (repeatable)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr"),
) -> None:
    """Every statement of a month: one file per payee and format, plus index.html and index.csv."""
    from openspm.statements.bulk import check_formats, statements_for_period

    with user_errors():
        chosen = check_formats(formats.split(","))
        engine = open_store()
        with progress_bar(progress and stderr.is_terminal) as update:
            result = statements_for_period(engine, period, out, chosen, update, payee or None)
    typer.echo(
        f"{out}: {result.payees} statement{'s' if result.payees != 1 else ''} for {period} "
        f"({', '.join(chosen)}), index.html and index.csv"
    )
