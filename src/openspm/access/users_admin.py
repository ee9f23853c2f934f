"""Users and roles, for admins only: every function here refuses anyone without the admin role (a token also
needs the write scope to change things)."""

from __future__ import annotations

from sqlalchemy import Engine

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.auth import service as auth
from openspm.core.errors import NotFound
from openspm.users import service as users
from openspm.users.service import UserView


def require_admin(principal: Principal, what: str = "managing users") -> None:
    if "admin" not in principal.roles:
        roles = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{what} needs the admin role; {principal.email} has {roles}")


def _write(principal: Principal, what: str) -> None:
    require_admin(principal, what)
    principal.require_write(what)


def users_for(
    engine: Engine,
    principal: Principal,
    *,
    search: str | None = None,
    role: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[UserView], int]:
    require_admin(principal, "the users list")
    return users.users(engine, search=search, role=role, limit=limit, offset=offset)


def user_for(engine: Engine, principal: Principal, user_id: int) -> UserView:
    require_admin(principal, "a user")
    return users.user(engine, user_id)


def create_user_for(
    engine: Engine,
    principal: Principal,
    *,
    email: str,
    name: str,
    roles: list[str],
    payee: str | None = None,
    password: str | None = None,
) -> tuple[UserView, str | None]:
    _write(principal, "creating a user")
    return users.create_user(
        engine, email=email, name=name, roles=roles, payee=payee, password=password, actor=principal.actor
    )


def set_roles_for(engine: Engine, principal: Principal, user_id: int, roles: list[str]) -> UserView:
    _write(principal, "changing roles")
    return users.set_roles(engine, user_id, roles, principal.actor)


def link_payee_for(engine: Engine, principal: Principal, user_id: int, payee: str | None) -> UserView:
    _write(principal, "linking a user to a payee")
    return users.link_payee(engine, user_id, payee, principal.actor)


def set_active_for(engine: Engine, principal: Principal, user_id: int, active: bool) -> UserView:
    _write(principal, "enabling or disabling a user")
    return users.set_active(engine, user_id, active, principal.actor)


def reset_password_for(
    engine: Engine, principal: Principal, user_id: int, password: str | None = None
) -> tuple[UserView, str | None]:
    _write(principal, "resetting a password")
    return users.reset_password(engine, user_id, password, principal.actor)


def tokens_for(engine: Engine, principal: Principal, user_id: int) -> list[auth.TokenView]:
    require_admin(principal, "a user's API tokens")
    return auth.tokens(engine, users.user(engine, user_id).email)


def revoke_token_for(engine: Engine, principal: Principal, user_id: int, token_id: int) -> auth.TokenView:
    _write(principal, "revoking an API token")
    owner = users.user(engine, user_id)
    if token_id not in {t.id for t in auth.tokens(engine, owner.email)}:
        raise NotFound(f"user {owner.email} has no token {token_id}")
    return auth.revoke_token(engine, token_id, principal.actor)
