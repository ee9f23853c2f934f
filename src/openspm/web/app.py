"""The web app: pages for every role, the JSON API under /api/v1, sign-in with signed cookie sessions.

`create_app()` builds the FastAPI application; `openspm serve` runs it. Pages and API read and write only
through `openspm.access`, so the same rules (a rep sees their own data, a manager their team as of the
month, finance everything read-only) hold everywhere. `/healthz` answers when the store is reachable.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from openspm import __version__
from openspm.auth.secret import secret_key
from openspm.store.db import make_engine
from openspm.web import errors
from openspm.web.api import endpoints
from openspm.web.api import history as history_api
from openspm.web.api import transactions as transactions_api
from openspm.web.pages import admin, auth, events, help, history, rep, team
from openspm.web.security import SESSION_HOURS

HERE = Path(__file__).parent


def create_app(engine: Engine | None = None, *, secret: str | None = None, https_only: bool = False) -> FastAPI:
    """The application, bound to `engine` (default: the configured store).

    `secret` signs the session cookie (default: `OPENSPM_SECRET_KEY`, or `<data dir>/secret.key`).
    """
    store = engine or make_engine()
    app = FastAPI(
        title="openspm",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.engine = store
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret or secret_key(),
        session_cookie="openspm_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=https_only,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    errors.install(app)
    app.include_router(auth.router, include_in_schema=False)
    app.include_router(rep.router, include_in_schema=False)
    app.include_router(team.router, include_in_schema=False)
    app.include_router(admin.router, include_in_schema=False)
    app.include_router(help.router, include_in_schema=False)
    app.include_router(events.router, include_in_schema=False)
    app.include_router(history.router, include_in_schema=False)
    app.include_router(endpoints.router)
    app.include_router(transactions_api.router)
    app.include_router(history_api.router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        with store.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    return app
