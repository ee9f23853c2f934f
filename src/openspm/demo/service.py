"""Load the demo company into a store.

`load_demo(engine, out_dir)` prepares the store (refuses one that holds payees
unless `reset`, which drops and recreates every table), writes the demo files
with `generate`, creates the fiscal calendar for 2025-2027 and imports every file
through the ordinary importer, in dependency order. The demo must load with no
rejected row: a rejection is a bug in the generator or the importer, and raises.

Every demo user gets the password `DEMO_PASSWORD` (argon2-hashed like any other), so each role can sign
in to the web app at once; `users` lists one user per role with how many have that role. One contest
(`demo/contests/analytics-blitz.yaml`, Q4 FY2026) is added so the gamification pages have one to show.

Output: `{"imports": {kind: counts}, "seconds": float, "out": str, "password": str, "users": [...],
"contests": [key]}`.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from openspm.auth.service import set_passwords
from openspm.core.errors import Conflict, OpenSpmError, StoreError
from openspm.demo.generate import DEMO_YEARS, generate
from openspm.gamification.contests import add_contest
from openspm.ingest.service import ImportReport, Progress, import_file
from openspm.periods.service import create_calendar
from openspm.store import models as m
from openspm.store.db import current_revision, migrate

CALENDAR = "fiscal"
DEMO_PASSWORD = "openspm-demo"  # noqa: S105 (public on purpose: the demo company's sign-in password)
ROLE_ORDER = ("admin", "comp_analyst", "finance", "manager", "rep")
SHOWN_ISSUES = 3
DEMO_CONTEST = resources.files(__package__).joinpath("contests", "analytics-blitz.yaml")


class DemoLoadError(OpenSpmError):
    """A demo file had rejected rows: the generator and the importer disagree."""


def has_data(engine: Engine) -> bool:
    """True when the store has a payees table holding at least one payee."""
    if not inspect(engine).has_table(m.Payee.__tablename__):
        return False
    with Session(engine) as session:
        return session.scalar(select(m.Payee.id).limit(1)) is not None


def drop_everything(engine: Engine) -> None:
    """Drop every openspm table and the Alembic revision table.

    SQLite checks foreign keys row by row while it drops a table; the self-reference
    `transactions.original_id` has no index, so that check is quadratic (minutes for
    100,000 lines). Everything goes, so the checks are switched off for the drop.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: run it first
        try:
            m.Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            conn.commit()
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def prepare_store(engine: Engine, reset: bool) -> None:
    """A migrated store with no payees: refuse one with data unless `reset`, which empties it first."""
    try:
        fresh = current_revision(engine) is None
        occupied = has_data(engine)
    except Exception as exc:
        raise StoreError(f"cannot reach the store at {engine.url!r}: {exc}") from None
    if occupied and not reset:
        raise Conflict("the store already holds data; run `openspm demo --reset` to replace it")
    if reset and not fresh:
        drop_everything(engine)
    migrate(engine)


def import_counts(report: ImportReport) -> dict[str, Any]:
    """A report as a dict, without the (empty) issues list."""
    counts = report.as_dict()
    counts.pop("issues")
    return counts


def check_clean(report: ImportReport) -> None:
    """Raise DemoLoadError when the import rejected any row."""
    if not report.rejected:
        return
    shown = "; ".join(str(issue) for issue in report.issues[:SHOWN_ISSUES])
    more = f" (and {report.rejected - SHOWN_ISSUES} more)" if report.rejected > SHOWN_ISSUES else ""
    where = f"; all of them in {report.rejects_path}" if report.rejects_path else ""
    raise DemoLoadError(
        f"the demo {report.kind} file had {report.rejected} rejected rows, which is a bug: {shown}{more}{where}"
    )


def _per_kind(progress: Progress | None, kind: str) -> Progress | None:
    if progress is None:
        return None

    def report(stage: str, done: int, total: int) -> None:
        progress(f"{kind}: {stage}", done, total)

    return report


def load_demo(
    engine: Engine,
    out_dir: Path,
    *,
    seed: int = 42,
    reset: bool = False,
    actor: str = "demo",
    progress: Progress | None = None,
    scale: float = 1.0,
) -> dict[str, Any]:
    """Generate the demo company into `out_dir` and import it into the store behind `engine`."""
    started = time.perf_counter()
    prepare_store(engine, reset)
    files = generate(out_dir, seed, scale=scale)
    create_calendar(engine, CALENDAR, 1, DEMO_YEARS, actor=actor)
    imports: dict[str, dict[str, Any]] = {}
    for number, (kind, path) in enumerate(files.items()):
        if progress is not None:
            progress("demo company", number, len(files))
        report = import_file(engine, kind, path, actor=actor, progress=_per_kind(progress, kind))
        check_clean(report)
        imports[kind] = import_counts(report)
    if progress is not None:
        progress("demo company", len(files), len(files))
    set_passwords(engine, DEMO_PASSWORD, actor)
    contest = add_contest(engine, DEMO_CONTEST.read_text(encoding="utf-8"), actor, "demo/contests/analytics-blitz.yaml")
    return {
        "imports": imports,
        "seconds": round(time.perf_counter() - started, 3),
        "out": str(out_dir),
        "password": DEMO_PASSWORD,
        "users": demo_users(engine),
        "contests": [contest.key],
    }


def demo_users(engine: Engine) -> list[dict[str, Any]]:
    """One user per role (the first by email), with the number of users holding that role."""
    with Session(engine) as session:
        rows = session.execute(
            select(m.Role.name, m.User.email, m.User.name)
            .join(m.UserRole, m.UserRole.role_id == m.Role.id)
            .join(m.User, m.User.id == m.UserRole.user_id)
            .order_by(m.User.id)
        ).all()
    found: list[dict[str, Any]] = []
    for role in ROLE_ORDER:
        users = [(email, name) for r, email, name in rows if r == role]
        if users:
            found.append({"role": role, "email": users[0][0], "name": users[0][1], "count": len(users)})
    return found
