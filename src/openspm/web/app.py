"""The web app: a placeholder home page over the store until the web issue lands.

`create_app()` builds the FastAPI application; `openspm serve` runs it. The page
shows what the store holds and how to load more; `/api/v1/status` gives the same
as JSON, and `/healthz` answers when the store is reachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm import __version__
from openspm.core.errors import OpenSpmError
from openspm.store import models as m
from openspm.store.db import make_engine

HERE = Path(__file__).parent
COUNTED = {
    "Payees": m.Payee,
    "Accounts": m.Account,
    "Territories": m.Territory,
    "Products": m.Product,
    "Transactions": m.Transaction,
    "Opportunities": m.Opportunity,
    "Plans": m.Plan,
    "Quotas": m.Quota,
    "Periods": m.Period,
    "Users": m.User,
}


def store_summary(engine: Engine) -> dict[str, Any]:
    """Row counts per entity and the newest imports."""
    with Session(engine) as session:
        counts = {
            label: session.scalar(select(func.count()).select_from(model)) or 0 for label, model in COUNTED.items()
        }
        batches = session.scalars(select(m.ImportBatch).order_by(m.ImportBatch.id.desc()).limit(10)).all()
        imports = [
            {
                "kind": b.kind,
                "file": Path(b.file_name).name,
                "at": b.started_at.isoformat(timespec="seconds"),
                "inserted": b.inserted,
                "updated": b.updated,
                "rejected": b.rejected,
            }
            for b in batches
        ]
        runs = session.scalars(
            select(m.Run).where(m.Run.status == "completed").order_by(m.Run.id.desc()).limit(12)
        ).all()
        totals: dict[int, list[tuple[str, Any]]] = {}
        if runs:
            query = select(m.RunEarning.run_id, m.RunEarning.currency, m.RunEarning.amount).where(
                m.RunEarning.run_id.in_([r.id for r in runs])
            )
            sums: dict[tuple[int, str], Any] = {}
            for run_id, currency, amount in session.execute(query):
                sums[(run_id, currency)] = sums.get((run_id, currency), 0) + amount
            for (run_id, currency), amount in sorted(sums.items()):
                totals.setdefault(run_id, []).append((currency, amount))
        recent = [
            {
                "run": r.id,
                "period": r.period,
                "at": r.started_at.isoformat(timespec="seconds"),
                "plans": ", ".join(f"{k} v{v}" for k, v in sorted(r.plans.items())),
                "total": ", ".join(f"{amount:,.2f} {currency}" for currency, amount in totals.get(r.id, [])),
            }
            for r in runs
        ]
    return {"counts": counts, "imports": imports, "runs": recent}


def create_app(engine: Engine | None = None) -> FastAPI:
    """The application, bound to `engine` (default: the configured store)."""
    store = engine or make_engine()
    app = FastAPI(title="openspm", version=__version__)
    templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(OpenSpmError)
    async def user_error(request: Request, exc: OpenSpmError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.http_status)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request, "home.html", {"summary": store_summary(store), "version": __version__}
        )

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        return {"version": __version__, **store_summary(store)}

    @app.get("/healthz")
    def health() -> dict[str, str]:
        with store.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    return app
