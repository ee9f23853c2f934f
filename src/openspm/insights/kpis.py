"""Analytics: sales KPIs by rep, team, region, product and period, read from the store.

Input: a `Session`, the `Filters` (period, team, region, product, rep, reporting currency, flag thresholds) and the
payees the caller may see (`None`: all; `openspm.access.insights` decides). Output: `Kpis`, headline figures and
named `Table`s (each exportable as CSV), computed by SQL aggregations in an in-process DuckDB over the store rows.

Definitions (every money figure in the reporting currency, rounded half-up to cents when shown):

- **revenue**: transactions (sales, returns and cancellations, net) dated in the period, converted like the engine
  converts (`calc/stages/classify.py`): at the latest FX rate from the transaction currency to the reporting
  currency on or before the transaction date. A line with no rate is left out and counted in `notes`. Without a
  payee scope every transaction counts once (region: the account's; product: the line's). With a payee scope (a
  rep or a team, by filter or by role) a transaction counts by the share of it credited *directly* to payees in the
  scope in the month's run (the close's snapshot, else the newest completed run: `runs.pay.month_run`); months
  without a run credit nobody. Revenue by rep is always this credited revenue. Growth compares the same window a
  year earlier: `revenue / prior − 1`.
- **attainment**: from stored runs, `measure / quota` per payee and measure (`run_measures` ⋈ `quotas`) for the
  attainment period (the period asked, else the smallest period containing it that has quotas), as measured by
  the newest month's run within it: to date while the period is running. A payee's main attainment is that of
  their largest money quota (a quota with a currency), else of their largest quota. The distribution counts main
  attainments in bands `[0, 50%) … [150%, ∞)`.
- **win rate** = won ÷ (won + lost) of opportunities closed in the period; **average deal** = won amount ÷ won;
  **sales cycle** = mean days from created to close of the won ones; **velocity** = opportunities created in the
  period × win rate × average deal ÷ cycle days (money per day).
- **funnel** (there are no lead records): opportunities created in the period by `attributes.lead_source`
  (SDR-sourced ones carry `attributes.sdr`): created → closed → won; conversion = won ÷ created, win rate = won ÷
  closed.
- **pipeline coverage** = open opportunities closing in the next period (same kind) ÷ remaining quota: the money
  quotas of individual contributors (payees nobody reports to in that period) minus what runs measured so far.
- **discount** = 1 − Σ amount ÷ Σ list amount over sale lines that carry a list amount (the product's list price
  × quantity at import).
- **cost of sales** = earnings (`run_earnings` of each month's run, converted at the rate of the month's last day)
  ÷ revenue of the months that have a run (`revenue_run_months`).
- **pay for performance**: per payee, earnings against main attainment; Pearson's r over payees with both.
- **flags**: a product, region or territory is flagged when its revenue growth is below `growth_floor` or in the
  bottom quartile (4 or more with a growth), or (regions, territories) the median attainment of their payees is
  below `attainment_floor`; the reason is given.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.runs.pay import month_run
from openspm.store import models as m
from openspm.store.lookups import payee_id_named, team_below

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
BANDS: tuple[tuple[str, Decimal, Decimal | None], ...] = (
    ("0-50%", Decimal(0), Decimal("0.5")),
    ("50-75%", Decimal("0.5"), Decimal("0.75")),
    ("75-100%", Decimal("0.75"), Decimal(1)),
    ("100-125%", Decimal(1), Decimal("1.25")),
    ("125-150%", Decimal("1.25"), Decimal("1.5")),
    ("150%+", Decimal("1.5"), None),
)
MONEY_SQL = "DECIMAL(38, 12)"
MONEY_ARROW = pa.decimal128(38, 12)
QUANTUM = Decimal(1).scaleb(-12)


@dataclass(frozen=True)
class Filters:
    period: str | None = None  # a month, quarter or year; default: the year of the newest run (or today's)
    team: str | None = None  # a manager's payee id: them and everyone below them in the period
    region: str | None = None  # the account's region (transactions, opportunities), the payee's (payee tables)
    product: str | None = None  # a product id or family (transactions only)
    rep: str | None = None  # one payee id
    currency: str | None = None  # reporting currency; default: the first plan's, else USD
    growth_floor: Decimal = Decimal("-0.10")
    attainment_floor: Decimal = Decimal("0.80")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | money | percent | int | number | date


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip((c.name for c in self.columns), row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Window:
    name: str
    kind: str
    start: date
    end: date  # exclusive


@dataclass
class Kpis:
    period: Window
    prior: Window
    next: Window | None
    attainment_period: str | None
    measured_through: str | None  # the month whose run measured attainment
    currency: str
    filters: Filters
    headline: dict[str, Any]
    tables: dict[str, Table]
    notes: list[str]
    choices: dict[str, list[tuple[str, str]]]  # filter → (value, label) for the pickers

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raise NotFound(f"unknown table {name!r}; tables: {', '.join(self.tables)}")
        return self.tables[name]


# --- small helpers ------------------------------------------------------------------------------------------


def cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def ratio(top: Decimal | int | None, bottom: Decimal | int | None) -> Decimal | None:
    """top ÷ bottom to 4 places (a fraction), None when either is missing or the bottom is 0."""
    if top is None or bottom is None or bottom == 0:
        return None
    return (Decimal(top) / Decimal(bottom)).quantize(RATIO, ROUND_HALF_UP)


def growth(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    if now is None or before is None or before <= 0:
        return None
    return (now / before - 1).quantize(RATIO, ROUND_HALF_UP)


def pearson(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Pearson's correlation of (x, y) pairs; None with fewer than 3 pairs or no spread."""
    if len(pairs) < 3:
        return None
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _fetch(session: Session, statement: Any) -> list[tuple[Any, ...]]:
    """All rows of `statement` as the driver returns them, straight from the DBAPI cursor: no SQLAlchemy row
    objects and no result type processing (SQLite dates stay ISO text, JSON stays text; `_arrow` parses them in
    bulk). Only for columns whose raw driver values `_arrow` accepts: text, integers, dates, exact text."""
    result = session.connection().execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _arrow(rows: Iterable[Sequence[Any]], names: Sequence[str], types: Sequence[pa.DataType]) -> pa.Table:
    """Rows as an Arrow table, one list per column. Money columns (`MONEY_ARROW`) arrive as exact text or Decimal
    and are parsed by Arrow (DuckDB's own text-to-DECIMAL(38, 12) cast is far slower); more than 12 decimal
    places are rounded half-up to 12, like the engine's `money`. Date columns arrive as dates or ISO text."""
    data = rows.all() if hasattr(rows, "all") else list(rows)  # a result fetched at once, not row by row
    # one list per column by index: far faster than transposing with zip(*data) on 100,000s of rows
    columns: list[list[Any]] = [[row[n] for row in data] for n in range(len(names))]
    arrays = []
    for values, kind in zip(columns, types, strict=True):
        if kind == MONEY_ARROW:
            arrays.append(_money_array(values))
            continue
        if kind == pa.date32() and any(isinstance(v, str) for v in values[:1000]):
            arrays.append(pa.array(values, type=pa.string()).cast(pa.date32()))
            continue
        if kind == pa.string() and any(v is not None and not isinstance(v, str) for v in values[:1000]):
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=kind))
    return pa.table(dict(zip(names, arrays, strict=True)))


