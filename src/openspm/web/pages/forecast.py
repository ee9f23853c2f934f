"""The forecast page: the pipeline-weighted forecast (table and chart), stage probabilities from history, the
model's calibration on a hold-out (chart and metrics) and the open deals with their score and the features
behind it.

Thin over `openspm.access.forecast`: every signed-in user may open it and sees the deals of the payees visible
to them (a rep their own, a manager their team). It writes nothing, so the form is a GET.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access.forecast import ForecastView, calibration_for, forecast_for
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput
from openspm.insights.calibration_plot import LABELS
from openspm.insights.forecast_json import evaluation_json
from openspm.insights.pipeline import GROUPS, PERIODS
from openspm.insights.win_probability import Evaluation
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/insights")
DEALS_SHOWN = 50


def _chart(view: ForecastView, evaluation: Evaluation | None) -> dict[str, Any]:
    """What forecast.js draws: the periods with each forecast summed over groups (decimal strings), and the
    reliability bins."""
    periods: dict[str, list[Any]] = {}
    for r in view.rows:
        sums = periods.setdefault(r.period, [0, 0, 0, 0])
        for i, value in enumerate((r.pipeline, r.crm, r.stage, r.model)):
            sums[i] += value
    return {
        "currency": view.total.currency if view.total else "USD",
        "periods": list(periods),
        "pipeline": [str(v[0]) for v in periods.values()],
        "crm": [str(v[1]) for v in periods.values()],
        "stage": [str(v[2]) for v in periods.values()],
        "model": [str(v[3]) for v in periods.values()],
        "calibration": evaluation_json(evaluation)["bins"] if evaluation else {},
    }


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The forecast of the deals the principal may see, by month or quarter, optionally per rep, team or region."""
    period = request.query_params.get("period", "month")
    by = request.query_params.get("by", "none")
    error, status = "", 200
    if period not in PERIODS or by not in GROUPS:
        error, status = f"period must be one of {', '.join(PERIODS)} and by one of {', '.join(GROUPS)}", 422
        period, by = "month", "none"
    view: ForecastView | None = None
    evaluation: Evaluation | None = None
    try:
        view = forecast_for(engine_of(request), principal, period=period, by=by)
        evaluation = calibration_for(engine_of(request), principal)
    except InvalidInput as exc:  # too little history to train or evaluate on
        error = error or str(exc)
    return render(
        request,
        "forecast.html",
        principal,
        status_code=status,
        help_anchor="forecast",
        period=period,
        by=by,
        periods=PERIODS,
        groups=GROUPS,
        view=view,
        evaluation=evaluation,
        deals=view.scores[:DEALS_SHOWN] if view else [],
        chart=_chart(view, evaluation) if view else None,
        labels=LABELS,
        error=error,
    )
