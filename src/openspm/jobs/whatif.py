"""The ranking of a payee's open deals by expected earnings, as a background job: one engine run per deal and
affected month (`insights.whatif.rank_open_deals`) takes seconds to minutes, so the page and the API queue it and
follow its progress.

Params: `payee` (external id), `close_on` (ISO date or null: each deal's own close date), `probabilities`
(opportunity id → fraction, or null: the calibrated model's,
else the stored probabilities when it cannot train). Result: `payee` and `deals` (`ranked_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.insights.whatif import rank_open_deals, ranked_json
from openspm.insights.win_probability import win_probabilities
from openspm.jobs import service
from openspm.jobs.queue import JobQueue, Reporter, handler
from openspm.jobs.service import JobView

KIND = "what_if_ranking"


def submit_ranking(
    engine: Engine,
    queue: JobQueue,
    payee: str,
    actor: str,
    close_on: date | None = None,
    probabilities: Mapping[str, Decimal] | None = None,
) -> JobView:
    """Queue the ranking of `payee`'s open deals."""
    params = {
        "payee": payee,
        "close_on": close_on.isoformat() if close_on else None,
        "probabilities": {k: str(v) for k, v in probabilities.items()} if probabilities is not None else None,
    }
    job = service.submit(engine, KIND, params, actor, f"queued: ranking {payee}'s open deals")
    queue.enqueue(job.id)
    return job


@handler(KIND)
def ranking_job(engine: Engine, job: JobView, progress: Reporter) -> dict[str, Any]:
    """Rank the deals; progress is the share of engine runs done."""
    params = job.params
    close_on = date.fromisoformat(params["close_on"]) if params.get("close_on") else None
    given = params.get("probabilities")
    probabilities = {str(k): Decimal(str(v)) for k, v in given.items()} if isinstance(given, dict) else None

    def step(done: int, total: int, what: str) -> None:
        progress(round(done / total, 4) if total else 1.0, what, None)

    with Session(engine) as session:
        source = "given"
        if probabilities is None:
            probabilities, source = _model_probabilities(session)
        rows = rank_open_deals(session, str(params["payee"]), probabilities, close_on=close_on, on_step=step)
    return {
        "payee": params["payee"],
        "deals": ranked_json(rows),
        "probability_source": source,
        "message": f"{len(rows)} open deals ranked",
    }


def _model_probabilities(session: Session) -> tuple[dict[str, Decimal] | None, str]:
    """The calibrated win-probability model's P(win) per open deal (`insights.win_probability`), or None (the
    stored CRM probabilities) when the store has too few closed deals to train it."""
    try:
        return win_probabilities(session), "model"
    except InvalidInput:
        return None, "stored"