def _money_array(values: list[Any]) -> pa.Array:
    try:
        text = pa.array(values, type=pa.string())  # exact text, as `_exact` reads it: no per-value Python work
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # Decimal (or other) values
        text = pa.array([v if v is None or isinstance(v, str) else format(v, "f") for v in values], pa.string())
    try:
        return text.cast(MONEY_ARROW)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        exact = [
            None
            if v is None
            else Decimal(format(v, "f") if not isinstance(v, str) else v).quantize(QUANTUM, ROUND_HALF_UP)
            for v in values
        ]
        return pa.array(exact, type=MONEY_ARROW)


# --- periods ------------------------------------------------------------------------------------------------


def calendar_windows(session: Session) -> list[Window]:
    p = m.Period
    return [
        Window(name, kind, start, end)
        for name, kind, start, end in session.execute(
            select(p.name, p.kind, p.start_date, p.end_date).order_by(p.start_date, p.end_date.desc())
        ).tuples()
    ]


def default_period(session: Session, periods: list[Window]) -> str:
    """The year of the newest month with a completed run; else the newest year that has begun; else any."""
    years = [w for w in periods if w.kind == "year"]
    if not years:
        raise NotFound("the calendar has no periods yet; create one with `openspm calendar create`")
    newest = session.scalar(
        select(m.Period.start_date)
        .join(m.Run, m.Run.period == m.Period.name)
        .where(m.Run.status == "completed")
        .order_by(m.Period.start_date.desc())
        .limit(1)
    )
    day = newest or utc_now().date()
    for year in years:
        if year.start <= day < year.end:
            return year.name
    begun = [y for y in years if y.start <= day]
    return (begun or years)[-1].name


def _window(periods: list[Window], name: str) -> Window:
    found = next((w for w in periods if w.name == name), None)
    if found is None:
        raise NotFound(f"unknown period {name!r}")
    return found


def _prior(periods: list[Window], w: Window) -> Window:
    start, end = _year_earlier(w.start), _year_earlier(w.end)
    found = next((p for p in periods if p.kind == w.kind and p.start == start and p.end == end), None)
    return found or Window(f"{start.isoformat()}..{end.isoformat()}", w.kind, start, end)


def _next(periods: list[Window], w: Window) -> Window | None:
    return next((p for p in periods if p.kind == w.kind and p.start == w.end), None)


# --- loading the store into DuckDB --------------------------------------------------------------------------


def reporting_currency(session: Session, asked: str | None) -> str:
    if asked:
        code = asked.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise InvalidInput(f"currency {asked!r} is not an ISO 4217 code")
        return code
    first = session.scalar(select(m.Plan.currency).order_by(m.Plan.id).limit(1))
    return first or "USD"


def _exact(column: Any) -> Any:
    """An exact decimal column read as its text (NUMERIC on PostgreSQL, canonical text on SQLite)."""
    return cast(column, String)


class _Store:
    """The store rows the KPIs need, as DuckDB tables (money as DECIMAL(38, 12), loaded from exact text)."""

    def __init__(self, session: Session, currency: str, start: date, end: date) -> None:
        self.db = duckdb.connect()
        self.db.execute("SET enable_progress_bar = false")
        # The tables are small (10^5 rows): one thread beats several (measured, on the full demo).
        self.db.execute("SET threads = 1")
        self.currency = currency
        s = pa.string()
        d = pa.date32()
        i = pa.int64()
        fx = m.FxRate
        self._add(
            "fx_raw",
            _fetch(
                session,
                select(fx.from_currency, fx.effective_date, _exact(fx.rate)).where(fx.to_currency == currency),
            ),
            ["from_currency", "effective_date", "rate"],
            [s, d, MONEY_ARROW],
        )
        self.db.execute(
            f"""CREATE TABLE fx AS SELECT from_currency, effective_date, CAST(rate AS {MONEY_SQL}) AS rate,
                coalesce(lead(effective_date) OVER (PARTITION BY from_currency ORDER BY effective_date),
                         DATE '9999-12-31') AS valid_to
                FROM fx_raw"""  # noqa: S608 - fixed names, calendar dates
        )
        # The transactions with ids only (no joins in the store); accounts and products are joined in DuckDB.
        t, a, p = m.Transaction, m.Account, m.Product
        self._add(
            "tx_raw",
            _fetch(
                session,
                select(
                    t.external_id,
                    t.date,
                    t.type,
                    _exact(t.amount),
                    _exact(t.list_amount),
                    t.currency,
                    t.account_id,
                    t.product_id,
                ).where(t.date >= start, t.date < end),
            ),
            ["tx", "date", "type", "amount", "list_amount", "currency", "account_id", "product_id"],
            [s, d, s, MONEY_ARROW, MONEY_ARROW, s, i, i],
        )
        self._add("account_raw", _fetch(session, select(a.id, a.region)), ["id", "region"], [i, s])
        self._add(
            "product_raw",
            _fetch(session, select(p.id, p.external_id, p.family)),
            ["id", "product", "family"],
            [i, s, s],
        )
        self.db.execute(
            f"""CREATE TABLE tx AS SELECT t.tx, t.date, t.type, t.account_id, a.region, p.product, p.family,
                {self.convert("t.amount", "t.currency", "fx.rate")} AS amount,
                {self.convert("t.list_amount", "t.currency", "fx.rate")} AS list_amount,
                t.currency = '{currency}' OR fx.rate IS NOT NULL AS converted
                FROM tx_raw t JOIN account_raw a ON a.id = t.account_id JOIN product_raw p ON p.id = t.product_id
                LEFT JOIN fx ON fx.from_currency = t.currency
                  AND fx.effective_date <= t.date AND t.date < fx.valid_to"""  # noqa: S608 - fixed names, calendar dates
        )
        self.unconverted = self._one("SELECT count(*) FROM tx WHERE NOT converted")
        self.db.execute("DELETE FROM tx WHERE NOT converted")

    def convert(self, amount: str, currency: str, rate: str) -> str:
        """SQL: an amount in the reporting currency (the engine's `mul`: exact, half-up at 12 places)."""
        value = f"CAST({amount} AS {MONEY_SQL})"
        product = f"CAST(CAST({amount} AS DECIMAL(24, 12)) * CAST({rate} AS DECIMAL(24, 12)) AS {MONEY_SQL})"
        return f"CASE WHEN {currency} = '{self.currency}' THEN {value} ELSE {product} END"

    def _add(self, name: str, rows: Iterable[Sequence[Any]], names: list[str], types: list[pa.DataType]) -> None:
        table = _arrow(rows, names, types)
        self.db.register(f"{name}_arrow", table)
        self.db.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608 - fixed names, calendar dates
        self.db.unregister(f"{name}_arrow")

    def add(self, name: str, rows: Iterable[Sequence[Any]], names: list[str], types: list[pa.DataType]) -> None:
        self._add(name, rows, names, types)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, list(params)).fetchall()

    def _one(self, sql: str) -> Any:
        row = self.db.execute(sql).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.db.close()


