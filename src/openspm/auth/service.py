"""Users' credentials: passwords, sign-in with throttling, API tokens.

- `set_password(engine, email, password, actor)` stores the argon2 hash (audited, the hash never logged).
- `authenticate(engine, email, password)` returns the user's id, or raises `Unauthorized`; after
  `MAX_FAILURES` failed attempts for one email within `WINDOW` it raises `TooManyAttempts` (429) without
  looking at the password. Failures are audit entries (`login_failed`), so the count holds across workers
  and restarts.
- `create_token(engine, email, scopes, actor)` makes a random token `ospm_...`, stores its SHA-256 and
  returns it once; `token_user(engine, token)` resolves it (401 when unknown or revoked) and stamps
  `last_used_at`; `revoke_token(engine, id, actor)` revokes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.auth.errors import TooManyAttempts, Unauthorized
from openspm.auth.passwords import hash_password, needs_rehash, verify_password
from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.store import models as m

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
SCOPES = ("read", "write")
TOKEN_PREFIX = "ospm_"  # noqa: S105 (a marker, not a secret)
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


@dataclass(frozen=True)
class TokenView:
    id: int
    user: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenUser:
    """Who a valid API token belongs to, and what it may do."""

    user_id: int
    token_id: int
    scopes: frozenset[str]


def normal_email(email: str) -> str:
    return email.strip().lower()


def _user(session: Session, email: str) -> m.User:
    user = session.scalars(select(m.User).where(func.lower(m.User.email) == normal_email(email))).first()
    if user is None:
        raise NotFound(f"unknown user {email!r}")
    return user


def _audit(session: Session, actor: str, action: str, entity: str, key: str, **kw: object) -> None:
    session.add(m.AuditEntry(at=utc_now(), actor=actor, action=action, entity=entity, entity_key=key, **kw))


# --- passwords and sign-in --------------------------------------------------------------------------------


def set_password(engine: Engine, email: str, password: str, actor: str) -> None:
    """Store a new password for the user (audited; the audit entry holds no hash)."""
    hashed = hash_password(password)
    with Session(engine) as session, session.begin():
        user = _user(session, email)
        had = user.password_hash is not None
        user.password_hash = hashed
        user.row_hash = None
        _audit(
            session,
            actor,
            "set_password",
            "users",
            user.email,
            before={"password": "set" if had else None},
            after={"password": "set"},
        )


def set_passwords(engine: Engine, password: str, actor: str, emails: list[str] | None = None) -> int:
    """Give every user (or those of `emails`) the same password; one hash, one audit entry. For the demo."""
    hashed = hash_password(password)
    with Session(engine) as session, session.begin():
        query = select(m.User)
        if emails is not None:
            query = query.where(func.lower(m.User.email).in_([normal_email(e) for e in emails]))
        users = list(session.scalars(query))
        for user in users:
            user.password_hash = hashed
            user.row_hash = None
        _audit(session, actor, "set_password", "users", "*", after={"users": len(users)})
        return len(users)


def failures(session: Session, email: str, now: datetime) -> list[datetime]:
    """When the failed sign-ins of `email` within the window happened, oldest first."""
    query = (
        select(m.AuditEntry.at)
        .where(
            m.AuditEntry.action == "login_failed",
            m.AuditEntry.entity == "users",
            m.AuditEntry.entity_key == normal_email(email),
            m.AuditEntry.at >= now - WINDOW,
        )
        .order_by(m.AuditEntry.at)
    )
    return list(session.scalars(query))


def authenticate(engine: Engine, email: str, password: str, now: datetime | None = None) -> int:
    """The id of the active user with this email and password (Unauthorized, or TooManyAttempts)."""
    at = now or utc_now()
    key = normal_email(email)
    with Session(engine) as session, session.begin():
        recent = failures(session, key, at)
        if len(recent) >= MAX_FAILURES:
            wait = int((recent[-MAX_FAILURES] + WINDOW - at).total_seconds()) + 1
            minutes = max(1, (wait + 59) // 60)
            raise TooManyAttempts(
                f"too many failed sign-ins for {key}: try again in {minutes} minute{'s' if minutes != 1 else ''}",
                retry_after=max(1, wait),
            )
        user = session.scalars(select(m.User).where(func.lower(m.User.email) == key)).first()
        ok = verify_password(user.password_hash if user else None, password)
        if user is not None and ok and user.active:
            if user.password_hash is not None and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            session.add(m.AuditEntry(at=at, actor=key, action="login", entity="users", entity_key=key))
            return user.id
        # The failure is committed (this transaction ends normally) before the error is raised.
        note = "unknown user" if user is None else ("inactive user" if not user.active else None)
        session.add(m.AuditEntry(at=at, actor="web", action="login_failed", entity="users", entity_key=key, note=note))
    raise Unauthorized("wrong email or password")


# --- API tokens ---------------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    """The SHA-256 stored for a token (tokens are 256 random bits: a plain digest is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: list[str]) -> tuple[str, ...]:
    """The scopes in canonical order; `write` implies `read`."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(f"unknown scope {', '.join(unknown) or '(none)'}; use read or write")
    return ("read", "write") if "write" in scopes else ("read",)


def _token_view(row: m.ApiToken, email: str) -> TokenView:
    return TokenView(
        row.id,
        email,
        row.name,
        row.prefix,
        tuple(row.scopes.split(",")),
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


def create_token(engine: Engine, email: str, scopes: list[str], actor: str, name: str = "") -> tuple[TokenView, str]:
    """A new token for the user: its view, and the token itself (shown once; only its digest is stored)."""
    chosen = check_scopes(scopes)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        user = _user(session, email)
        row = m.ApiToken(
            user_id=user.id,
            name=name or f"token of {user.email}",
            token_hash=token_digest(token),
            prefix=token[:12],
            scopes=",".join(chosen),
            created_by=actor,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        _audit(
            session,
            actor,
            "insert",
            "api_tokens",
            str(row.id),
            after={"user": user.email, "scopes": row.scopes, "prefix": row.prefix},
        )
        return _token_view(row, user.email), token


def revoke_token(engine: Engine, token_id: int, actor: str) -> TokenView:
    """Revoke a token (NotFound for an unknown id; revoking twice keeps the first time)."""
    with Session(engine) as session, session.begin():
        row = session.get(m.ApiToken, token_id)
        if row is None:
            raise NotFound(f"unknown token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
            _audit(
                session, actor, "revoke", "api_tokens", str(row.id), before={"revoked": False}, after={"revoked": True}
            )
        return _token_view(row, session.get_one(m.User, row.user_id).email)


def tokens(engine: Engine, email: str | None = None) -> list[TokenView]:
    """Every token (of one user), newest first."""
    with Session(engine) as session:
        query = select(m.ApiToken, m.User.email).join(m.User, m.User.id == m.ApiToken.user_id)
        if email is not None:
            query = query.where(func.lower(m.User.email) == normal_email(email))
        return [_token_view(row, mail) for row, mail in session.execute(query.order_by(m.ApiToken.id.desc()))]


def token_user(engine: Engine, token: str) -> TokenUser:
    """Who `token` belongs to (Unauthorized when it is unknown, revoked or its user is inactive)."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("invalid API token")
    with Session(engine) as session, session.begin():
        row = session.scalars(select(m.ApiToken).where(m.ApiToken.token_hash == token_digest(token))).first()
        if row is None or row.revoked_at is not None:
            raise Unauthorized("invalid or revoked API token")
        user = session.get_one(m.User, row.user_id)
        if not user.active:
            raise Unauthorized("the token's user is not active")
        now = utc_now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            row.last_used_at = now
        return TokenUser(user.id, row.id, frozenset(row.scopes.split(",")))
