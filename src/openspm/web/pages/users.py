"""Users and roles (admins only): the users list, a new user, and one user's page to change roles, link a payee,
disable or enable, reset the password and revoke API tokens. A one-time password is shown once, on the page that
answers the form, and never again. Every change is audited.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import users_admin as access
from openspm.access.principal import Principal
from openspm.core.errors import OpenSpmError
from openspm.store.models import ROLES
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/admin/users")
USER_ID = Path(..., ge=1, le=2**31 - 1)
PAGE = 50


def _list_page(
    request: Request,
    principal: Principal,
    q: str = "",
    role: str = "",
    page: int = 1,
    status_code: int = 200,
    **context: object,
) -> Response:
    page = max(1, page)
    rows, total = access.users_for(
        engine_of(request), principal, search=q or None, role=role or None, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "users.html",
        principal,
        status_code=status_code,
        help_anchor="users-and-roles",
        rows=rows,
        total=total,
        q=q,
        role=role,
        page=page,
        pages=max(1, (total + PAGE - 1) // PAGE),
        roles=ROLES,
        form=context.pop("form", {}),
        **context,
    )


@router.get("", response_class=HTMLResponse)
def users(
    request: Request, q: str = "", role: str = "", page: int = 1, principal: Principal = Depends(page_principal)
) -> Response:
    return _list_page(request, principal, q, role, page, done=request.query_params.get("done", ""))


@router.post("", response_class=HTMLResponse)
def create(
    request: Request,
    csrf_token: str = Form(""),
    email: str = Form(""),
    name: str = Form(""),
    roles: list[str] = Form([]),
    payee: str = Form(""),
    password: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    access.require_admin(principal, "creating a user")
    form = {"email": email, "name": name, "roles": roles, "payee": payee}
    try:
        view, secret = access.create_user_for(
            engine_of(request),
            principal,
            email=email,
            name=name,
            roles=roles,
            payee=payee.strip() or None,
            password=password or None,
        )
    except OpenSpmError as exc:
        return _list_page(request, principal, status_code=exc.http_status, error=str(exc), form=form)
    return _user_page(request, principal, view.id, status_code=201, done=f"user {view.email} created", secret=secret)


def _user_page(
    request: Request, principal: Principal, user_id: int, status_code: int = 200, **context: object
) -> Response:
    engine = engine_of(request)
    view = access.user_for(engine, principal, user_id)
    return render(
        request,
        "user.html",
        principal,
        status_code=status_code,
        help_anchor="users-and-roles",
        user=view,
        tokens=access.tokens_for(engine, principal, user_id),
        roles=ROLES,
        is_me=view.id == principal.user_id,
        **context,
    )


@router.get("/{user_id}", response_class=HTMLResponse)
def user(request: Request, user_id: int = USER_ID, principal: Principal = Depends(page_principal)) -> Response:
    return _user_page(request, principal, user_id, done=request.query_params.get("done", ""))


@router.post("/{user_id}/{action}", response_class=HTMLResponse)
def change(
    request: Request,
    action: str,
    user_id: int = USER_ID,
    csrf_token: str = Form(""),
    roles: list[str] = Form([]),
    payee: str = Form(""),
    active: str = Form(""),
    password: str = Form(""),
    token_id: int = Form(0),
    principal: Principal = Depends(page_principal),
) -> Response:
    """roles, payee, active, password or revoke (a token): one change, then back to the user's page."""
    check_csrf(request, csrf_token)
    access.require_admin(principal, "changing a user")
    engine = engine_of(request)
    secret: str | None = None
    try:
        if action == "roles":
            view = access.set_roles_for(engine, principal, user_id, roles)
            done = f"roles of {view.email}: {', '.join(view.roles)}"
        elif action == "payee":
            view = access.link_payee_for(engine, principal, user_id, payee.strip() or None)
            done = f"{view.email} linked to {view.payee}" if view.payee else f"{view.email} linked to no payee"
        elif action == "active":
            view = access.set_active_for(engine, principal, user_id, active == "1")
            done = f"{view.email} {'enabled' if view.active else 'disabled'}"
        elif action == "password":
            view, secret = access.reset_password_for(engine, principal, user_id, password or None)
            done = f"password of {view.email} reset: their sessions have ended"
        elif action == "revoke":
            token = access.revoke_token_for(engine, principal, user_id, token_id)
            done = f"token {token.id} ({token.prefix}…) revoked"
        else:
            return _user_page(request, principal, user_id, status_code=404, error=f"unknown change {action!r}")
    except OpenSpmError as exc:
        return _user_page(request, principal, user_id, status_code=exc.http_status, error=str(exc))
    if secret is not None:  # shown once, on this answer only: no redirect that could be reloaded or logged
        return _user_page(request, principal, user_id, done=done, secret=secret)
    return RedirectResponse(f"/admin/users/{user_id}?" + urlencode({"done": done}), status_code=303)