# --- the KPIs -----------------------------------------------------------------------------------------------


def _in_effect(model: Any, start: date, end: date) -> Any:
    return (model.effective_from < end) & or_(model.effective_to.is_(None), model.effective_to > start)


def _month_runs(session: Session, periods: list[Window], start: date, end: date) -> dict[str, int]:
    """month → the id of the run its figures come from (the close in force, else the newest completed run)."""
    found: dict[str, int] = {}
    for w in periods:
        if w.kind == "month" and start <= w.start < end:
            run = month_run(session, w.name)
            if run is not None:
                found[w.name] = run.id
    return found


def compute(session: Session, filters: Filters, visible: set[int] | None) -> Kpis:
    """The KPIs for `filters` over the payees in `visible` (None: all); see the module docstring."""
    periods = calendar_windows(session)
    window = _window(periods, filters.period or default_period(session, periods))
    prior = _prior(periods, window)
    following = _next(periods, window)
    currency = reporting_currency(session, filters.currency)
    notes: list[str] = []

    scope: set[int] | None = None if visible is None else set(visible)
    if filters.team:
        team = team_below(session, payee_id_named(session, filters.team), window.start, window.end)
        scope = team if scope is None else scope & team
    if filters.rep:
        rep = {payee_id_named(session, filters.rep)}
        scope = rep if scope is None else scope & rep

    payees = {
        pid: (ext, name, region, role)
        for pid, ext, name, region, role in session.execute(
            select(m.Payee.id, m.Payee.external_id, m.Payee.name, m.Payee.region, m.Payee.role)
        ).tuples()
    }
    last_day = window.end - timedelta(days=1)
    manager_of = dict(
        session.execute(
            select(m.ReportingLine.payee_id, m.ReportingLine.manager_id)
            .where(_in_effect(m.ReportingLine, last_day, window.end))
            .order_by(m.ReportingLine.effective_from)
        )
        .tuples()
        .all()
    )
    in_scope = [
        pid
        for pid in payees
        if (scope is None or pid in scope) and (not filters.region or payees[pid][2] == filters.region)
    ]

    store = _Store(session, currency, prior.start, window.end)
    try:
        if store.unconverted:
            notes.append(f"{store.unconverted} transactions have no FX rate to {currency} and are left out")
        runs = _month_runs(session, periods, prior.start, window.end)
        months_in = [w.name for w in periods if w.kind == "month" and window.start <= w.start < window.end]
        missing = [mo for mo in months_in if mo not in runs]
        if missing:
            notes.append(
                f"{len(missing)} of {len(months_in)} months have no completed run ({missing[0]}"
                f"{' …' if len(missing) > 1 else ''}): revenue by rep, attainment and earnings cover run months only"
            )
        _load_credits(session, store, runs, payees)
        _load_lines(store, scope, filters)
        tables: dict[str, Table] = {}
        headline: dict[str, Any] = {}
        _revenue_tables(store, window, prior, tables, headline)
        attainment_period, measured, main, elapsed = _attainment(
            session, store, periods, window, runs, in_scope, payees
        )
        headline["attainment_elapsed"] = elapsed
        earnings = _earnings(session, store, periods, runs, window, in_scope, payees)
        _opportunity_kpis(session, store, window, scope, filters, tables, headline)
        _rep_table(store, window, in_scope, payees, manager_of, main, earnings, tables)
        _team_table(tables["by_rep"], payees, manager_of, main, tables)
        _attainment_tables(main, earnings, payees, tables, headline)
        _coverage(session, store, periods, following, scope, filters, headline, notes)
        _territories(session, store, window, prior, main, tables)
        total_earned = sum((e for e in earnings.values()), Decimal(0))
        headline["earnings"] = cents(total_earned)
        run_months = [
            w for w in periods if w.kind == "month" and w.name in runs and window.start <= w.start < window.end
        ]
        revenue = _revenue_in(store, run_months)
        headline["revenue_run_months"] = cents(revenue)
        headline["cost_of_sales"] = ratio(total_earned, revenue) if revenue and revenue > 0 else None
        tables["flags"] = _flags(tables, filters, prior, elapsed)
    finally:
        store.close()

    choices = _choices(session, periods, payees, visible)
    return Kpis(
        window,
        prior,
        following,
        attainment_period,
        measured,
        currency,
        filters,
        headline,
        tables,
        notes,
        choices,
    )


def _load_credits(session: Session, store: _Store, runs: dict[str, int], payees: dict[int, Any]) -> None:
    """Direct credits of each month's run: (transaction, payee id, share), one row per transaction × payee."""
    c = m.RunCredit
    rows = _fetch(
        session,
        select(c.transaction, c.payee, _exact(c.share)).where(
            c.run_id.in_(list(runs.values()) or [-1]), c.role_class == "direct"
        ),
    )
    store.add("credit_rows", rows, ["tx", "payee", "share"], [pa.string(), pa.string(), MONEY_ARROW])
    store.add(
        "payee_ids",
        ((pid, ext) for pid, (ext, *_rest) in payees.items()),
        ["payee_id", "payee"],
        [pa.int64(), pa.string()],
    )
    # one row per transaction × known payee (several plans may credit the same line)
    store.db.execute(
        """CREATE TABLE credits AS SELECT c.tx, p.payee_id, max(c.share) AS share
           FROM credit_rows c JOIN payee_ids p ON p.payee = c.payee GROUP BY ALL"""
    )


