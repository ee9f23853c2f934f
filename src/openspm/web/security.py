"""Who is asking: a bearer API token or the signed session cookie, and the CSRF token of a session.

The session is Starlette's signed cookie (itsdangerous, keyed by `auth.secret.secret_key`): it holds the
user id, a fingerprint of the password hash (changing the password ends every session) and the CSRF token.
A signed cookie needs no table and no write per request; the fingerprint gives the one revocation that
matters, and logout clears the cookie. Every form POST carries the session's CSRF token (`csrf_token`
field), an API POST with the session cookie the `X-CSRF-Token` header; bearer-token requests carry none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal, principal_in, principal_of
from openspm.auth.errors import Unauthorized
from openspm.auth.service import token_user
from openspm.store import models as m

SESSION_HOURS = 12


class LoginRequired(Exception):
    """A page asked for without a session: answered with a redirect to the sign-in page."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


def start_session(request: Request, user_id: int) -> None:
    """A fresh session for the user (a new CSRF token too: no fixation across sign-ins)."""
    with Session(engine_of(request)) as session:
        user = session.get_one(m.User, user_id)
        fingerprint = password_fingerprint(user.password_hash)
    request.session.clear()
    request.session.update({"uid": user_id, "pw": fingerprint, "csrf": secrets.token_urlsafe(24)})


def end_session(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use, so the sign-in form has one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """Forbidden unless `sent` is the session's CSRF token."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page and try again")


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None (no session, or a password changed since)."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        return None
    with Session(engine_of(request)) as session:
        user = session.get(m.User, user_id)
        if user is None or not user.active or password_fingerprint(user.password_hash) != request.session.get("pw"):
            request.session.clear()
            return None
        try:
            return principal_in(session, user)
        except Unauthorized:
            request.session.clear()
            return None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("use `Authorization: Bearer <token>`")
    return value.strip()


def api_principal(request: Request) -> Principal:
    """The principal of an API request: bearer token first, else the session cookie (401 without either)."""
    token = bearer_token(request)
    if token is not None:
        found = token_user(engine_of(request), token)
        return principal_of(engine_of(request), found.user_id, found.scopes)
    principal = session_principal(request)
    if principal is None:
        raise Unauthorized("sign in, or send an API token as `Authorization: Bearer <token>`")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, request.headers.get("x-csrf-token"))
    return principal


def page_principal(request: Request) -> Principal:
    """The principal of a page request (LoginRequired: redirect to sign in)."""
    principal = session_principal(request)
    if principal is None:
        raise LoginRequired
    return principal
