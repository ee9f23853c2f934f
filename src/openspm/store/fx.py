"""Exchange rates as stored, read for conversions outside the engine (insights, planning).

`dated_rates(session, currency)` is every rate into `currency`, oldest first, keyed by the source currency: the
`fx_rates` rows `source → currency` as they are, and the rows `currency → other` inverted (1 / rate) under
the key `~other`, so a converter tries `source` first and `~source` second.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.store import models as m

DatedRates = dict[str, list[tuple[date, Decimal]]]


def dated_rates(session: Session, currency: str) -> DatedRates:
    """Dated rates into `currency` by source currency (direct rows, and the inverse of reverse rows)."""
    found: DatedRates = {}
    for row in session.scalars(select(m.FxRate).order_by(m.FxRate.effective_date)):
        if row.to_currency == currency:
            found.setdefault(row.from_currency, []).append((row.effective_date, row.rate))
        elif row.from_currency == currency and row.rate:
            found.setdefault(f"~{row.to_currency}", []).append((row.effective_date, Decimal(1) / row.rate))
    return found
