"""One error path: every failure answers as JSON `{"error": ..., "detail": ...}` under /api, else as a page.

`error` is a short code for the status (`unauthorized`, `forbidden`, `not_found`, `conflict`,
`invalid_input`, `too_many_requests`, ...) and `detail` says what went wrong: a sentence, or for FastAPI's
own validation errors the list of fields and what is wrong with each. A page asked for without a session
redirects to the sign-in page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from openspm.auth.errors import TooManyAttempts
from openspm.core.errors import OpenSpmError
from openspm.web.security import LoginRequired, session_principal
from openspm.web.templating import render

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    code = CODES.get(status, "error")
    if is_api(request):
        answer = JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)
        if status == 401:
            answer.headers["WWW-Authenticate"] = "Bearer"
        return answer
    try:
        principal = session_principal(request) if hasattr(request.app.state, "engine") else None
    except Exception:  # the store is the problem: show the error without the user
        principal = None
    text = detail if isinstance(detail, str) else "; ".join(_field_message(e) for e in detail)
    page = render(request, "error.html", principal, status_code=status, code=code, status=status, detail=text)
    if headers:
        page.headers.update(headers)
    return page


def _field_message(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(OpenSpmError)
    async def user_error(request: Request, exc: OpenSpmError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        return error_response(request, exc.http_status, str(exc), headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        if not is_api(request):
            return error_response(request, 422, [{"loc": d["field"].split("."), "msg": d["message"]} for d in detail])
        return error_response(request, 422, detail)

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (e.g. a NUL character, which PostgreSQL text refuses): the input's fault.
        return error_response(
            request, 422, "a value cannot be stored or looked up: it holds a NUL character or is out of range"
        )

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next: Any) -> Response:
        if "\x00" in request.url.path or "%00" in request.url.query or "\x00" in request.url.query:
            if is_api(request):
                return error_response(request, 422, "the address holds a NUL character")
            return PlainTextResponse("422 invalid input: the address holds a NUL character", status_code=422)
        answer: Response = await call_next(request)
        return answer

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page: {request.url.path}"
        return error_response(request, exc.status_code, detail, dict(exc.headers or {}) or None)
