"""Monthly bookings from the store, by scope: what the time-series forecasts learn from and what their accuracy is
measured against.

Input: `transactions` (sales, returns and cancellations: net bookings, returns negative), `fx_rates`, accounts,
ownership (`account_assignments`, `account_territories`, `territory_assignments`) and `reporting_lines`.
Output: `Bookings`: Decimal amounts in the reporting currency (USD by default) per month (``YYYY-MM``) and scope:

- ``company``: every transaction;
- ``region:<code>``: the account's region (NA, EMEA, APAC in the demo);
- ``payee:<external id>``: the line's owner on its date: the transaction's explicit owner, else the account's named
  owner (role ``owner``, the largest share), else the owner of the account's territory on that date;
- ``team:<manager external id>``: every line whose owner reports to that manager, directly or further down,
  on the line's date (`reporting_lines`). First-line managers' teams are the ``teams`` the forecasts use.

Conversion: amount × the newest `fx_rates` rate (from the line's currency to the reporting currency) effective on
or before the line's date, rounded to cents per line. A line with no rate is left out and counted in
`missing_fx` (the demo has a rate for every month).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openspm.core.money import round_money
from openspm.store import models as m

CURRENCY = "USD"


@dataclass
class Bookings:
    """Net bookings per scope and month (Decimal, reporting currency), with the scopes' display names."""

    currency: str
    amounts: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # scope → month → amount
    labels: dict[str, str] = field(default_factory=dict)  # scope → display name
    teams: list[str] = field(default_factory=list)  # first-line managers' team scopes
    regions: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)  # every month with any line, in order
    missing_fx: int = 0

    def series(self, scope: str) -> dict[str, Decimal]:
        """The scope's amount per month over `months` (0 for a month without lines)."""
        found = self.amounts.get(scope, {})
        return {month: found.get(month, Decimal(0)) for month in self.months}

    def total(self, scope: str, months: list[str]) -> Decimal:
        found = self.amounts.get(scope, {})
        return sum((found.get(month, Decimal(0)) for month in months), Decimal(0))


Span = tuple[date, date | None, int, Decimal]  # from, to (exclusive), target id, share


def _on(spans: list[Span], day: date) -> int | None:
    """The target of the largest-share span in effect on `day`."""
    best: tuple[Decimal, int] | None = None
    for start, end, target, share in spans:
        if start <= day and (end is None or day < end) and (best is None or share > best[0]):
            best = (share, target)
    return None if best is None else best[1]


class Rates:
    """Conversion to one currency with the newest `fx_rates` rate on or before a day."""

    def __init__(self, session: Session, currency: str) -> None:
        self.currency = currency
        found: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        rows = session.execute(
            select(m.FxRate.from_currency, m.FxRate.effective_date, m.FxRate.rate).where(
                m.FxRate.to_currency == currency
            )
        )
        for source, day, rate in rows:
            found[source].append((day, rate))
        self.days = {c: [d for d, _ in sorted(v)] for c, v in found.items()}
        self.rates = {c: [r for _, r in sorted(v)] for c, v in found.items()}

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal | None:
        if currency == self.currency:
            return amount
        days = self.days.get(currency)
        if not days:
            return None
        i = bisect.bisect_right(days, day) - 1
        if i < 0:
            return None
        return round_money(amount * self.rates[currency][i])