def _load_lines(store: _Store, scope: set[int] | None, filters: Filters) -> None:
    """`lines`: the transactions that count, with their weight (1, or the share credited to the scope)."""
    where = []
    params: list[Any] = []
    if filters.region:
        where.append("t.region = ?")
        params.append(filters.region)
    if filters.product:
        where.append("(t.product = ? OR t.family = ?)")
        params += [filters.product, filters.product]
    condition = " AND ".join(where) or "TRUE"
    if scope is None:  # every line once; unfiltered, a view (no copy of `tx`; a view takes no parameters)
        store.db.execute(
            f"""CREATE {"TABLE" if params else "VIEW"} lines AS SELECT t.*, CAST(1 AS {MONEY_SQL}) AS weight,
                t.amount AS w_amount, t.list_amount AS w_list FROM tx t WHERE {condition}""",  # noqa: S608
            params,
        )
        return
    store.add("scope", ((pid,) for pid in sorted(scope)), ["payee_id"], [pa.int64()])
    # Returns and cancellations are credited under their own ids to the original's payees, so they net out.
    store.db.execute(
        f"""CREATE TABLE lines AS
            SELECT t.*, w.weight, {_product("t.amount", "w.weight")} AS w_amount,
              {_product("t.list_amount", "w.weight")} AS w_list FROM tx t JOIN (
              SELECT c.tx, CAST(sum(CAST(c.share AS {MONEY_SQL})) AS {MONEY_SQL}) AS weight
              FROM credits c JOIN scope s ON s.payee_id = c.payee_id GROUP BY c.tx
            ) w ON w.tx = t.tx WHERE {condition}""",  # noqa: S608 - fixed names, calendar dates
        params,
    )


def _revenue_in(store: _Store, months: list[Window]) -> Decimal | None:
    """Revenue of the lines dated in `months` (cost of sales compares earnings with the months that have them)."""
    if not months:
        return None
    ranges = " OR ".join(
        f"(date >= DATE '{w.start.isoformat()}' AND date < DATE '{w.end.isoformat()}')" for w in months
    )
    found: Decimal | None = store.query(f"SELECT sum({_weighted('amount')}) FROM lines WHERE {ranges}")[0][0]  # noqa: S608
    return found if found is not None else Decimal(0)


def _product(a: str, b: str) -> str:
    """SQL: a × b exact, half-up at 12 places (the engine's `mul`). A factor of exactly 1 (most credit shares)
    gives `a` itself without the costly 128-bit multiply and rounding; the value is the same."""
    exact = f"CAST(CAST({a} AS DECIMAL(24, 12)) * CAST({b} AS DECIMAL(24, 12)) AS {MONEY_SQL})"
    return f"CASE WHEN {b} = 1 THEN CAST({a} AS {MONEY_SQL}) ELSE {exact} END"


def _weighted(column: str) -> str:
    """The line's amount (`amount`) or list amount (`list_amount`) times its weight, computed once in `lines`."""
    return {"amount": "w_amount", "list_amount": "w_list", "l.amount": "l.w_amount"}[column]


def _revenue_tables(
    store: _Store, window: Window, prior: Window, tables: dict[str, Table], headline: dict[str, Any]
) -> None:
    now = f"date >= DATE '{window.start.isoformat()}' AND date < DATE '{window.end.isoformat()}'"
    before = f"date >= DATE '{prior.start.isoformat()}' AND date < DATE '{prior.end.isoformat()}'"
    amount, listed = _weighted("amount"), _weighted("list_amount")
    sale_list = f"CASE WHEN type = 'sale' AND list_amount > 0 THEN {listed} END"
    sale_amount = f"CASE WHEN type = 'sale' AND list_amount > 0 THEN {amount} END"
    aggregates = f"""sum(CASE WHEN {now} THEN {amount} END), sum(CASE WHEN {before} THEN {amount} END),
        sum(CASE WHEN {now} THEN {sale_amount} END), sum(CASE WHEN {now} THEN {sale_list} END)"""

    def grouped(key: str) -> list[tuple[Any, ...]]:
        revenue_column = key.count(",") + 2
        return store.query(
            f"SELECT {key}, {aggregates} FROM lines GROUP BY ALL ORDER BY {revenue_column} DESC NULLS LAST, 1"  # noqa: S608
        )

    total = store.query(f"SELECT {aggregates} FROM lines")[0]  # noqa: S608 - fixed names, calendar dates
    headline["revenue"] = cents(total[0] or Decimal(0))
    headline["revenue_prior"] = cents(total[1]) if total[1] is not None else None
    headline["growth"] = growth(total[0], total[1])
    headline["discount"] = _discount(total[2], total[3])

    money_cols = [
        Column("revenue", "money"),
        Column("revenue_prior", "money"),
        Column("growth", "percent"),
        Column("discount", "percent"),
    ]
    product = Table("by_product", "Revenue by product", [Column("product"), Column("family"), *money_cols])
    for prod, family, rev, rev_prior, sold, listed_sum in grouped("product, family"):
        product.rows.append(
            [prod, family, cents(rev), cents(rev_prior), growth(rev, rev_prior), _discount(sold, listed_sum)]
        )
    region = Table("by_region", "Revenue by region (the account's)", [Column("region"), *money_cols])
    for reg, rev, rev_prior, sold, listed_sum in grouped("coalesce(region, '(none)')"):
        region.rows.append([reg, cents(rev), cents(rev_prior), growth(rev, rev_prior), _discount(sold, listed_sum)])
    month = Table(
        "by_month",
        "Revenue by month",
        [Column("month"), Column("revenue", "money"), Column("discount", "percent"), Column("lines", "int")],
    )
    for mo, rev, sold, listed_sum, count in store.query(
        f"""SELECT strftime(date, '%Y-%m'), sum({amount}),
            sum({sale_amount}), sum({sale_list}), count(*) FROM lines WHERE {now} GROUP BY ALL ORDER BY 1"""  # noqa: S608 - fixed names, calendar dates
    ):
        month.rows.append([mo, cents(rev), _discount(sold, listed_sum), count])
    tables.update(by_product=product, by_region=region, by_month=month)


def _discount(sold: Decimal | None, listed: Decimal | None) -> Decimal | None:
    if sold is None or not listed:
        return None
    return (1 - sold / listed).quantize(RATIO, ROUND_HALF_UP)


@dataclass(frozen=True)
class Attained:
    measure: str
    base: Decimal
    quota: Decimal
    attainment: Decimal | None
    money: bool


