"""Time-series forecasts as jobs: `submit_forecast(engine, queue, horizon, methods, actor)` queues a job that reads
monthly bookings, forecasts each scope with every method and the seasonal-naive baseline, and stores the snapshots,
reporting each scope as it goes.

The job's params are `horizon` (months), `methods` and `first_month` (None: after the newest month); its result
names the snapshot `batch`, the first forecast month, and how many scopes and rows were made. Bad parameters are
refused (422) before anything is queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from openspm.core.errors import InvalidInput
from openspm.insights import series
from openspm.insights.forecasts import make_series_forecast, month_start
from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView

KIND = "forecast_series"


def check(horizon: int, methods: Sequence[str], first_month: str | None = None) -> None:
    if first_month is not None:
        month_start(first_month)
    if not 1 <= horizon <= 24:
        raise InvalidInput("the horizon must be 1 to 24 months")
    unknown = [x for x in methods if x not in series.METHODS]
    if unknown:
        raise InvalidInput(f"unknown method {unknown[0]!r}; use {', '.join(series.METHODS)}")


def submit_forecast(
    engine: Engine,
    queue: JobQueue,
    horizon: int,
    methods: Sequence[str],
    actor: str,
    first_month: str | None = None,
) -> JobView:
    """Queue a series forecast (from `first_month`, learning from the months before it, when given; else after the
    newest month); InvalidInput (422) for a horizon, month or method no forecast could use."""
    check(horizon, methods, first_month)
    job = service.submit(
        engine,
        KIND,
        {"horizon": horizon, "methods": list(methods), "first_month": first_month},
        actor,
        f"queued: {horizon}-month forecast ({', '.join(methods)} and {series.BASELINE})",
    )
    queue.enqueue(job.id)
    return job


@handler(KIND)
def forecast_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Forecast and store; the result names the snapshot batch."""

    def say(fraction: float, text: str) -> None:
        progress(fraction, text, None)

    result = make_series_forecast(
        engine,
        horizon=int(job.params["horizon"]),
        methods=tuple(job.params["methods"]),
        actor=job.requested_by,
        job_id=job.id,
        progress=say,
        first_month=job.params.get("first_month"),
    )
    return {
        "batch": result.batch,
        "first_month": result.first_month,
        "horizon": result.horizon,
        "scopes": result.scopes,
        "rows": result.rows,
        "history_months": result.history_months,
        "message": f"{result.rows} forecast rows for {result.scopes} scopes from {result.first_month}",
    }
