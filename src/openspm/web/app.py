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
from openspm.web.api import audit as audit_api
from openspm.web.api import disputes as disputes_api
from openspm.web.api import endpoints, entities
from openspm.web.api import feedback as feedback_api
from openspm.web.api import finance as finance_api
from openspm.web.api import forecast as forecast_api
from openspm.web.api import forecasts as forecasts_api
from openspm.web.api import gamification as gamification_api
from openspm.web.api import history as history_api
from openspm.web.api import imports as imports_api
from openspm.web.api import insights as insights_api
from openspm.web.api import jobs as jobs_api
from openspm.web.api import plan_modeling as plan_modeling_api
from openspm.web.api import plandocs as plandocs_api
from openspm.web.api import planning as planning_api
from openspm.web.api import plans as plans_api
from openspm.web.api import scenario_evaluations as scenario_evaluations_api
from openspm.web.api import territory_drafts as territory_drafts_api
from openspm.web.api import transactions as transactions_api
from openspm.web.api import users as users_api
from openspm.web.api import whatif as whatif_api
from openspm.web.pages import admin, approvals, auth, disputes, events, help, history, planning, rep, team, tour
from openspm.web.pages import audit as audit_pages
from openspm.web.pages import feedback as feedback_pages
from openspm.web.pages import finance as finance_pages
from openspm.web.pages import forecast as forecast_pages
from openspm.web.pages import forecasts as forecasts_pages
from openspm.web.pages import gamification as gamification_pages
from openspm.web.pages import imports as imports_pages
from openspm.web.pages import insights as insights_pages
from openspm.web.pages import plan_modeling as plan_modeling_pages
from openspm.web.pages import plandocs as plandocs_pages
from openspm.web.pages import planning_capacity as planning_capacity_pages
from openspm.web.pages import plans as plans_pages
from openspm.web.pages import runs as runs_pages
from openspm.web.pages import scenario_evaluations as scenario_evaluations_pages
from openspm.web.pages import territory_drafts as territory_drafts_pages
from openspm.web.pages import users as users_pages
from openspm.web.pages import whatif as whatif_pages
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
    app.include_router(approvals.router, include_in_schema=False)
    app.include_router(planning.router, include_in_schema=False)
    app.include_router(planning_capacity_pages.router, include_in_schema=False)
    app.include_router(forecast_pages.router, include_in_schema=False)
    app.include_router(territory_drafts_pages.router, include_in_schema=False)
    app.include_router(scenario_evaluations_pages.router, include_in_schema=False)
    app.include_router(tour.router, include_in_schema=False)
    app.include_router(endpoints.router)
    app.include_router(entities.router)
    app.include_router(planning_api.router)
    app.include_router(forecast_api.router)
    app.include_router(territory_drafts_api.router)
    app.include_router(scenario_evaluations_api.router)
    app.include_router(forecasts_pages.router, include_in_schema=False)
    app.include_router(forecasts_api.router)
    app.include_router(imports_pages.router, include_in_schema=False)
    app.include_router(imports_api.router)
    app.include_router(plan_modeling_pages.router, include_in_schema=False)
    app.include_router(plan_modeling_api.router)
    app.include_router(plans_pages.router, include_in_schema=False)
    app.include_router(plans_api.router)
    app.include_router(plandocs_pages.router, include_in_schema=False)
    app.include_router(plandocs_api.router)
    app.include_router(finance_pages.router, include_in_schema=False)
    app.include_router(finance_api.router)
    app.include_router(disputes.router, include_in_schema=False)
    app.include_router(disputes_api.router)
    app.include_router(gamification_pages.router, include_in_schema=False)
    app.include_router(gamification_api.router)
    app.include_router(runs_pages.router, include_in_schema=False)
    app.include_router(users_pages.router, include_in_schema=False)
    app.include_router(audit_pages.router, include_in_schema=False)
    app.include_router(jobs_api.router)
    app.include_router(users_api.router)
    app.include_router(audit_api.router)
    app.include_router(events.router, include_in_schema=False)
    app.include_router(history.router, include_in_schema=False)
    app.include_router(transactions_api.router)
    app.include_router(history_api.router)
    app.include_router(feedback_pages.router, include_in_schema=False)
    app.include_router(feedback_api.router)
    app.include_router(insights_pages.router, include_in_schema=False)
    app.include_router(insights_api.router)
    app.include_router(whatif_pages.router, include_in_schema=False)
    app.include_router(whatif_api.router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        with store.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    return app