def _attainment(
    session: Session,
    store: _Store,
    periods: list[Window],
    window: Window,
    runs: dict[str, int],
    in_scope: list[int],
    payees: dict[int, Any],
) -> tuple[str | None, str | None, dict[int, Attained], Decimal | None]:
    """(attainment period, the month measured, payee → main attainment, the share of the attainment period
    elapsed by the end of that month); see the module docstring."""
    containing = sorted(
        (w for w in periods if (w.start <= window.start and window.end <= w.end and w.kind != "month") or w == window),
        key=lambda w: (w.end - w.start, w.start),
    )
    q, per = m.Quota, m.Period
    for candidate in containing:
        quotas = session.execute(
            select(q.payee_id, q.measure, q.amount, q.currency)
            .join(per, per.id == q.period_id)
            .where(per.name == candidate.name, q.payee_id.in_(in_scope or [-1]))
        ).all()
        if quotas:
            break
    else:
        return None, None, {}, None
    measured = [w.name for w in periods if w.kind == "month" and candidate.start <= w.start < window.end]
    measured = [mo for mo in measured if mo in runs]
    values: dict[tuple[str, str], Decimal] = {}
    if measured:
        rm = m.RunMeasure
        for payee, measure, value in session.execute(
            select(rm.payee, rm.measure, func.max(rm.value))
            .where(rm.run_id == runs[measured[-1]], rm.period == candidate.name)
            .group_by(rm.payee, rm.measure)
        ).tuples():
            values[(payee, measure)] = value
    main: dict[int, Attained] = {}
    for payee_id, measure, amount, quota_currency in quotas:
        base = values.get((payees[payee_id][0], measure))
        if base is None:  # no plan measured this for the payee in the period: no attainment to show
            continue
        row = Attained(measure, base, amount, ratio(base, amount), quota_currency is not None)
        kept = main.get(payee_id)
        if kept is None or (row.money, row.quota) > (kept.money, kept.quota):
            main[payee_id] = row
    if not measured:
        return candidate.name, None, {}, None
    through = next(w.end for w in periods if w.name == measured[-1])
    elapsed = ratio((min(through, candidate.end) - candidate.start).days, (candidate.end - candidate.start).days)
    return candidate.name, measured[-1], main, elapsed


def _earnings(
    session: Session,
    store: _Store,
    periods: list[Window],
    runs: dict[str, int],
    window: Window,
    in_scope: list[int],
    payees: dict[int, Any],
) -> dict[int, Decimal]:
    """payee → earnings of the window's months (each month's own run), in the reporting currency."""
    ends = {w.name: w.end - timedelta(days=1) for w in periods if w.kind == "month"}
    e = m.RunEarning
    wanted = {payees[pid][0]: pid for pid in in_scope}
    rows: list[tuple[Any, ...]] = []
    for month, run_id in runs.items():
        if not window.start <= ends[month] < window.end:
            continue
        for payee, ccy, amount in session.execute(
            select(e.payee, e.currency, func.sum(e.amount))
            .where(e.run_id == run_id, e.period == month)
            .group_by(e.payee, e.currency)
        ).tuples():
            if payee in wanted:
                rows.append((wanted[payee], ccy, amount, ends[month]))
    store.add(
        "earned_raw",
        rows,
        ["payee_id", "currency", "amount", "day"],
        [pa.int64(), pa.string(), MONEY_ARROW, pa.date32()],
    )
    result: dict[int, Decimal] = {}
    for pid, amount in store.query(
        f"""SELECT e.payee_id, sum({store.convert("e.amount", "e.currency", "fx.rate")})
            FROM earned_raw e LEFT JOIN fx ON fx.from_currency = e.currency
              AND fx.effective_date <= e.day AND e.day < fx.valid_to
            WHERE e.currency = '{store.currency}' OR fx.rate IS NOT NULL GROUP BY 1"""  # noqa: S608 - fixed names, calendar dates
    ):
        result[pid] = amount
    return result


def _opportunity_rows(session: Session, store: _Store) -> None:
    o, a = m.Opportunity, m.Account
    found = (
        session.execute(
            select(
                o.id,
                o.external_id,
                o.owner_id,
                a.region,
                o.amount,
                o.currency,
                o.close_date,
                o.created_date,
                o.status,
                o.stage,
                o.probability,
                o.attributes,
            ).outerjoin(a, a.id == o.account_id)
        )
        .tuples()
        .all()
    )
    rows = (
        (
            oid,
            ext,
            owner,
            region,
            amount,
            ccy,
            close,
            created,
            status,
            stage,
            probability,
            (attrs or {}).get("lead_source") or "(none)",
            (attrs or {}).get("sdr"),
        )
        for oid, ext, owner, region, amount, ccy, close, created, status, stage, probability, attrs in found
    )
    s, i, d = pa.string(), pa.int64(), pa.date32()
    store.add(
        "opp_raw",
        rows,
        [
            "id",
            "opp",
            "owner_id",
            "region",
            "amount",
            "currency",
            "close_date",
            "created_date",
            "status",
            "stage",
            "probability",
            "lead_source",
            "sdr",
        ],
        [i, s, i, s, MONEY_ARROW, s, d, d, s, s, MONEY_ARROW, s, s],
    )
    store.db.execute(
        f"""CREATE TABLE opps AS SELECT o.* EXCLUDE (amount, probability),
            {store.convert("o.amount", "o.currency", "fx.rate")} AS amount,
            CAST(o.probability AS {MONEY_SQL}) AS probability
            FROM opp_raw o LEFT JOIN fx ON fx.from_currency = o.currency
              AND fx.effective_date <= o.close_date AND o.close_date < fx.valid_to
            WHERE o.currency = '{store.currency}' OR fx.rate IS NOT NULL"""  # noqa: S608 - fixed names, calendar dates
    )


