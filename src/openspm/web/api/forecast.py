"""`/api/v1/insights`: win probabilities of open deals (with the features behind each score), the
pipeline-weighted forecast, and the model's hold-out calibration. Thin over `openspm.access.forecast`: the deals
are those owned by payees the caller may see."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from openspm.access.forecast import calibration_for, forecast_for, win_probabilities_for
from openspm.access.principal import Principal
from openspm.insights.forecast_json import evaluation_json, forecast_row_json, score_json, stage_rate_json
from openspm.web.api.endpoints import ERRORS, Limit, Offset, principal
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/insights", responses=ERRORS)
AsOf = Query(None, description="Learn from deals closed before this day (default: every closed deal)")


class ContributionOut(BaseModel):
    feature: str
    value: str
    log_odds: float = Field(description="What the feature adds to the calibrated log-odds (positive: more likely)")


class DealScoreOut(BaseModel):
    id: str
    name: str
    owner: str | None
    account: str | None
    stage: str
    amount: str
    currency: str
    close_date: str
    crm_probability: str | None = Field(description="The probability the CRM carries")
    stage_probability: str | None = Field(description="P(win | reached this stage) from closed deals")
    probability: str = Field(description="The calibrated model's P(win)")
    baseline_log_odds: float = Field(description="log-odds of an average deal; plus the contributions = the score")
    contributions: list[ContributionOut]


class StageRateOut(BaseModel):
    stage: str
    reached: int
    won: int
    probability: str | None
    crm_probability: str | None


class WinProbabilityOut(BaseModel):
    items: list[DealScoreOut]
    total: int
    limit: int
    offset: int


class ForecastRowOut(BaseModel):
    period: str
    group: str
    deals: int
    pipeline: str
    crm: str = Field(description="Σ amount × the CRM probability")
    stage: str = Field(description="Σ amount × P(win | reached the stage) from history")
    model: str = Field(description="Σ amount × the calibrated model's P(win)")
    currency: str
    past_due: bool


class PipelineForecastOut(BaseModel):
    as_of: str
    rows: list[ForecastRowOut]
    total: ForecastRowOut | None
    stages: list[StageRateOut]


class MetricOut(BaseModel):
    name: str
    brier: float
    log_loss: float
    auc: float | None


class BinOut(BaseModel):
    low: float
    high: float
    rows: int
    predicted: float
    observed: float


class CalibrationOut(BaseModel):
    cut: str
    train_deals: int
    test_deals: int
    train_rows: int
    test_rows: int
    base_rate: float
    metrics: list[MetricOut]
    bins: dict[str, list[BinOut]]


@router.get("/win-probability", response_model=WinProbabilityOut, tags=["insights"])
def win_probability(
    request: Request,
    as_of: date | None = AsOf,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> Any:
    """P(win) of the open deals you may see, by deal id: the CRM's, the stage rate from history and the calibrated
    model's, with every feature's contribution to the model's log-odds (largest first)."""
    scores = win_probabilities_for(engine_of(request), who, as_of=as_of)
    items = [score_json(s) for s in scores[offset : offset + limit]]
    return {"items": items, "total": len(scores), "limit": limit, "offset": offset}


@router.get("/pipeline-forecast", response_model=PipelineForecastOut, tags=["insights"])
def pipeline_forecast(
    request: Request,
    period: Literal["month", "quarter"] = Query("month", description="Period of expected close"),
    by: Literal["none", "rep", "team", "region"] = Query("none", description="Group the rows"),
    as_of: date | None = AsOf,
    who: Principal = Depends(principal),
) -> Any:
    """Open pipeline of the deals you may see per period of expected close, weighted three ways (CRM
    probability, stage rate from history, calibrated model), in the reporting currency."""
    view = forecast_for(engine_of(request), who, period=period, by=by, as_of=as_of)
    return {
        "as_of": view.as_of.isoformat(),
        "rows": [forecast_row_json(r) for r in view.rows],
        "total": forecast_row_json(view.total) if view.total else None,
        "stages": [stage_rate_json(r) for r in view.rates],
    }


@router.get("/win-probability/calibration", response_model=CalibrationOut, tags=["insights"])
def calibration(
    request: Request,
    cut: date | None = Query(None, description="Train before, test from this day (default: the last quarter)"),
    who: Principal = Depends(principal),
) -> Any:
    """The model on a time-based hold-out: Brier score, log loss and AUC beside the stage rates, the CRM
    probability and the base rate, and the reliability bins (mean predicted vs observed win rate)."""
    return evaluation_json(calibration_for(engine_of(request), who, cut=cut))
