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

import threading
from collections import OrderedDict
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee, visible_payee_ids
from openspm.core.dates import utc_now
from openspm.insights.data_quality import DataQuality, data_quality
from openspm.insights.kpis import Filters, Kpis, calendar_windows, compute, default_period
from openspm.store import models as m

_KEPT: OrderedDict[tuple[object, ...], Kpis] = OrderedDict()
_KEEP = 32
_LOCK = threading.Lock()


def change_marker(session: Session) -> tuple[object, ...]:
    """What the KPIs are computed from, summed up in one cheap query: every change through the importer, the web
    or the API is in the audit log, runs and closes have their own rows, and live transactions their ids."""
    parts = [
        select(func.max(m.AuditEntry.id)).scalar_subquery(),
        select(func.count(m.Run.id)).where(m.Run.status == "completed").scalar_subquery(),
        select(func.max(m.Run.id)).scalar_subquery(),
        select(func.max(m.PeriodClose.id)).scalar_subquery(),
        select(func.max(m.Transaction.id)).scalar_subquery(),
        select(func.count(m.Transaction.id)).scalar_subquery(),
        select(func.max(m.ImportBatch.id)).scalar_subquery(),
    ]
    return tuple(session.execute(select(*parts)).one())


def kpis_for(engine: Engine, principal: Principal, filters: Filters) -> Kpis:
    """The KPIs the principal may see for `filters` (NotFound for a team or rep outside their scope).

    Who may see whom is checked on every call; the figures are kept per store, filters, visible payees, day and
    `change_marker` (the 32 most recent), so the page's CSV links and a repeated view do not compute again."""
    with Session(engine) as session:
        period = filters.period or default_period(session, calendar_windows(session))
        visible = visible_payee_ids(session, principal, period)
        for payee in (filters.team, filters.rep):
            if payee:
                visible_payee(session, principal, payee, period)
        key = (
            str(engine.url),
            filters,
            None if visible is None else frozenset(visible),
            utc_now().date(),
            change_marker(session),
        )
        with _LOCK:
            kept = _KEPT.get(key)
            if kept is not None:
                _KEPT.move_to_end(key)
                return kept
        found = compute(session, filters, visible)
        with _LOCK:
            _KEPT[key] = found
            while len(_KEPT) > _KEEP:
                _KEPT.popitem(last=False)
        return found


def data_quality_for(
    engine: Engine, principal: Principal, as_of: date | None = None, stale_days: int = 90
) -> DataQuality:
    """The data-quality checks the principal may see."""
    with Session(engine) as session:
        visible = visible_payee_ids(session, principal, None)
        return data_quality(session, as_of, stale_days, visible)