def _opportunity_kpis(
    session: Session,
    store: _Store,
    window: Window,
    scope: set[int] | None,
    filters: Filters,
    tables: dict[str, Table],
    headline: dict[str, Any],
) -> None:
    _opportunity_rows(session, store)
    where = ["TRUE"]
    params: list[Any] = []
    if scope is not None:
        where.append("owner_id IN (SELECT payee_id FROM scope)")
    if filters.region:
        where.append("region = ?")
        params.append(filters.region)
    store.db.execute(f"CREATE TABLE scoped_opps AS SELECT * FROM opps WHERE {' AND '.join(where)}", params)  # noqa: S608 - fixed names, calendar dates
    start, end = f"DATE '{window.start.isoformat()}'", f"DATE '{window.end.isoformat()}'"
    closed_in = f"close_date >= {start} AND close_date < {end} AND status IN ('won', 'lost')"
    won_count, lost_count, won_amount, cycle = store.query(
        f"""SELECT count(*) FILTER (WHERE status = 'won'), count(*) FILTER (WHERE status = 'lost'),
            sum(amount) FILTER (WHERE status = 'won'),
            avg(date_diff('day', created_date, close_date)) FILTER (WHERE status = 'won' AND created_date IS NOT NULL)
            FROM scoped_opps WHERE {closed_in}"""  # noqa: S608 - fixed names, calendar dates
    )[0]
    created = store.query(f"SELECT count(*) FROM scoped_opps WHERE created_date >= {start} AND created_date < {end}")[  # noqa: S608 - fixed names, calendar dates
        0
    ][0]
    win_rate = ratio(won_count, won_count + lost_count)
    avg_deal = cents(won_amount / won_count) if won_count else None
    cycle_days = Decimal(str(cycle)).quantize(Decimal("0.1"), ROUND_HALF_UP) if cycle is not None else None
    velocity = None
    if win_rate is not None and avg_deal is not None and cycle_days:
        velocity = cents(
            Decimal(created) * (won_amount / won_count) * Decimal(won_count) / (won_count + lost_count) / cycle_days
        )
    headline.update(
        won=won_count,
        lost=lost_count,
        win_rate=win_rate,
        won_amount=cents(won_amount),
        average_deal=avg_deal,
        sales_cycle_days=cycle_days,
        opportunities_created=created,
        velocity_per_day=velocity,
    )
    funnel = Table(
        "funnel",
        "Funnel by lead source (opportunities created in the period)",
        [
            Column("lead_source"),
            Column("created", "int"),
            Column("open", "int"),
            Column("closed", "int"),
            Column("won", "int"),
            Column("conversion", "percent"),
            Column("win_rate", "percent"),
            Column("won_amount", "money"),
            Column("average_deal", "money"),
        ],
    )
    for source, n, still_open, closed, won, won_sum in store.query(
        f"""SELECT lead_source, count(*), count(*) FILTER (WHERE status = 'open'),
            count(*) FILTER (WHERE status IN ('won', 'lost')), count(*) FILTER (WHERE status = 'won'),
            sum(amount) FILTER (WHERE status = 'won')
            FROM scoped_opps WHERE created_date >= {start} AND created_date < {end} GROUP BY 1 ORDER BY 2 DESC, 1"""  # noqa: S608 - fixed names, calendar dates
    ):
        funnel.rows.append(
            [
                source,
                n,
                still_open,
                closed,
                won,
                ratio(won, n),
                ratio(won, closed),
                cents(won_sum),
                cents(won_sum / won) if won else None,
            ]
        )
    tables["funnel"] = funnel
    # per owner, for the rep table
    store.db.execute(
        f"""CREATE TABLE opp_by_owner AS SELECT owner_id,
            count(*) FILTER (WHERE status = 'won' AND {closed_in}) AS won,
            count(*) FILTER (WHERE status = 'lost' AND {closed_in}) AS lost,
            sum(amount) FILTER (WHERE status = 'won' AND {closed_in}) AS won_amount,
            avg(date_diff('day', created_date, close_date)) FILTER (WHERE status = 'won' AND {closed_in}) AS cycle
            FROM scoped_opps GROUP BY 1"""  # noqa: S608 - fixed names, calendar dates
    )


def _rep_table(
    store: _Store,
    window: Window,
    in_scope: list[int],
    payees: dict[int, Any],
    manager_of: dict[int, int],
    main: dict[int, Attained],
    earnings: dict[int, Decimal],
    tables: dict[str, Table],
) -> None:
    start, end = f"DATE '{window.start.isoformat()}'", f"DATE '{window.end.isoformat()}'"
    store.add("in_scope", ((pid,) for pid in in_scope), ["payee_id"], [pa.int64()])
    revenue = dict(
        store.query(
            f"""SELECT c.payee_id, sum({_product("t.amount", "c.share")})
                FROM credits c JOIN in_scope s ON s.payee_id = c.payee_id JOIN tx t ON t.tx = c.tx
                WHERE t.date >= {start} AND t.date < {end} AND t.tx IN (SELECT tx FROM lines) GROUP BY 1"""  # noqa: S608 - fixed names, calendar dates
        )
    )
    opps = {row[0]: row[1:] for row in store.query("SELECT * FROM opp_by_owner")}
    table = Table(
        "by_rep",
        "By rep",
        [
            Column("payee"),
            Column("name"),
            Column("role"),
            Column("region"),
            Column("manager"),
            Column("revenue", "money"),
            Column("won", "int"),
            Column("lost", "int"),
            Column("win_rate", "percent"),
            Column("average_deal", "money"),
            Column("cycle_days", "number"),
            Column("measure"),
            Column("measured", "money"),
            Column("quota", "money"),
            Column("attainment", "percent"),
            Column("earnings", "money"),
            Column("cost_of_sales", "percent"),
        ],
    )
    for pid in sorted(in_scope, key=lambda p: payees[p][0]):
        rev = revenue.get(pid)
        won, lost, won_amount, cycle = opps.get(pid, (0, 0, None, None))
        att = main.get(pid)
        earned = earnings.get(pid)
        if rev is None and not won and not lost and att is None and earned is None:
            continue
        ext, name, region, role = payees[pid]
        boss = manager_of.get(pid)
        table.rows.append(
            [
                ext,
                name,
                role,
                region,
                payees[boss][0] if boss in payees else None,
                cents(rev or Decimal(0)),
                won,
                lost,
                ratio(won, won + lost),
                cents(won_amount / won) if won else None,
                Decimal(str(cycle)).quantize(Decimal("0.1"), ROUND_HALF_UP) if cycle is not None else None,
                att.measure if att else None,
                cents(att.base) if att else None,
                cents(att.quota) if att else None,
                att.attainment if att else None,
                cents(earned) if earned is not None else None,
                ratio(earned, rev) if earned is not None and rev and rev > 0 else None,
            ]
        )
    tables["by_rep"] = table


