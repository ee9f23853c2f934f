"""Authentication (SQLite and PostgreSQL): argon2 passwords, sign-in throttling, API tokens, the session key,
and the `openspm user` / `openspm token` commands."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.auth.errors import TooManyAttempts, Unauthorized
from openspm.auth.passwords import hash_password, verify_password
from openspm.auth.secret import secret_key
from openspm.auth.service import (
    MAX_FAILURES,
    WINDOW,
    authenticate,
    create_token,
    revoke_token,
    set_password,
    token_user,
    tokens,
)
from openspm.cli.main import app
from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.ingest.service import import_file
from openspm.store import models as m
from tests.conftest import WriteFile


@pytest.fixture
def users(engine: Engine, write: WriteFile) -> Engine:
    body = "email,name,roles\nann@x.io,Ann,admin\nbob@x.io,Bob,finance\n"
    assert import_file(engine, "users", write("users.csv", body), actor="test").rejected == 0
    set_password(engine, "ann@x.io", "ann-password-1", actor="test")
    return engine


def test_passwords_are_argon2id_hashes_that_verify_only_the_password() -> None:
    hashed = hash_password("s3cret-enough")
    assert hashed.startswith("$argon2id$") and "s3cret" not in hashed
    assert verify_password(hashed, "s3cret-enough")
    assert not verify_password(hashed, "s3cret-enougH")
    assert not verify_password(None, "anything")
    assert hash_password("s3cret-enough") != hashed  # salted
    with pytest.raises(InvalidInput, match="at least 8"):
        hash_password("short")


def test_sign_in_checks_the_password_and_the_audit_log_never_holds_it(users: Engine) -> None:
    with Session(users) as session:
        ann = session.scalars(select(m.User).where(m.User.email == "ann@x.io")).one()
        assert ann.password_hash is not None and ann.password_hash.startswith("$argon2id$")
    assert authenticate(users, "ANN@x.io ", "ann-password-1") == ann.id
    for email, password in (("ann@x.io", "wrong-password"), ("bob@x.io", "no password set"), ("who@x.io", "x" * 9)):
        with pytest.raises(Unauthorized, match="wrong email or password"):
            authenticate(users, email, password)
    with Session(users) as session:
        entries = list(session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "users")))
    assert {e.action for e in entries} >= {"set_password", "login", "login_failed"}
    assert all("ann-password-1" not in str((e.before, e.after, e.note)) for e in entries)
    with pytest.raises(NotFound):
        set_password(users, "nobody@x.io", "long-enough", actor="test")


def test_five_failures_in_fifteen_minutes_lock_the_email_until_the_window_passes(users: Engine) -> None:
    start = utc_now()
    for i in range(MAX_FAILURES):
        with pytest.raises(Unauthorized):
            authenticate(users, "ann@x.io", f"wrong-{i}", now=start + timedelta(seconds=i))
    with pytest.raises(
        TooManyAttempts, match=re.escape("too many failed sign-ins for ann@x.io: try again in 15 minutes")
    ) as hit:
        authenticate(users, "ann@x.io", "ann-password-1", now=start + timedelta(seconds=10))
    assert hit.value.http_status == 429 and 0 < hit.value.retry_after <= WINDOW.total_seconds()
    with pytest.raises(Unauthorized):  # another email is not locked: a wrong password is just wrong
        authenticate(users, "bob@x.io", "wrong-password", now=start + timedelta(seconds=11))
    later = start + WINDOW + timedelta(seconds=5)
    assert authenticate(users, "ann@x.io", "ann-password-1", now=later) > 0


def test_tokens_are_stored_as_digests_scoped_and_revocable(users: Engine) -> None:
    view, token = create_token(users, "bob@x.io", ["read"], actor="test", name="bi export")
    assert token.startswith("ospm_") and len(token) > 40 and view.scopes == ("read",)
    with Session(users) as session:
        row = session.get_one(m.ApiToken, view.id)
        assert token not in (row.token_hash, row.prefix) and row.last_used_at is None
    found = token_user(users, token)
    assert found.scopes == frozenset({"read"}) and found.token_id == view.id
    assert tokens(users, "bob@x.io")[0].last_used_at is not None
    _, writer = create_token(users, "ann@x.io", ["write"], actor="test")
    assert token_user(users, writer).scopes == frozenset({"read", "write"})
    with pytest.raises(InvalidInput, match="unknown scope admin"):
        create_token(users, "ann@x.io", ["admin"], actor="test")
    assert revoke_token(users, view.id, actor="test").revoked_at is not None
    for bad in (token, "ospm_" + "x" * 43, "not-a-token"):
        with pytest.raises(Unauthorized):
            token_user(users, bad)


def test_session_key_comes_from_the_environment_or_a_file_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENSPM_SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert len(first) >= 40 and secret_key(tmp_path) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("OPENSPM_SECRET_KEY", "from-the-environment")
    assert secret_key(tmp_path) == "from-the-environment"


def test_cli_sets_passwords_and_creates_lists_and_revokes_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: WriteFile
) -> None:
    monkeypatch.setenv("OPENSPM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    users = write("users.csv", "email,name,roles\ncat@x.io,Cat,comp_analyst\n")
    assert runner.invoke(app, ["import", "users", str(users)]).exit_code == 0
    done = runner.invoke(app, ["user", "set-password", "cat@x.io"], input="cat-password-9\ncat-password-9\n")
    assert done.exit_code == 0, done.output
    assert "cat@x.io: password set" in done.output
    created = runner.invoke(app, ["token", "create", "cat@x.io", "--scope", "write"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("ospm_") and "read, write" in created.output
    listed = runner.invoke(app, ["token", "list"])
    assert "cat@x.io" in listed.output and token not in listed.output and "active" in listed.output
    revoked = runner.invoke(app, ["token", "revoke", "1"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert runner.invoke(app, ["token", "revoke", "99"]).exit_code == 3
    assert runner.invoke(app, ["user", "set-password", "cat@x.io"], input="short\nshort\n").exit_code == 2
