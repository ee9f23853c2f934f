"""Who is acting: a signed-in user with their roles, their payee and (for an API token) its scopes.

- `sees_all`: admin, comp analyst and finance see every payee.
- `may_write`: admin and comp analyst change things (adjustments, approvals, closes); a token also needs
  the `write` scope. Finance is read-only everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.auth.errors import Unauthorized
from openspm.store import models as m

SEE_ALL = frozenset({"admin", "comp_analyst", "finance"})
WRITERS = frozenset({"admin", "comp_analyst"})
ALL_SCOPES = frozenset({"read", "write"})


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    roles: frozenset[str]
    payee_id: int | None = None
    payee: str | None = None  # the payee's external id
    scopes: frozenset[str] = ALL_SCOPES  # a session may do what the roles allow; a token only its scopes
    via_token: bool = False

    @property
    def actor(self) -> str:
        """The audit log's actor for changes this principal makes."""
        return self.email

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & SEE_ALL)

    @property
    def may_write(self) -> bool:
        return bool(self.roles & WRITERS) and "write" in self.scopes

    @property
    def is_manager(self) -> bool:
        return "manager" in self.roles

    @property
    def home(self) -> str:
        """The page a user lands on after signing in."""
        if self.sees_all:
            return "/admin/periods"
        if self.is_manager:
            return "/team"
        return "/dashboard"

    def require_write(self, what: str) -> None:
        """Raise Forbidden unless the principal may change things."""
        if not self.roles & WRITERS:
            roles = ", ".join(sorted(self.roles)) or "no role"
            raise Forbidden(f"{what} needs the admin or comp_analyst role; {self.email} has {roles}")
        if "write" not in self.scopes:
            raise Forbidden(f"{what} needs a token with the write scope; this token has read only")


def principal_in(session: Session, user: m.User | None, scopes: frozenset[str] | None = None) -> Principal:
    """The principal of an active user, read in `session` (Unauthorized when the user is gone or inactive)."""
    if user is None or not user.active:
        raise Unauthorized("the user is unknown or not active")
    roles = frozenset(
        session.scalars(
            select(m.Role.name).join(m.UserRole, m.UserRole.role_id == m.Role.id).where(m.UserRole.user_id == user.id)
        )
    )
    payee = (
        session.execute(select(m.Payee.id, m.Payee.external_id).where(m.Payee.id == user.payee_id)).first()
        if user.payee_id is not None
        else None
    )
    return Principal(
        user.id,
        user.email,
        user.name,
        roles,
        payee[0] if payee else None,
        payee[1] if payee else None,
        scopes if scopes is not None else ALL_SCOPES,
        scopes is not None,
    )


def principal_of(engine: Engine, user_id: int, scopes: frozenset[str] | None = None) -> Principal:
    """The principal of an active user (Unauthorized when the user is gone or inactive)."""
    with Session(engine) as session:
        return principal_in(session, session.get(m.User, user_id), scopes)
