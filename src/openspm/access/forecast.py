"""Who sees which deals of the forecast: every signed-in user may open it; the deals and forecast rows are those
owned by the payees visible to them (a rep their own, a manager their team, admin, comp analyst and finance all).

The model and the stage rates learn from every closed deal, whoever owned it: they are aggregates (a rate per
stage, coefficients, reliability bins), and a rep's score is only as good as the company's history. The hold-out
evaluation shows aggregates only, so every role may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee_ids
from openspm.insights.pipeline import ForecastRow, forecast, managers_on, totals
from openspm.insights.win_probability import (
    Evaluation,
    Score,
    StageRate,
    WinModel,
    as_of_day,
    evaluation,
    history,
    load_deals,
    score_deals,
    stage_calibration,
    trained,
)


@dataclass(frozen=True)
class ForecastView:
    """What a principal sees of the forecast: the rows, their total, the scored open deals, the stage rates."""

    as_of: date
    rows: list[ForecastRow]
    total: ForecastRow | None
    scores: list[Score]  # visible open deals, the largest model-weighted amount first
    rates: list[StageRate]
    model: WinModel | None  # None when no visible open deal needed one


def _visible(session: Session, principal: Principal) -> set[int] | None:
    return visible_payee_ids(session, principal)


def forecast_for(
    engine: Engine, principal: Principal, *, period: str = "month", by: str = "none", as_of: date | None = None
) -> ForecastView:
    """The pipeline forecast and deal scores of the deals `principal` may see."""
    with Session(engine) as session:
        deals = load_deals(session)
        visible = _visible(session, principal)
        mine = [d for d in deals if visible is None or (d.owner_id is not None and d.owner_id in visible)]
        scores = score_deals(deals, as_of, only=mine)  # trains the model (cached) when there is a deal to score
        fit = trained(deals, as_of) if scores else None
        day = fit.as_of if fit else as_of_day(deals, as_of)
        teams = managers_on(session, day) if by == "team" else {}
    rows = forecast(scores, as_of=day, period=period, by=by, teams=teams)
    scores.sort(key=lambda s: (-(s.deal.amount_reporting * s.probability), s.deal.id))
    rates = fit.rates if fit else stage_calibration(history(deals, as_of))
    return ForecastView(day, rows, totals(rows), scores, rates, fit.model if fit else None)


def win_probabilities_for(engine: Engine, principal: Principal, *, as_of: date | None = None) -> list[Score]:
    """The scored open deals `principal` may see, by deal id."""
    with Session(engine) as session:
        deals = load_deals(session)
        visible = _visible(session, principal)
    mine = [d for d in deals if visible is None or (d.owner_id is not None and d.owner_id in visible)]
    return score_deals(deals, as_of, only=mine)


def calibration_for(engine: Engine, principal: Principal, *, cut: date | None = None) -> Evaluation:
    """The time-based hold-out evaluation of the model (aggregates only: any signed-in user)."""
    del principal  # every role may see it
    with Session(engine) as session:
        deals = load_deals(session)
    return evaluation(deals, cut)
