"""Manage the users who sign in: create, roles, linked payee, disable/enable, reset password.

Every change is an audit entry on `users` with the user's email as the key, before and after (never a password
or its hash). A new user, or a reset, gets the password the admin typed, or a random one-time password shown
once. A reset (a new password hash) ends every session of the user, since sessions carry a fingerprint of the
hash (`web/security.py`). Nobody can take away their own admin role or disable themselves, and the last active
admin stays an admin: the store always has someone who can manage users.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.auth.passwords import hash_password
from openspm.auth.service import normal_email
from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.store import models as m
from openspm.store.audit import audit

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str
    roles: tuple[str, ...]
    payee: str | None  # the linked payee's external id
    payee_name: str | None
    active: bool
    has_password: bool
    created_at: datetime
    active_tokens: int


def _views(session: Session, users: list[m.User]) -> list[UserView]:
    ids = [u.id for u in users] or [-1]
    roles: dict[int, list[str]] = {}
    for user_id, name in session.execute(
        select(m.UserRole.user_id, m.Role.name)
        .join(m.Role, m.Role.id == m.UserRole.role_id)
        .where(m.UserRole.user_id.in_(ids))
        .order_by(m.Role.name)
    ):
        roles.setdefault(user_id, []).append(name)
    payee_ids = [u.payee_id for u in users if u.payee_id is not None] or [-1]
    payees = {
        pid: (ext, name)
        for pid, ext, name in session.execute(
            select(m.Payee.id, m.Payee.external_id, m.Payee.name).where(m.Payee.id.in_(payee_ids))
        )
    }
    tokens = dict(
        session.execute(
            select(m.ApiToken.user_id, func.count())
            .where(m.ApiToken.user_id.in_(ids), m.ApiToken.revoked_at.is_(None))
            .group_by(m.ApiToken.user_id)
        )
        .tuples()
        .all()
    )
    return [
        UserView(
            u.id,
            u.email,
            u.name,
            tuple(roles.get(u.id, [])),
            payees[u.payee_id][0] if u.payee_id in payees else None,
            payees[u.payee_id][1] if u.payee_id in payees else None,
            u.active,
            u.password_hash is not None,
            u.created_at,
            int(tokens.get(u.id, 0)),
        )
        for u in users
    ]


def users(
    engine: Engine, *, search: str | None = None, role: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[UserView], int]:
    """Users by email (matching `search` in email or name, holding `role`), one page, and how many match."""
    with Session(engine) as session:
        query = select(m.User)
        if search:
            like = f"%{search.strip().lower()}%"
            query = query.where(func.lower(m.User.email).like(like) | func.lower(m.User.name).like(like))
        if role:
            query = query.where(
                m.User.id.in_(
                    select(m.UserRole.user_id).join(m.Role, m.Role.id == m.UserRole.role_id).where(m.Role.name == role)
                )
            )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(m.User.email).limit(limit).offset(offset)))
        return _views(session, rows), total


def user(engine: Engine, user_id: int) -> UserView:
    with Session(engine) as session:
        return _views(session, [_get(session, user_id)])[0]


def _get(session: Session, user_id: int) -> m.User:
    row = session.get(m.User, user_id)
    if row is None:
        raise NotFound(f"unknown user {user_id}")
    return row


def _role_ids(session: Session, roles: list[str]) -> dict[str, int]:
    known = dict(session.execute(select(m.Role.name, m.Role.id)).tuples().all())
    wanted = sorted({r.strip() for r in roles if r.strip()})
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise InvalidInput(f"unknown role {unknown[0]!r}; the roles are {', '.join(sorted(known))}")
    if not wanted:
        raise InvalidInput(f"a user needs at least one role: {', '.join(sorted(known))}")
    return {r: known[r] for r in wanted}


def _payee_id(session: Session, payee: str | None) -> int | None:
    if payee is None or not payee.strip():
        return None
    found = session.scalar(select(m.Payee.id).where(m.Payee.external_id == payee.strip()))
    if found is None:
        raise NotFound(f"unknown payee {payee.strip()!r}")
    return found


def _roles_of(session: Session, user_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(m.Role.name).join(m.UserRole, m.UserRole.role_id == m.Role.id).where(m.UserRole.user_id == user_id)
        )
    )


def _other_active_admins(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(m.UserRole)
            .join(m.Role, m.Role.id == m.UserRole.role_id)
            .join(m.User, m.User.id == m.UserRole.user_id)
            .where(m.Role.name == "admin", m.User.active.is_(True), m.User.id != user_id)
        )
        or 0
    )


def new_password() -> str:
    """A random one-time password (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def create_user(
    engine: Engine,
    *,
    email: str,
    name: str,
    roles: list[str],
    payee: str | None,
    password: str | None,
    actor: str,
) -> tuple[UserView, str | None]:
    """A new active user; the one-time password when none was given (shown once, only its hash is kept)."""
    address = normal_email(email)
    if not EMAIL.match(address) or len(address) > 254:
        raise InvalidInput(f"{email!r} is not an email address")
    if not name.strip():
        raise InvalidInput("a user needs a name")
    generated = None if password else new_password()
    hashed = hash_password(password or generated or "")
    with Session(engine) as session, session.begin():
        if session.scalar(select(m.User.id).where(func.lower(m.User.email) == address)) is not None:
            raise Conflict(f"a user {address} already exists")
        role_ids = _role_ids(session, roles)
        row = m.User(
            email=address,
            name=name.strip()[:200],
            payee_id=_payee_id(session, payee),
            password_hash=hashed,
            active=True,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        for role_id in role_ids.values():
            session.add(m.UserRole(user_id=row.id, role_id=role_id))
        audit(
            session,
            actor,
            "insert",
            "users",
            address,
            after={"name": row.name, "roles": sorted(role_ids), "payee": payee or None, "active": True},
        )
        session.flush()
        return _views(session, [row])[0], generated


def set_roles(engine: Engine, user_id: int, roles: list[str], actor: str) -> UserView:
    """Replace a user's roles (not your own admin role; not the last active admin's)."""
    with Session(engine) as session, session.begin():
        row = _get(session, user_id)
        wanted = _role_ids(session, roles)
        before = _roles_of(session, user_id)
        if "admin" in before and "admin" not in wanted:
            if normal_email(row.email) == normal_email(actor):
                raise Conflict("you cannot remove your own admin role; ask another admin")
            if row.active and _other_active_admins(session, user_id) == 0:
                raise Conflict(f"{row.email} is the last active admin; make someone else admin first")
        if before != sorted(wanted):
            for link in session.scalars(select(m.UserRole).where(m.UserRole.user_id == user_id)):
                session.delete(link)
            session.flush()
            for role_id in wanted.values():
                session.add(m.UserRole(user_id=user_id, role_id=role_id))
            audit(
                session, actor, "update", "users", row.email, before={"roles": before}, after={"roles": sorted(wanted)}
            )
        session.flush()
        return _views(session, [row])[0]


def link_payee(engine: Engine, user_id: int, payee: str | None, actor: str) -> UserView:
    """Link the user to a payee (a rep's or manager's own data), or unlink with None."""
    with Session(engine) as session, session.begin():
        row = _get(session, user_id)
        new_id = _payee_id(session, payee)
        if new_id != row.payee_id:
            old = (
                session.scalar(select(m.Payee.external_id).where(m.Payee.id == row.payee_id)) if row.payee_id else None
            )
            row.payee_id = new_id
            row.row_hash = None
            audit(session, actor, "update", "users", row.email, before={"payee": old}, after={"payee": payee or None})
        session.flush()
        return _views(session, [row])[0]


def set_active(engine: Engine, user_id: int, active: bool, actor: str) -> UserView:
    """Enable or disable a user: a disabled user cannot sign in, and their sessions and tokens answer 401."""
    with Session(engine) as session, session.begin():
        row = _get(session, user_id)
        if not active and row.active:
            if normal_email(row.email) == normal_email(actor):
                raise Conflict("you cannot disable yourself; ask another admin")
            if "admin" in _roles_of(session, user_id) and _other_active_admins(session, user_id) == 0:
                raise Conflict(f"{row.email} is the last active admin; make someone else admin first")
        if row.active != active:
            audit(session, actor, "update", "users", row.email, before={"active": row.active}, after={"active": active})
            row.active = active
            row.row_hash = None
        session.flush()
        return _views(session, [row])[0]


def reset_password(engine: Engine, user_id: int, password: str | None, actor: str) -> tuple[UserView, str | None]:
    """A new password (the one given, or a one-time one returned once); every session of the user ends."""
    generated = None if password else new_password()
    hashed = hash_password(password or generated or "")
    with Session(engine) as session, session.begin():
        row = _get(session, user_id)
        had = row.password_hash is not None
        row.password_hash = hashed
        row.row_hash = None
        audit(
            session,
            actor,
            "set_password",
            "users",
            row.email,
            before={"password": "set" if had else None},
            after={"password": "reset (one-time)" if generated else "set"},
        )
        session.flush()
        return _views(session, [row])[0], generated
