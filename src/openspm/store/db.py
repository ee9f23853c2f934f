"""Where the store lives and how to open it.

The embedded default is a SQLite file `openspm.db` under the data directory
(`OPENSPM_DATA_DIR`, default `./data`); `OPENSPM_DATABASE_URL` points elsewhere,
e.g. `postgresql+psycopg://user@host/db`. `migrate()` brings the schema to the
newest Alembic revision; `open_store()` refuses a store that is behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from openspm.core.errors import StoreError
from openspm.store.models import ROLES, Role

MIGRATIONS = Path(__file__).parent / "migrations"


def data_dir() -> Path:
    """The data directory (created on first use)."""
    path = Path(os.environ.get("OPENSPM_DATA_DIR", "data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`OPENSPM_DATABASE_URL`, or the embedded SQLite file in the data directory."""
    url = os.environ.get("OPENSPM_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'openspm.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-262144")  # up to 256 MiB of page cache for bulk loads
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default `database_url()`), with SQLite foreign keys and WAL on."""
    target = url or database_url()
    if target.startswith("postgresql://"):
        target = "postgresql+psycopg://" + target.removeprefix("postgresql://")
    try:
        engine = create_engine(target, future=True)
    except Exception as exc:  # bad URL or missing driver
        raise StoreError(f"cannot open store {target!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation: an encoded password or ?host=%2Ftmp needs %%.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration revision in the code."""
    return ScriptDirectory.from_config(_alembic_config(make_engine("sqlite://"))).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, None for an empty store."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the store to the newest revision and seed the fixed roles."""
    config = _alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with Session(engine) as session, session.begin():
        known = set(session.scalars(select(Role.name)))
        session.add_all(Role(name=n, description=d) for n, d in ROLES.items() if n not in known)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def check_current(engine: Engine) -> None:
    """Raise StoreError when the store is not at the newest revision."""
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise StoreError(f"cannot reach the store at {engine.url!r}: {exc}") from None
    head = head_revision()
    if current != head:
        raise StoreError(
            f"the store is at schema revision {current or 'none'}, the code needs {head}; run `openspm db upgrade`"
        )


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one database transaction: committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