def load_bookings(
    session: Session, *, start: date | None = None, end: date | None = None, currency: str = CURRENCY
) -> Bookings:
    """Net bookings per scope and month for lines dated in `[start, end)` (all when None); see the module doc."""
    rates = Rates(session, currency)
    payees = {
        pid: (ext, name) for pid, ext, name in session.execute(select(m.Payee.id, m.Payee.external_id, m.Payee.name))
    }
    regions: dict[int, str | None] = {}
    for aid, region in session.execute(select(m.Account.id, m.Account.region)):
        regions[aid] = region
    named: dict[int, list[Span]] = defaultdict(list)
    for acc, payee, start_on, end_on, share in session.execute(
        select(
            m.AccountAssignment.account_id,
            m.AccountAssignment.payee_id,
            m.AccountAssignment.effective_from,
            m.AccountAssignment.effective_to,
            m.AccountAssignment.share,
        ).where(m.AccountAssignment.role == "owner")
    ):
        named[acc].append((start_on, end_on, payee, share))
    in_territory: dict[int, list[Span]] = defaultdict(list)
    for acc, terr, start_on, end_on in session.execute(
        select(
            m.AccountTerritory.account_id,
            m.AccountTerritory.territory_id,
            m.AccountTerritory.effective_from,
            m.AccountTerritory.effective_to,
        )
    ):
        in_territory[acc].append((start_on, end_on, terr, Decimal(1)))
    territory_owner: dict[int, list[Span]] = defaultdict(list)
    for terr, payee, start_on, end_on, share in session.execute(
        select(
            m.TerritoryAssignment.territory_id,
            m.TerritoryAssignment.payee_id,
            m.TerritoryAssignment.effective_from,
            m.TerritoryAssignment.effective_to,
            m.TerritoryAssignment.share,
        ).where(m.TerritoryAssignment.role == "owner")
    ):
        territory_owner[terr].append((start_on, end_on, payee, share))
    manager_of: dict[int, list[Span]] = defaultdict(list)
    for payee, boss, start_on, end_on in session.execute(
        select(
            m.ReportingLine.payee_id,
            m.ReportingLine.manager_id,
            m.ReportingLine.effective_from,
            m.ReportingLine.effective_to,
        )
    ):
        manager_of[payee].append((start_on, end_on, boss, Decimal(1)))

    owner_cache: dict[tuple[int, date], int | None] = {}

    def owner(account: int, day: date) -> int | None:
        key = (account, day)
        if key not in owner_cache:
            found = _on(named.get(account, []), day)
            if found is None:
                terr = _on(in_territory.get(account, []), day)
                found = None if terr is None else _on(territory_owner.get(terr, []), day)
            owner_cache[key] = found
        return owner_cache[key]

    chain_cache: dict[tuple[int, date], list[int]] = {}

    def managers(payee: int, day: date) -> list[int]:
        key = (payee, day)
        if key not in chain_cache:
            chain: list[int] = []
            node: int | None = payee
            while node is not None and len(chain) < 20:
                node = _on(manager_of.get(node, []), day)
                if node is None or node in chain:
                    break
                chain.append(node)
            chain_cache[key] = chain
        return chain_cache[key]

    query = select(
        m.Transaction.date,
        m.Transaction.account_id,
        m.Transaction.amount,
        m.Transaction.currency,
        m.Transaction.owner_id,
    )
    if start is not None:
        query = query.where(m.Transaction.date >= start)
    if end is not None:
        query = query.where(m.Transaction.date < end)
    result = Bookings(currency=currency)
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    first_line: set[int] = set()
    months: set[str] = set()
    for day, account, amount, line_currency, explicit in session.execute(query):
        value = rates.convert(amount, line_currency, day)
        if value is None:
            result.missing_fx += 1
            continue
        month = day.isoformat()[:7]
        months.add(month)
        sums["company"][month] += value
        region = regions.get(account)
        if region:
            sums[f"region:{region}"][month] += value
        who = explicit if explicit is not None else owner(account, day)
        if who is None:
            continue
        sums[f"payee:{payees[who][0]}"][month] += value
        chain = managers(who, day)
        if chain:
            first_line.add(chain[0])
        for boss in chain:
            sums[f"team:{payees[boss][0]}"][month] += value
    result.amounts = {scope: dict(values) for scope, values in sums.items()}
    result.months = sorted(months)
    result.regions = sorted(s for s in result.amounts if s.startswith("region:"))
    result.teams = sorted(f"team:{payees[p][0]}" for p in first_line)
    result.labels = {"company": "Company"}
    for scope in result.regions:
        result.labels[scope] = scope.split(":", 1)[1]
    by_ext = dict(payees.values())
    for scope in result.amounts:
        kind, _, ext = scope.partition(":")
        if kind == "team":
            result.labels[scope] = f"Team {by_ext.get(ext, ext)}"
        elif kind == "payee":
            result.labels[scope] = by_ext.get(ext, ext)
    return result


CACHE_SECONDS = 60.0
_cache: dict[tuple[str, str, tuple[Any, ...]], tuple[float, Bookings]] = {}
_cache_lock = threading.Lock()
_FINGERPRINTED = (
    m.Transaction,
    m.FxRate,
    m.Account,
    m.AccountAssignment,
    m.AccountTerritory,
    m.TerritoryAssignment,
    m.ReportingLine,
    m.Payee,
)


def recent_bookings(session: Session, currency: str = CURRENCY) -> Bookings:
    """`load_bookings` for pages: reused while no row was added to or removed from the tables it reads (their
    counts and newest ids are unchanged) and for at most `CACHE_SECONDS` (an in-place change of a row shows
    within that time). The demo's 100,000 lines take about 1.5 s to read; a reuse is a few milliseconds."""
    parts: list[Any] = []
    for model in _FINGERPRINTED:
        parts.extend(session.execute(select(func.count(), func.max(model.id))).one())
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, currency, tuple(parts))
    now = time.monotonic()
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and now - found[0] < CACHE_SECONDS:
            return found[1]
    bookings = load_bookings(session, currency=currency)
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == url]:
            del _cache[stale]
        _cache[key] = (now, bookings)
    return bookings
