"""`openspm db`, `calendar`, `status`, `audit`, `demo` and `serve`."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openspm.cli.common import actor, open_store, print_json, stderr, stdout, user_errors
from openspm.store import models as m
from openspm.store.db import current_revision, head_revision, make_engine, migrate

db_app = typer.Typer(help="The store: schema migrations and status.", no_args_is_help=True)
calendar_app = typer.Typer(help="Fiscal calendars and periods.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store to the newest schema."""
    with user_errors():
        engine = make_engine()
        migrate(engine)
        stdout.print(f"store {engine.url.render_as_string(hide_password=True)} at revision {current_revision(engine)}")


@db_app.command("status")
def db_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show where the store is and its schema revision."""
    with user_errors():
        engine = make_engine()
        data = {
            "url": engine.url.render_as_string(hide_password=True),
            "revision": current_revision(engine),
            "head": head_revision(),
        }
    if as_json:
        print_json(data)
    else:
        for k, v in data.items():
            stdout.print(f"{k}: {v}", highlight=False)


@calendar_app.command("create")
def calendar_create(
    years: list[int] = typer.Argument(..., help="Fiscal years to create, e.g. 2025 2026"),
    name: str = typer.Option("fiscal", "--name", help="Calendar name"),
    start_month: int = typer.Option(1, "--start-month", help="Month (1-12) the fiscal year starts in"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a fiscal calendar with its year, quarter and month periods."""
    from openspm.periods.service import create_calendar

    with user_errors():
        result = create_calendar(open_store(), name, start_month, years, actor=actor())
    if as_json:
        print_json(result.__dict__)
    else:
        stdout.print(
            f"calendar {result.calendar} (fiscal year starts in month {result.fiscal_year_start_month}): "
            f"{result.created_periods} periods created, {result.existing_periods} already there",
            highlight=False,
        )


STATUS_TABLES = (
    m.Payee,
    m.ReportingLine,
    m.Position,
    m.Account,
    m.Territory,
    m.AccountTerritory,
    m.TerritoryAssignment,
    m.AccountAssignment,
    m.Product,
    m.Transaction,
    m.TransactionSplit,
    m.Opportunity,
    m.FxRate,
    m.Calendar,
    m.Period,
    m.Plan,
    m.PlanVersion,
    m.PlanAssignment,
    m.Quota,
    m.User,
    m.AuditEntry,
    m.ImportBatch,
)


def status_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """Count the rows of each entity in the store."""
    with user_errors():
        engine = open_store()
        with Session(engine) as session:
            counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in STATUS_TABLES}
    if as_json:
        print_json(counts)
        return
    table = Table(title=f"store {engine.url.render_as_string(hide_password=True)}", title_justify="left")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    stdout.print(table)


def audit_command(
    entity: str | None = typer.Option(None, "--entity", help="Only this entity, e.g. payees"),
    key: str | None = typer.Option(None, "--key", help="Only this entity key, e.g. a payee id"),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the newest audit log entries: who changed what, when, before and after."""
    with user_errors():
        engine = open_store()
        query = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
        if entity:
            query = query.where(m.AuditEntry.entity == entity)
        if key:
            query = query.where(m.AuditEntry.entity_key == key)
        with Session(engine) as session:
            entries = list(session.scalars(query))
    rows: list[dict[str, Any]] = [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "key": e.entity_key,
            "before": e.before,
            "after": e.after,
            "note": e.note,
        }
        for e in entries
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title_justify="left")
    for header in ("at", "actor", "action", "entity", "key", "change"):
        table.add_column(header)
    for r in rows:
        table.add_row(r["at"], r["actor"], r["action"], r["entity"], r["key"], _change_text(r["before"], r["after"]))
    stdout.print(table)


def _change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """`field: old → new` for updates, `field=value` for inserts and imports."""
    if before:
        return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in (after or {}).items())
    return ", ".join(f"{k}={v}" for k, v in (after or {}).items() if v not in (None, "", {}))


# How long a worker may take to start or to answer the supervisor before it is restarted: uvicorn's 5 s is
# shorter than importing the app takes on a busy 2-core machine, where workers were killed while starting.
HEALTHCHECK_SECONDS = 60


def default_workers() -> int:
    """One worker per core this process may run on, at most 8 (each worker is a process with its own pool of
    store connections; past the cores they only take turns)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes [default: one per core, at most 8]"
    ),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log every request on stdout"),
) -> None:
    """Serve the web app (several worker processes share the port and the store)."""
    import uvicorn

    from openspm.auth.secret import secret_key

    with user_errors():
        open_store()
        secret_key()  # made here, once, before the workers start: they all sign sessions with the same key
    count = workers if workers is not None else default_workers()
    stderr.print(f"serving http://{host}:{port} with {count} worker{'s' if count > 1 else ''}")
    uvicorn.run(
        "openspm.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=count,
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
        log_level="info",
        access_log=access_log,
    )
