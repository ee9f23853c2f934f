"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.auth.errors import TooManyAttempts, Unauthorized
from openspm.auth.service import authenticate
from openspm.web.security import check_csrf, end_session, engine_of, session_principal, start_session
from openspm.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str | None:
    """Only a local path: never redirect off the site after sign-in."""
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    principal = session_principal(request)
    if principal is not None:
        return RedirectResponse(_safe_next(next) or principal.home, status_code=303)
    return render(request, "login.html", None, help_anchor="signing-in", next=_safe_next(next) or "", email="")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
) -> Response:
    check_csrf(request, csrf_token)
    try:
        user_id = authenticate(engine_of(request), email, password)
    except (Unauthorized, TooManyAttempts) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        response = render(
            request,
            "login.html",
            None,
            status_code=exc.http_status,
            help_anchor="signing-in",
            error=str(exc),
            next=_safe_next(next) or "",
            email=email,
        )
        if headers:
            response.headers.update(headers)
        return response
    start_session(request, user_id)
    principal = session_principal(request)
    home = principal.home if principal else "/"
    return RedirectResponse(_safe_next(next) or home, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    check_csrf(request, csrf_token)
    end_session(request)
    return RedirectResponse("/login", status_code=303)