def _team_table(
    reps: Table, payees: dict[int, Any], manager_of: dict[int, int], main: dict[int, Attained], tables: dict[str, Table]
) -> None:
    """Per immediate manager (as of the period's last day): their reports' figures summed."""
    by_ext = {ext: pid for pid, (ext, *_rest) in payees.items()}
    teams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in reps.records():
        if row["manager"]:
            teams[row["manager"]].append(row)
    table = Table(
        "by_team",
        "By team (a manager's direct reports)",
        [
            Column("manager"),
            Column("name"),
            Column("members", "int"),
            Column("revenue", "money"),
            Column("won", "int"),
            Column("win_rate", "percent"),
            Column("measured", "money"),
            Column("quota", "money"),
            Column("attainment", "percent"),
            Column("earnings", "money"),
            Column("cost_of_sales", "percent"),
        ],
    )
    for manager in sorted(teams):
        rows = teams[manager]
        revenue = sum((r["revenue"] or Decimal(0) for r in rows), Decimal(0))
        won = sum(r["won"] for r in rows)
        closed = won + sum(r["lost"] for r in rows)
        money_rows = [main[by_ext[r["payee"]]] for r in rows if by_ext[r["payee"]] in main]
        money_rows = [a for a in money_rows if a.money]
        base = sum((a.base for a in money_rows), Decimal(0))
        quota = sum((a.quota for a in money_rows), Decimal(0))
        earned = sum((r["earnings"] or Decimal(0) for r in rows), Decimal(0))
        table.rows.append(
            [
                manager,
                payees[by_ext[manager]][1] if manager in by_ext else None,
                len(rows),
                cents(revenue),
                won,
                ratio(won, closed),
                cents(base) if money_rows else None,
                cents(quota) if money_rows else None,
                ratio(base, quota) if money_rows else None,
                cents(earned),
                ratio(earned, revenue) if revenue > 0 else None,
            ]
        )
    tables["by_team"] = table


def _attainment_tables(
    main: dict[int, Attained],
    earnings: dict[int, Decimal],
    payees: dict[int, Any],
    tables: dict[str, Table],
    headline: dict[str, Any],
) -> None:
    values = [a.attainment for a in main.values() if a.attainment is not None]
    bands = Table(
        "attainment",
        "Attainment distribution (main quota per payee)",
        [Column("band"), Column("payees", "int"), Column("share", "percent")],
    )
    for label, low, high in BANDS:
        n = sum(1 for v in values if v >= low and (high is None or v < high))
        bands.rows.append([label, n, ratio(n, len(values))])
    headline["attainment_median"] = (
        Decimal(statistics.median(values)).quantize(RATIO, ROUND_HALF_UP) if values else None
    )
    headline["at_or_above_quota"] = ratio(sum(1 for v in values if v >= 1), len(values))
    headline["with_quota"] = len(values)
    scatter = Table(
        "pay_for_performance",
        "Pay for performance (earnings against attainment)",
        [Column("payee"), Column("name"), Column("attainment", "percent"), Column("earnings", "money")],
    )
    pairs: list[tuple[float, float]] = []
    for pid in sorted(main, key=lambda p: payees[p][0]):
        att = main[pid].attainment
        earned = earnings.get(pid)
        if att is None or earned is None:
            continue
        scatter.rows.append([payees[pid][0], payees[pid][1], att, cents(earned)])
        pairs.append((float(att), float(earned)))
    r = pearson(pairs)
    headline["pay_for_performance_r"] = None if r is None else Decimal(str(round(r, 3)))
    tables.update(attainment=bands, pay_for_performance=scatter)


def _coverage(
    session: Session,
    store: _Store,
    periods: list[Window],
    following: Window | None,
    scope: set[int] | None,
    filters: Filters,
    headline: dict[str, Any],
    notes: list[str],
) -> None:
    """Open pipeline closing in the next period ÷ the individual contributors' remaining money quota."""
    headline.update(coverage_period=None, pipeline_next=None, remaining_quota=None, pipeline_coverage=None)
    if following is None:
        return
    start, end = f"DATE '{following.start.isoformat()}'", f"DATE '{following.end.isoformat()}'"
    pipeline, weighted = store.query(
        f"""SELECT sum(amount), sum(CAST(CAST(amount AS DECIMAL(24, 12)) * CAST(coalesce(probability, 0)
            AS DECIMAL(24, 12)) AS {MONEY_SQL}))
            FROM scoped_opps WHERE status = 'open' AND close_date >= {start} AND close_date < {end}"""  # noqa: S608 - fixed names, calendar dates
    )[0]
    headline.update(
        coverage_period=following.name,
        pipeline_next=cents(pipeline or Decimal(0)),
        pipeline_next_weighted=cents(weighted or Decimal(0)),
    )
    managers = set(
        session.scalars(
            select(m.ReportingLine.manager_id).where(_in_effect(m.ReportingLine, following.start, following.end))
        )
    )
    q, per, p = m.Quota, m.Period, m.Payee
    query = (
        select(q.payee_id, p.external_id, q.measure, q.amount, q.currency)
        .join(per, per.id == q.period_id)
        .join(p, p.id == q.payee_id)
        .where(per.name == following.name, q.currency.is_not(None))
    )
    if filters.region:
        query = query.where(p.region == filters.region)
    quotas = [row for row in session.execute(query).tuples() if row[0] not in managers]
    if scope is not None:
        quotas = [row for row in quotas if row[0] in scope]
    if not quotas:
        notes.append(f"pipeline coverage: no money quota for {following.name}")
        return
    months = [w.name for w in periods if w.kind == "month" and following.start <= w.start < following.end]
    measured: dict[tuple[str, str], Decimal] = {}
    runs = [r for r in (month_run(session, mo) for mo in months) if r is not None]
    if runs:
        rm = m.RunMeasure
        for payee, measure, value in session.execute(
            select(rm.payee, rm.measure, func.max(rm.value))
            .where(rm.run_id == runs[-1].id, rm.period == following.name)
            .group_by(rm.payee, rm.measure)
        ).tuples():
            measured[(payee, measure)] = value
    # quotas in another currency convert at the rate of the period's first day
    store.add(
        "quota_raw",
        (
            (amount - measured.get((ext, measure), Decimal(0)), ccy, following.start)
            for _pid, ext, measure, amount, ccy in quotas
        ),
        ["amount", "currency", "day"],
        [MONEY_ARROW, pa.string(), pa.date32()],
    )
    remaining = store.query(
        f"""SELECT sum(greatest({store.convert("q.amount", "q.currency", "fx.rate")}, 0)) FROM quota_raw q
            LEFT JOIN fx ON fx.from_currency = q.currency AND fx.effective_date <= q.day AND q.day < fx.valid_to"""  # noqa: S608 - fixed names, calendar dates
    )[0][0]
    headline["remaining_quota"] = cents(remaining)
    headline["pipeline_coverage"] = ratio(pipeline or Decimal(0), remaining) if remaining else None


