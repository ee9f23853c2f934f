"""What every command shares: opening the store, user errors, JSON output, progress bars."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from openspm.core.errors import OpenSpmError
from openspm.store.db import check_current, current_revision, make_engine, migrate

stderr = Console(stderr=True)
stdout = Console()


def actor() -> str:
    """Who is acting, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an OpenSpmError into one line on stderr and a non-zero exit."""
    try:
        yield
    except OpenSpmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def open_store() -> Engine:
    """The configured store; a brand-new one is created, an outdated one is refused."""
    engine = make_engine()
    try:
        fresh = current_revision(engine) is None
    except Exception as exc:
        from openspm.core.errors import StoreError

        raise StoreError(f"cannot reach the store at {engine.url!r}: {exc}") from None
    if fresh:
        migrate(engine)
    check_current(engine)
    return engine


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Any]:
    """A Rich progress bar on stderr; yields a `progress(stage, done, total)` callback."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=max(total, done) or None)

        yield update
