"""`/api/v1/users`: users with their roles and linked payee, created, changed, disabled, their passwords reset
and API tokens revoked. Admins only (403 for everyone else); every change is audited.

A user created or reset without a password gets a one-time password, in `one_time_password` of that answer
only: it is never stored or shown again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from openspm.access import users_admin as access
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, principal
from openspm.web.api.schemas import PageOut
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["users"])
UserId = Path(..., ge=1, le=2**31 - 1, description="A user's id")
CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    409: {**WRITE_ERRORS[409], "description": "The email exists, or the change would lock admins out"},
}


def _no_nul(value: Any) -> Any:
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(v, str) and "\x00" in v for v in texts):
        raise ValueError("must not hold a NUL character")
    return value


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    roles: list[str]
    payee: str | None = Field(description="The linked payee's id (a rep's or manager's own data)")
    payee_name: str | None
    active: bool
    has_password: bool
    created_at: datetime
    active_tokens: int


class UserSecretOut(BaseModel):
    user: UserOut
    one_time_password: str | None = Field(description="Shown once when the server chose the password; else null")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1, max_length=5, examples=[["comp_analyst"]])
    payee: str | None = Field(None, max_length=128)
    password: str | None = Field(None, min_length=8, max_length=200, description="Omit for a one-time password")

    _nul = field_validator("email", "name", "roles", "payee", "password")(classmethod(lambda cls, v: _no_nul(v)))


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] = Field(min_length=1, max_length=5)

    _nul = field_validator("roles")(classmethod(lambda cls, v: _no_nul(v)))


class PayeeLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payee: str | None = Field(max_length=128, description="A payee id, or null to unlink")

    _nul = field_validator("payee")(classmethod(lambda cls, v: _no_nul(v)))


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(None, min_length=8, max_length=200, description="Omit for a one-time password")

    _nul = field_validator("password")(classmethod(lambda cls, v: _no_nul(v)))


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.get("/users", response_model=PageOut[UserOut])
def list_users(
    request: Request,
    q: str | None = Query(None, max_length=254, description="Part of the email or name"),
    role: str | None = Query(None, max_length=32),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Users by email, with roles, linked payee, whether active, and their active token count."""
    items, total = access.users_for(engine_of(request), who, search=q, role=role, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/users", response_model=UserSecretOut, status_code=201, responses=CHANGE_ERRORS)
def create_user(request: Request, body: UserIn, who: Principal = Depends(principal)) -> Any:
    """Create a user (409 when the email exists); without a password, a one-time one is answered once."""
    view, secret = access.create_user_for(engine_of(request), who, **body.model_dump())
    return {"user": view, "one_time_password": secret}


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(request: Request, user_id: int = UserId, who: Principal = Depends(principal)) -> Any:
    return access.user_for(engine_of(request), who, user_id)


@router.post("/users/{user_id}/roles", response_model=UserOut, responses=CHANGE_ERRORS)
def set_roles(request: Request, body: RolesIn, user_id: int = UserId, who: Principal = Depends(principal)) -> Any:
    """Replace the user's roles (409: your own admin role, or the last active admin's)."""
    return access.set_roles_for(engine_of(request), who, user_id, body.roles)


@router.post("/users/{user_id}/payee", response_model=UserOut, responses=CHANGE_ERRORS)
def link_payee(request: Request, body: PayeeLinkIn, user_id: int = UserId, who: Principal = Depends(principal)) -> Any:
    """Link the user to a payee, or unlink (null)."""
    return access.link_payee_for(engine_of(request), who, user_id, body.payee)


@router.post("/users/{user_id}/active", response_model=UserOut, responses=CHANGE_ERRORS)
def set_active(request: Request, body: ActiveIn, user_id: int = UserId, who: Principal = Depends(principal)) -> Any:
    """Enable or disable the user (409: yourself, or the last active admin). A disabled user's sessions and
    tokens answer 401."""
    return access.set_active_for(engine_of(request), who, user_id, body.active)


@router.post("/users/{user_id}/password", response_model=UserSecretOut, responses=CHANGE_ERRORS)
def reset_password(
    request: Request, body: PasswordIn | None = None, user_id: int = UserId, who: Principal = Depends(principal)
) -> Any:
    """Reset the password (the one given, or a one-time one answered once); every session of the user ends."""
    view, secret = access.reset_password_for(engine_of(request), who, user_id, body.password if body else None)
    return {"user": view, "one_time_password": secret}


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, user_id: int = UserId, who: Principal = Depends(principal)) -> Any:
    """The user's API tokens, newest first (only a prefix of each: tokens are shown once, when made)."""
    return access.tokens_for(engine_of(request), who, user_id)


@router.post("/users/{user_id}/tokens/{token_id}/revoke", response_model=TokenOut, responses=CHANGE_ERRORS)
def revoke_token(
    request: Request,
    user_id: int = UserId,
    token_id: int = Path(..., ge=1, le=2**31 - 1),
    who: Principal = Depends(principal),
) -> Any:
    """Revoke one of the user's API tokens: it answers 401 from now on."""
    return access.revoke_token_for(engine_of(request), who, user_id, token_id)
