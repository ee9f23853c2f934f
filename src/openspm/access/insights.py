"""Who sees which analytics: the KPI dashboard and the data-quality checks, for pages, the API and the CLI.

- admin, comp analyst, finance: every payee; any team or rep filter.
- manager: themselves and their team (as of the period, `visibility.visible_payee_ids`); a team or rep filter
  outside it answers 404 like an unknown payee.
- rep: their own numbers only.

Company-wide revenue tables become, for a manager or rep, the revenue credited to the payees they may see
(`insights.kpis`). Data quality: the opportunity checks of the payees they may see; the rest (uncredited
transactions, unassigned accounts, late imports) only for those who see everyone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee, visible_payee_ids
from openspm.insights.data_quality import DataQuality, data_quality
from openspm.insights.kpis import Filters, Kpis, calendar_windows, compute, default_period


def kpis_for(engine: Engine, principal: Principal, filters: Filters) -> Kpis:
    """The KPIs the principal may see for `filters` (NotFound for a team or rep outside their scope)."""
    with Session(engine) as session:
        period = filters.period or default_period(session, calendar_windows(session))
        visible = visible_payee_ids(session, principal, period)
        for payee in (filters.team, filters.rep):
            if payee:
                visible_payee(session, principal, payee, period)
        return compute(session, filters, visible)


def data_quality_for(
    engine: Engine, principal: Principal, as_of: date | None = None, stale_days: int = 90
) -> DataQuality:
    """The data-quality checks the principal may see."""
    with Session(engine) as session:
        visible = visible_payee_ids(session, principal, None)
        return data_quality(session, as_of, stale_days, visible)
