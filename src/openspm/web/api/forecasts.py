"""`/api/v1/insights/forecasts` and `/api/v1/insights/commits`: time-series forecasts (a scope's history with the
newest stored forecast; a forecast started as a job, 202), accuracy of stored forecasts, the back-test, and
commits (the caller's entry; the roll-up; the caller's history).

Thin over `openspm.access.forecasts`. Amounts are exact decimal strings in USD; MAPE, WAPE and bias are fractions
(0.12 = 12%), null when undefined (every actual zero).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import forecasts as access
from openspm.access.principal import Principal
from openspm.insights import series
from openspm.insights.accuracy import Accuracy
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, principal
from openspm.web.api.jobs import JobOut
from openspm.web.jobqueue import queue_of
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/insights", responses=ERRORS, tags=["insights"])


class AccuracyOut(BaseModel):
    n: int = Field(description="Forecast/actual pairs scored")
    mape: Decimal | None = Field(description="Mean absolute percentage error over pairs with a non-zero actual")
    wape: Decimal | None = Field(description="Σ|actual − forecast| / Σ|actual|")
    bias: Decimal | None = Field(description="Σ(forecast − actual) / Σ|actual|; positive: forecasts ran high")
    zero_actuals: int = Field(description="Pairs MAPE skipped because the actual was zero")
    forecast: Decimal
    actual: Decimal


class PointOut(BaseModel):
    month: str
    actual: Decimal | None = Field(description="Net bookings; null for months after the newest data")
    forecasts: dict[str, Decimal] = Field(description="Method → forecast of the stored batch")


class SeriesOut(BaseModel):
    scope: str
    label: str
    currency: str
    batch: str | None = Field(description="The forecast batch shown (the newest when not asked for)")
    made_at: str | None
    methods: list[str]
    points: list[PointOut]


class ForecastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    horizon: int = Field(6, ge=1, le=24, description="Months after the newest month with bookings")
    methods: list[str] = Field(default_factory=lambda: list(series.METHODS), min_length=1, max_length=3)
    first_month: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}$", description="Forecast from this month, learning from the months before it"
    )


class AccuracyRowOut(AccuracyOut):
    source: str = Field(description="series, pipeline or commit")
    method: str
    level: str = Field(description="company, region, team, payee or deal")


class DealOut(BaseModel):
    deal: str
    close_month: str
    forecast: Decimal = Field(description="Amount × probability when the snapshot was taken")
    actual: Decimal = Field(description="The won amount; 0 when lost")
    status: str
    probability: str | None


class AccuracyReportOut(BaseModel):
    through: str
    currency: str
    pending: int = Field(description="Stored forecasts whose actuals are not in yet")
    rows: list[AccuracyRowOut]
    scopes: list[AccuracyRowOut] = Field(description="Per source × method × scope (`level` holds the scope)")
    deals: list[DealOut]


class BacktestRowOut(AccuracyOut):
    level: str = Field(description="company, region, team, or a scope")
    method: str


class BacktestOut(BaseModel):
    train: list[str]
    holdout: list[str]
    currency: str
    levels: list[BacktestRowOut]
    scopes: list[BacktestRowOut]
    notes: dict[str, list[str]]


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=32, description="A period's name, e.g. FY2027-Q1")
    commit: Decimal = Field(ge=0, le=Decimal(10) ** 15)
    best_case: Decimal | None = Field(None, ge=0, le=Decimal(10) ** 15)
    note: str | None = Field(None, max_length=2000)


class CommitOut(BaseModel):
    id: int
    payee: str
    period: str
    kind: str = Field(description="commit (a rep's) or call (a manager's, for their team)")
    commit: Decimal
    best_case: Decimal | None
    currency: str
    note: str | None
    entered_by: str
    entered_at: str


class CommitNodeOut(BaseModel):
    payee: str
    name: str
    depth: int = Field(description="0 for the root of the roll-up, 1 for its direct reports, ...")
    own_commit: Decimal | None
    own_best_case: Decimal | None
    call: Decimal | None
    team_commit: Decimal = Field(description="Σ of the direct reports' effective commits")
    team_best_case: Decimal
    effective_commit: Decimal = Field(description="The call when given, else own + team: what passes up")
    effective_best_case: Decimal
    reported: int
    reps: int


def _acc(a: Accuracy) -> dict[str, Any]:
    return asdict(a)


def _commit(e: Any) -> dict[str, Any]:
    return {**asdict(e), "entered_at": e.entered_at.isoformat()}


@router.get("/forecasts", response_model=SeriesOut)
def forecast_series(
    request: Request,
    scope: str = Query("company", max_length=160, description="company, region:<code> or team:<manager>"),
    batch: str | None = Query(None, max_length=64),
    who: Principal = Depends(principal),
) -> Any:
    """A scope's monthly net bookings with a stored forecast batch (admin, comp analyst, finance, managers)."""
    view = access.series_for(engine_of(request), who, scope, batch)
    return {**asdict(view)}


