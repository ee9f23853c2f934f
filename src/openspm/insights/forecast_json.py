"""The forecast as JSON-ready dicts, the same for the API and `openspm forecast ... --json`.

Money and probabilities are decimal strings; statistics (Brier, log loss, AUC, log-odds) are numbers rounded to
6 places.
"""

from __future__ import annotations

from typing import Any

from openspm.insights.pipeline import ForecastRow
from openspm.insights.win_probability import Evaluation, Score, StageRate


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def score_json(score: Score, top: int | None = None) -> dict[str, Any]:
    """An open deal's probabilities and the features behind the model's (all of them, or the `top` largest)."""
    d = score.deal
    return {
        "id": d.id,
        "name": d.name,
        "owner": d.owner,
        "account": d.account,
        "stage": d.stage,
        "amount": str(d.amount),
        "currency": d.currency,
        "close_date": d.close_date.isoformat(),
        "crm_probability": _text(score.crm_probability),
        "stage_probability": _text(score.stage_probability),
        "probability": str(score.probability),
        "baseline_log_odds": _round(score.baseline_log_odds),
        "contributions": [
            {"feature": c.feature, "value": c.value, "log_odds": _round(c.log_odds)} for c in score.contributions[:top]
        ],
    }


def stage_rate_json(rate: StageRate) -> dict[str, Any]:
    return {
        "stage": rate.stage,
        "reached": rate.reached,
        "won": rate.won,
        "probability": _text(rate.probability),
        "crm_probability": _text(rate.crm_probability),
    }


def forecast_row_json(row: ForecastRow) -> dict[str, Any]:
    return {
        "period": row.period,
        "group": row.group,
        "deals": row.deals,
        "pipeline": str(row.pipeline),
        "crm": str(row.crm),
        "stage": str(row.stage),
        "model": str(row.model),
        "currency": row.currency,
        "past_due": row.past_due,
    }


def evaluation_json(e: Evaluation) -> dict[str, Any]:
    return {
        "cut": e.cut.isoformat(),
        "train_deals": e.train_deals,
        "test_deals": e.test_deals,
        "train_rows": e.train_rows,
        "test_rows": e.test_rows,
        "base_rate": _round(e.base_rate),
        "metrics": [
            {"name": x.name, "brier": _round(x.brier), "log_loss": _round(x.log_loss), "auc": _round(x.auc)}
            for x in e.metrics
        ],
        "bins": {
            name: [
                {
                    "low": b.low,
                    "high": b.high,
                    "rows": b.rows,
                    "predicted": _round(b.predicted),
                    "observed": _round(b.observed),
                }
                for b in bins
            ]
            for name, bins in e.bins.items()
        },
    }