def _territories(
    session: Session, store: _Store, window: Window, prior: Window, main: dict[int, Attained], tables: dict[str, Table]
) -> None:
    """Revenue of each territory's accounts (as of the period's last day), now and a year earlier."""
    last = window.end - timedelta(days=1)
    at, t = m.AccountTerritory, m.Territory
    rows = session.execute(
        select(at.account_id, t.external_id, t.name, t.region)
        .join(t, t.id == at.territory_id)
        .where(_in_effect(at, last, window.end))
    ).tuples()
    store.add(
        "account_territory",
        rows,
        ["account_id", "territory", "name", "region"],
        [pa.int64(), pa.string(), pa.string(), pa.string()],
    )
    assigned: dict[str, list[int]] = defaultdict(list)
    ta = m.TerritoryAssignment
    for territory, payee_id in session.execute(
        select(t.external_id, ta.payee_id).join(t, t.id == ta.territory_id).where(_in_effect(ta, last, window.end))
    ).tuples():
        assigned[territory].append(payee_id)
    now = f"l.date >= DATE '{window.start.isoformat()}' AND l.date < DATE '{window.end.isoformat()}'"
    before = f"l.date >= DATE '{prior.start.isoformat()}' AND l.date < DATE '{prior.end.isoformat()}'"
    amount = _weighted("l.amount")
    table = Table(
        "by_territory",
        "Revenue by territory (the account's territory on the period's last day)",
        [
            Column("territory"),
            Column("name"),
            Column("region"),
            Column("revenue", "money"),
            Column("revenue_prior", "money"),
            Column("growth", "percent"),
            Column("attainment_median", "percent"),
        ],
    )
    for territory, name, region, rev, rev_prior in store.query(
        f"""SELECT a.territory, a.name, a.region, sum(CASE WHEN {now} THEN {amount} END),
            sum(CASE WHEN {before} THEN {amount} END)
            FROM lines l JOIN account_territory a ON a.account_id = l.account_id GROUP BY ALL ORDER BY 1"""  # noqa: S608 - fixed names, calendar dates
    ):
        atts = [a for a in (main[p].attainment for p in assigned.get(territory, []) if p in main) if a is not None]
        median = Decimal(statistics.median(atts)).quantize(RATIO, ROUND_HALF_UP) if atts else None
        table.rows.append([territory, name, region, cents(rev), cents(rev_prior), growth(rev, rev_prior), median])
    tables["by_territory"] = table


def _flags(tables: dict[str, Table], filters: Filters, prior: Window, elapsed: Decimal | None) -> Table:
    """Underperformers (see the module docstring). Attainment to date is judged against the pace: the median
    ÷ the share of the attainment period elapsed must reach `attainment_floor`."""
    flags = Table("flags", "Underperformers", [Column("kind"), Column("name"), Column("reason")])

    def check(kind: str, table: Table, key: str, medians: dict[str, Decimal | None] | None = None) -> None:
        records = table.records()
        growths = sorted(r["growth"] for r in records if r["growth"] is not None)
        quartile = statistics.quantiles([float(g) for g in growths], n=4)[0] if len(growths) >= 4 else None
        for r in records:
            reasons = []
            g = r["growth"]
            if g is not None and g < filters.growth_floor:
                reasons.append(f"revenue {_pct(g)} vs {prior.name} (below {_pct(filters.growth_floor)})")
            elif g is not None and quartile is not None and float(g) <= quartile:
                reasons.append(f"revenue {_pct(g)} vs {prior.name}: bottom quartile (≤ {_pct(Decimal(str(quartile)))})")
            median = (medians or {}).get(r[key])
            if median is not None and elapsed:
                pace = median / elapsed
                if pace < filters.attainment_floor:
                    paced = "" if elapsed == 1 else f" to date, {_pct(pace)} of pace"
                    reasons.append(f"median attainment {_pct(median)}{paced} (below {_pct(filters.attainment_floor)})")
            if reasons:
                flags.rows.append([kind, r[key], "; ".join(reasons)])

    check("product", tables["by_product"], "product")
    region_medians = _medians_by(tables["by_rep"], "region")
    check("region", tables["by_region"], "region", region_medians)
    territory_medians = {r["territory"]: r["attainment_median"] for r in tables["by_territory"].records()}
    check("territory", tables["by_territory"], "territory", territory_medians)
    return flags


def _medians_by(reps: Table, key: str) -> dict[str, Decimal | None]:
    grouped: dict[str, list[Decimal]] = defaultdict(list)
    for r in reps.records():
        if r["attainment"] is not None and r[key]:
            grouped[r[key]].append(r["attainment"])
    return {k: Decimal(statistics.median(v)).quantize(RATIO, ROUND_HALF_UP) for k, v in grouped.items()}


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def _choices(
    session: Session, periods: list[Window], payees: dict[int, Any], visible: set[int] | None
) -> dict[str, list[tuple[str, str]]]:
    shown = [pid for pid in payees if visible is None or pid in visible]
    managers = set(session.scalars(select(m.ReportingLine.manager_id).distinct()))
    regions = sorted(
        {r for r in session.scalars(select(m.Account.region).distinct()) if r}
        | {payees[p][2] for p in shown if payees[p][2]}
    )
    families = sorted(set(session.scalars(select(m.Product.family).distinct())))
    products = list(session.execute(select(m.Product.external_id, m.Product.name).order_by(m.Product.external_id)))
    return {
        "period": [(w.name, w.name) for w in periods],
        "team": sorted((payees[p][0], f"{payees[p][1]} ({payees[p][0]})") for p in shown if p in managers),
        "region": [(r, r) for r in regions],
        "product": [(f, f"{f} (family)") for f in families] + [(pid, f"{name} ({pid})") for pid, name in products],
        "rep": sorted((payees[p][0], f"{payees[p][1]} ({payees[p][0]})") for p in shown),
    }


def table_csv(table: Table) -> str:
    """A table as CSV text: a header of column names, amounts and fractions as exact decimal text, '' for none."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    return out.getvalue()


def plain(value: Any) -> Any:
    """A value for JSON: Decimal and dates as text, the rest as they are."""
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def as_json(k: Kpis) -> dict[str, Any]:
    """The KPIs as JSON: period, prior and next period, headline, notes and every table as records."""
    return {
        "period": k.period.name,
        "start": k.period.start.isoformat(),
        "end": k.period.end.isoformat(),
        "prior": k.prior.name,
        "next": k.next.name if k.next else None,
        "currency": k.currency,
        "attainment_period": k.attainment_period,
        "measured_through": k.measured_through,
        "filters": {
            key: plain(getattr(k.filters, key))
            for key in ("team", "region", "product", "rep", "growth_floor", "attainment_floor")
        },
        "headline": {key: plain(value) for key, value in k.headline.items()},
        "notes": k.notes,
        "tables": {
            name: [{key: plain(value) for key, value in row.items()} for row in table.records()]
            for name, table in k.tables.items()
        },
    }