@router.post("/forecasts", response_model=JobOut, status_code=202, responses=WRITE_ERRORS)
def start_forecast(request: Request, body: ForecastIn, who: Principal = Depends(principal)) -> Any:
    """Forecast every scope as a job (admin, comp analyst); its `result.batch` names the stored snapshots."""
    return access.start_forecast_for(
        engine_of(request), queue_of(request), who, body.horizon, body.methods, body.first_month
    )


@router.get("/forecasts/accuracy", response_model=AccuracyReportOut)
def forecast_accuracy(request: Request, who: Principal = Depends(principal)) -> Any:
    """MAPE, WAPE and bias of every stored forecast whose period has ended, per source × method × level."""
    report = access.accuracy_for(engine_of(request), who)
    return {
        "through": report.through.isoformat(),
        "currency": report.currency,
        "pending": report.pending,
        "rows": [{"source": r.source, "method": r.method, "level": r.level, **_acc(r.accuracy)} for r in report.rows],
        "scopes": [
            {"source": r.source, "method": r.method, "level": r.level, **_acc(r.accuracy)} for r in report.scopes
        ],
        "deals": [asdict(d) for d in report.deals],
    }


@router.get("/forecasts/backtest", response_model=BacktestOut)
def forecast_backtest(
    request: Request,
    holdout_from: str = Query(..., pattern=r"^\d{4}-\d{2}$", description="First held-out month"),
    holdout_to: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
    who: Principal = Depends(principal),
) -> Any:
    """Train before `holdout_from`, forecast the held-out months, score each method and the baseline."""
    found = access.backtest_for(engine_of(request), who, holdout_from, holdout_to)
    return {
        "train": list(found.train),
        "holdout": list(found.holdout),
        "currency": found.currency,
        "levels": [{"level": r.level, "method": r.method, **_acc(r.accuracy)} for r in found.levels],
        "scopes": [{"level": r.level, "method": r.method, **_acc(r.accuracy)} for r in found.scopes],
        "notes": found.notes,
    }


@router.get("/commits", response_model=list[CommitNodeOut])
def commit_rollup(
    request: Request,
    period: str = Query(..., max_length=32),
    payee: str | None = Query(None, max_length=128, description="Whose roll-up (a manager you may see)"),
    who: Principal = Depends(principal),
) -> Any:
    """Commits rolled up the reporting lines, depth first: yours (reps, managers) or the company's (admin, ...)."""
    rows = []
    for tree in access.rollup_for(engine_of(request), who, period, payee):
        for depth, n in tree.walk():
            rows.append(
                {
                    "payee": n.payee,
                    "name": n.name,
                    "depth": depth,
                    "own_commit": n.own.commit if n.own else None,
                    "own_best_case": n.own.best_case if n.own else None,
                    "call": n.call.commit if n.call else None,
                    "team_commit": n.team_commit,
                    "team_best_case": n.team_best_case,
                    "effective_commit": n.effective_commit,
                    "effective_best_case": n.effective_best_case,
                    "reported": n.reported,
                    "reps": n.reps,
                }
            )
    return rows


@router.post("/commits", response_model=CommitOut, status_code=201, responses=WRITE_ERRORS)
def enter_commit(request: Request, body: CommitIn, who: Principal = Depends(principal)) -> Any:
    """Enter your commit (a rep) or your call for your team (a manager) for a period; every entry is kept."""
    entry = access.enter_commit_for(
        engine_of(request), who, period=body.period, commit=body.commit, best_case=body.best_case, note=body.note
    )
    return _commit(entry)


@router.get("/commits/history", response_model=list[CommitOut])
def commit_history(
    request: Request, period: str | None = Query(None, max_length=32), who: Principal = Depends(principal)
) -> Any:
    """Your entries, newest first."""
    return [_commit(e) for e in access.history_for(engine_of(request), who, period)]
