"""`openspm import KIND FILE` and `openspm kinds`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, progress_bar, stderr, stdout, user_errors
from openspm.ingest.kinds import KINDS
from openspm.ingest.service import import_file


def import_command(
    kind: str = typer.Argument(..., help=f"What the file holds: {', '.join(KINDS)}"),
    file: Path = typer.Argument(..., help="A .csv, .xlsx or .parquet file"),
    mapping: Path | None = typer.Option(None, "--mapping", "-m", help="Column mapping file (YAML) for CRM exports"),
    sheet: str | None = typer.Option(None, "--sheet", help="Excel sheet to read (default: the first)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count, write nothing"),
    strict: bool = typer.Option(False, "--strict", help="Write nothing if any row is rejected"),
    rejects: Path | None = typer.Option(None, "--rejects", help="Where to write rejected rows (CSV)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    show: int = typer.Option(10, "--show", help="How many rejected rows to print"),
) -> None:
    """Load a file into the store: every row is loaded or reported as rejected with its reason."""
    with user_errors():
        engine = open_store()
        with progress_bar(not as_json and stderr.is_terminal) as progress:
            report = import_file(
                engine,
                kind,
                file,
                mapping_path=mapping,
                sheet=sheet,
                dry_run=dry_run,
                strict=strict,
                actor=actor(),
                rejects_path=rejects,
                progress=progress,
            )
    if as_json:
        print_json(report.as_dict())
    else:
        for issue in report.issues[:show]:
            typer.echo(f"  rejected {issue}", err=True)
        if len(report.issues) > show:
            typer.echo(f"  ... and {len(report.issues) - show} more", err=True)
        if report.ignored_columns:
            ignored = ", ".join(report.ignored_columns)
            typer.echo(f"  ignored columns (prefix with attr. to keep as attributes): {ignored}", err=True)
        typer.echo(report.summary())
    if report.strict_refused:
        raise typer.Exit(2)


def kinds_command(
    kind: str | None = typer.Argument(None, help="Show the columns of one kind"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """List what can be imported and the columns each kind takes."""
    with user_errors():
        selected = [KINDS[kind]] if kind in KINDS else list(KINDS.values())
        if kind is not None and kind not in KINDS:
            from openspm.core.errors import InvalidInput

            raise InvalidInput(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    if as_json:
        print_json(
            {
                k.name: {
                    "doc": k.doc,
                    "key": list(k.key),
                    "columns": [
                        {"name": f.name, "type": f.type.value, "required": f.required, "doc": f.doc} for f in k.fields
                    ],
                }
                for k in selected
            }
        )
        return
    for k in selected:
        table = Table(title=f"{k.name}: {k.doc}", title_justify="left")
        for header in ("column", "type", "required", "meaning"):
            table.add_column(header)
        for f in k.fields:
            type_text = (
                f.type.value + (f" → {f.ref}" if f.ref else "") + (f" ({'/'.join(f.choices)})" if f.choices else "")
            )
            table.add_row(f.name, type_text, "yes" if f.required else "", f.doc)
        stdout.print(table)


def imports_command(
    kind: str | None = typer.Option(None, "--kind", help="Only imports of this kind"),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List past imports: when, who, which file, and the row counts."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from openspm.store import models as m

    with user_errors():
        engine = open_store()
        query = select(m.ImportBatch).order_by(m.ImportBatch.id.desc()).limit(limit)
        if kind:
            query = query.where(m.ImportBatch.kind == kind)
        with Session(engine) as session:
            batches = list(session.scalars(query))
    rows = [
        {
            "batch": b.id,
            "at": b.started_at.isoformat(timespec="seconds"),
            "actor": b.actor,
            "kind": b.kind,
            "file": b.file_name,
            "sha256": b.file_sha256,
            "rows": b.rows,
            "inserted": b.inserted,
            "updated": b.updated,
            "unchanged": b.unchanged,
            "rejected": b.rejected,
        }
        for b in batches
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title_justify="left")
    for header in ("batch", "at", "actor", "kind", "file", "rows", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(
            header, justify="right" if header in ("rows", "inserted", "updated", "unchanged", "rejected") else "left"
        )
    for r in rows:
        table.add_row(
            *(
                str(r[h])
                for h in (
                    "batch",
                    "at",
                    "actor",
                    "kind",
                    "file",
                    "rows",
                    "inserted",
                    "updated",
                    "unchanged",
                    "rejected",
                )
            )
        )
    stdout.print(table)
