"""Shared fixtures: a fresh store on SQLite, and on PostgreSQL when OPENSPM_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from openspm.store.db import make_engine, migrate
from openspm.store.models import Base

PG_URL = os.environ.get("OPENSPM_TEST_DATABASE_URL")
STORES = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=STORES)
def engine(request: pytest.FixtureRequest, tmp_path: Path, pg_engine: Engine | None) -> Iterator[Engine]:
    """A migrated, empty store (roles seeded)."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate(sqlite)
        yield sqlite
        sqlite.dispose()
        return
    assert pg_engine is not None
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "roles")
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield pg_engine


WriteFile = Callable[[str, str], Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """write(name, text) → a file in tmp_path holding the dedented text."""

    def _write(name: str, content: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/scenarios/*/expected from the engine's output (review the diff before committing)",
    )
