"""Runs: compute a payout month from the store and keep the results.

`run_period(engine, "FY2025-M03")` reads the plans in force and the run
window's data from the store, runs the pipeline, and stores credits, measures,
earnings (with trace) and issues under a new run, atomically: the run becomes
`completed` in the same transaction that writes its results, so a failed or
interrupted run leaves every earlier run intact. `explain` and `diff` read runs
back.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openspm.calc import inputs as inp
from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.pipeline import Results, attributes_used, run_pipeline
from openspm.calc.stages.incent import Earning
from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.period import Period, PeriodKind
from openspm.engine import backends
from openspm.engine.duckdb import money
from openspm.plan.expr import ExprError
from openspm.plan.load import PlanError, parse_plan
from openspm.plan.models import PlanDocument
from openspm.runs import pay
from openspm.store import columnar
from openspm.store import models as m
from openspm.store.bulk import Staged, drop_staged, insert_arrow, insert_columns, insert_staged, paused_gc, stage_arrow

Progress = Callable[[str, int, int], None]
OnProgress = Callable[[float, str], None]  # (fraction of the month done, 0 to 1; what is being done)


# --- reading the store -----------------------------------------------------------------------


def calendar_periods(session: Session) -> list[Period]:
    """Every period of the store's calendar (the first calendar when there are several)."""
    calendar = session.scalars(select(m.Calendar).order_by(m.Calendar.id)).first()
    if calendar is None:
        raise NotFound("no calendar in the store; run `openspm calendar create YEAR ...` first")
    rows = session.scalars(select(m.Period).where(m.Period.calendar_id == calendar.id)).all()
    return [Period(p.name, PeriodKind(p.kind), p.start_date, p.end_date, p.fiscal_year) for p in rows]


def plans_in_force(session: Session, start: date, end: date) -> list[PlanInForce]:
    """Every plan version that governs some day of `[start, end)`, parsed and checked.

    Versions of a plan take over from one another on their `effective_from` (the higher version
    number wins when two start the same day); a version also stops at its own `effective_to`.
    """
    query = (
        select(m.Plan.external_id, m.PlanVersion.version, m.PlanVersion.effective_from, m.PlanVersion.effective_to,
               m.PlanVersion.document)
        .join(m.Plan, m.Plan.id == m.PlanVersion.plan_id)
        .order_by(m.Plan.external_id, m.PlanVersion.effective_from, m.PlanVersion.version)
    )  # fmt: skip
    by_plan: dict[str, dict[date, tuple[int, date | None, str | None]]] = {}
    for plan_id, version, effective_from, effective_to, document in session.execute(query):
        by_plan.setdefault(plan_id, {})[effective_from] = (version, effective_to, document)
    chosen: list[PlanInForce] = []
    for plan_id, versions in by_plan.items():
        starts = sorted(versions)
        for i, applies_from in enumerate(starts):
            version, effective_to, document = versions[applies_from]
            next_start = starts[i + 1] if i + 1 < len(starts) else None
            ends = [d for d in (effective_to, next_start) if d is not None]
            applies_to = min(ends) if ends else None
            if applies_from >= end or (applies_to is not None and applies_to <= start):
                continue
            source = f"plan {plan_id} version {version}"
            if not document:
                raise PlanError(source, "", "the version has no plan document")
            chosen.append(PlanInForce(plan_id, version, parse_plan(document, source), applies_from, applies_to))
    return chosen


TRANSACTION_COLUMNS = [name for name, _type in inp.SCHEMAS["transactions"]]


def read_transactions(session: Session, start: date, end: date, attributes: list[str]) -> pa.Table:
    """Transactions dated in [start, end) and the originals they name, as the engine's Arrow table.

    A SQLite file is read columnar through ADBC (`adbc_transactions`); in-memory SQLite, PostgreSQL and
    results the ADBC driver cannot type (a column changing type mid-result) go through the SQLAlchemy driver
    (`driver_transactions`). Both give the same table."""
    return _transactions_read(
        _start_transactions(None, session, start, end, attributes), session, start, end, attributes
    )


def _start_transactions(
    pool: ThreadPoolExecutor | None, session: Session, start: date, end: date, attributes: list[str]
) -> Future[pa.Table] | None:
    """The ADBC read of `read_transactions`, started on `pool` (run here when None); None when the store is not
    a SQLite file (or an attribute name cannot go into a JSON path)."""
    path = columnar.sqlite_file(cast(Engine, session.get_bind()))
    if path is None or not all(_plain_name(a) for a in attributes):
        return None
    if pool is not None:
        return pool.submit(adbc_transactions, path, start, end, attributes)
    done: Future[pa.Table] = Future()
    try:
        done.set_result(adbc_transactions(path, start, end, attributes))
    except columnar.ReadError as exc:
        done.set_exception(exc)
    return done


def _transactions_read(
    pending: Future[pa.Table] | None, session: Session, start: date, end: date, attributes: list[str]
) -> pa.Table:
    """The ADBC read's table, or the driver's when there was none or it failed with a `ReadError`."""
    if pending is not None:
        try:
            return pending.result()
        except columnar.ReadError:
            pass
    return driver_transactions(session, start, end, attributes)


def driver_transactions(session: Session, start: date, end: date, attributes: list[str]) -> pa.Table:
    """`read_transactions` through the database driver, built a column at a time (a million rows in seconds;
    through ORM objects it took half a minute): SQLite hands back money and dates as text, PostgreSQL as
    Decimal and date, and Arrow converts either exactly."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    columns = [*TRANSACTION_COLUMNS, *(["attributes"] if attributes else [])]
    select_list = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in columns)
    base = f"SELECT {select_list} FROM transactions WHERE "  # noqa: S608 - fixed column names
    start_text, end_text = start.isoformat(), end.isoformat()
    result = connection.exec_driver_sql(base + f"date >= {mark} AND date < {mark}", (start_text, end_text))
    batches: list[pa.Table] = []
    while rows := result.fetchmany(READ_BATCH):  # a batch at a time: 10M row tuples at once would take 10 GiB
        batches.append(_transaction_batch(rows, attributes))
    for chunk in list(_missing_originals(batches, 500)):
        marks = ", ".join([mark] * len(chunk))
        rows = list(connection.exec_driver_sql(base + f"id IN ({marks})", tuple(chunk)))
        batches.append(_transaction_batch(rows, attributes))
    return pa.concat_tables(batches) if batches else _transaction_batch([], attributes)


def adbc_transactions(path: str, start: date, end: date, attributes: list[str]) -> pa.Table:
    """`read_transactions` from the SQLite file `path` through ADBC, streamed in record batches.

    The window is read in `READ_PARTS` date ranges at once, each by its own child process (SQLite's scan is
    one core per query), and the parts are joined in date order. Money and dates arrive as their stored text
    and are cast exactly by Arrow; a plan's transaction attributes are picked out of the JSON document by
    SQLite's `json_extract`."""
    base, attribute_paths = _adbc_select(attributes)
    window = base + "date >= ? AND date < ?"
    parts = [[*attribute_paths, a.isoformat(), b.isoformat()] for a, b in date_parts(start, end, READ_PARTS)]
    typed = partial(_typed_batch, attributes=attributes)
    tables = [t for found in columnar.parallel(path, [(window, p) for p in parts], typed) for t in found]
    for chunk in list(_missing_originals(tables, 10_000)):
        query = base + f"id IN ({', '.join('?' * len(chunk))})"
        tables.extend(_typed_batch(b, attributes) for b in columnar.batches(path, query, [*attribute_paths, *chunk]))
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else _transaction_batch([], attributes)


READ_PARTS = max(1, min(4, os.cpu_count() or 1))  # date ranges of a window read at once (one core each)


def date_parts(start: date, end: date, count: int) -> list[tuple[date, date]]:
    """[start, end) cut into `count` consecutive ranges of (nearly) equal days, fewer when it is shorter:
    2025-01-01 to 2026-01-01 in 2 → [2025-01-01, 2025-07-02), [2025-07-02, 2026-01-01)."""
    days = (end - start).days
    count = max(1, min(count, days))
    cuts = [start + timedelta(days=days * i // count) for i in range(count + 1)]
    return list(itertools.pairwise(cuts))


def _plain_name(name: str) -> bool:
    """Whether an attribute name can go into a JSON path as it is."""
    return '"' not in name and "\\" not in name


def _adbc_select(attributes: list[str]) -> tuple[str, list[str]]:
    """The SELECT ... WHERE prefix for the ADBC read, and its JSON path parameters (twice per attribute).

    Nullable text columns come back non-NULL ('' for NULL, never a stored amount; per attribute a NULL
    flag and the text) so the driver types every column as text from its first batch."""
    columns = [f"ifnull({c}, '') AS {c}" if c == "list_amount" else c for c in TRANSACTION_COLUMNS]
    value = "CAST(json_extract(nullif(attributes, ''), ?) AS TEXT)"
    for i in range(len(attributes)):
        columns += [f"{value} IS NULL AS attr_null_{i}", f"ifnull({value}, '') AS attr_text_{i}"]
    paths = [p for a in attributes for p in (f'$."{a}"', f'$."{a}"')]
    return f"SELECT {', '.join(columns)} FROM transactions WHERE ", paths  # noqa: S608 - fixed column names


def _typed_batch(batch: pa.RecordBatch, attributes: list[str]) -> pa.Table:
    """An ADBC record batch of the `_adbc_select` columns as the engine's Arrow table."""
    arrays = {name: _typed(batch.column(name), kind) for name, kind in inp.SCHEMAS["transactions"]}
    for i, name in enumerate(attributes):
        missing = pc.cast(batch.column(f"attr_null_{i}"), pa.bool_())
        arrays[f"attr_{name}"] = pc.if_else(
            missing, pa.scalar(None, pa.string()), _typed(batch.column(f"attr_text_{i}"), pa.string())
        )
    return pa.table(arrays)


def _typed(values: pa.Array, kind: pa.DataType) -> pa.Array:
    """One ADBC column (int64 or text) as `kind`: money and dates cast exactly from their text, '' as NULL."""
    if values.null_count == len(values):
        return pa.nulls(len(values), kind)
    if pa.types.is_string(values.type) and not pa.types.is_string(kind):
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        try:
            return pc.cast(values, kind)
        except pa.ArrowInvalid:  # more than 12 decimal places: round half-up like `money`
            return _arrow(values.to_pylist(), kind)
    return values if values.type == kind else pc.cast(values, kind)


def _missing_originals(tables: list[pa.Table], size: int) -> Iterator[list[int]]:
    """Ids of originals the tables' returns name that are not among the tables' own rows, `size` at a time."""
    if not tables:
        return
    ids = pa.chunked_array([c for t in tables for c in t["id"].chunks], pa.int64())
    originals = pc.unique(
        pc.drop_null(pa.chunked_array([c for t in tables for c in t["original_id"].chunks], pa.int64()))
    )
    present = pc.filter(ids, pc.is_in(ids, value_set=originals))  # hashing the few originals, not every id
    missing = sorted(set(originals.to_pylist()) - set(present.to_pylist()))
    for i in range(0, len(missing), size):
        yield missing[i : i + size]


READ_BATCH = 250_000  # rows per fetch when reading transactions


def _transaction_batch(rows: Sequence[Any], attributes: list[str]) -> pa.Table:
    """Driver rows (the `TRANSACTION_COLUMNS`, then the attributes document) as the engine's Arrow table."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(TRANSACTION_COLUMNS) + 1)]
    arrays = {name: _arrow(values[i], kind) for i, (name, kind) in enumerate(inp.SCHEMAS["transactions"])}
    table = pa.table(arrays)
    if attributes:
        documents = [_json(v) for v in values[len(TRANSACTION_COLUMNS)]]
        for name in attributes:
            table = table.append_column(f"attr_{name}", pa.array([d.get(name) for d in documents], pa.string()))
    return table


def _arrow(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """One column from driver values: text or native, converted exactly (never through float)."""
    if values and any(isinstance(v, str) for v in values) and not pa.types.is_string(kind):
        try:
            return pc.cast(pa.array(values, pa.string()), kind)  # SQLite: '2025-03-01', '1200.50'
        except pa.ArrowInvalid:  # more than 12 decimal places: round half-up like `money`
            values = [None if v is None else Decimal(v) for v in values]
    if pa.types.is_decimal(kind):
        return pa.array([money(v) for v in values], kind)
    return pa.array(values, kind)


def _json(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    found = json.loads(value) if isinstance(value, str) else value
    return found if isinstance(found, dict) else {}


def load_inputs(session: Session, start: date, end: date, attributes: dict[str, list[str]]) -> inp.Inputs:
    """The store's data a run reads: transactions dated in [start, end) and their originals, and the rest whole.

    From a SQLite file the transactions are read by ADBC children while this thread reads the other tables."""
    transaction_attributes = attributes.get("transaction", [])
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = _start_transactions(pool, session, start, end, transaction_attributes)
        tables = _whole_tables(session, attributes)
        tables["transactions"] = _transactions_read(pending, session, start, end, transaction_attributes)
    return inp.Inputs(tables)


def _driver_rows(session: Session, query: Any) -> list[Any]:
    """The rows of a Core select (without parameters) as the driver hands them back: no type processing,
    which Arrow does a column at a time (`_arrow`) in a fraction of the time."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    assert not compiled.params, "a whole-table read takes no parameters"
    cursor = connection.connection.cursor()  # the DBAPI cursor: SQLAlchemy's rows cost as much again
    try:
        cursor.execute(str(compiled))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _whole_tables(session: Session, attributes: dict[str, list[str]]) -> dict[str, Any]:
    """Every input table a run reads whole (all but the transactions), as Arrow."""
    tables: dict[str, Any] = {}

    def whole(name: str, query: Any, columns: list[str], kind: str = "") -> None:
        if kind and not attributes.get(kind):  # no plan reads these attributes: leave the JSON documents unread
            query, kind = query.with_only_columns(*query.selected_columns[: len(columns)]), ""
        rows = _driver_rows(session, query)
        values = list(zip(*rows, strict=True)) if rows else [() for _ in query.selected_columns]
        kinds = dict(inp.SCHEMAS[name])
        arrays = {c: _arrow(values[i], kinds[c]) for i, c in enumerate(columns)}
        if kind:
            documents = [_json(v) for v in values[len(columns)]]
            for attribute in attributes[kind]:
                arrays[f"attr_{attribute}"] = pa.array([d.get(attribute) for d in documents], pa.string())
        tables[name] = pa.table(arrays)

    whole(
        "products",
        select(m.Product.id, m.Product.external_id, m.Product.name, m.Product.family, m.Product.attributes),
        ["id", "external_id", "name", "family"],
        kind="product",
    )
    a = m.Account
    whole(
        "accounts",
        select(a.id, a.external_id, a.name, a.industry, a.size, a.segment, a.country, a.region, a.city, a.attributes),
        ["id", "external_id", "name", "industry", "size", "segment", "country", "region", "city"],
        kind="account",
    )
    p = m.Payee
    whole(
        "payees",
        select(
            p.id,
            p.external_id,
            p.name,
            p.region,
            p.role,
            p.seniority,
            p.hire_date,
            p.termination_date,
            p.pay_currency,
            p.attributes,
        ),
        ["id", "external_id", "name", "region", "role", "seniority", "hire_date", "termination_date", "pay_currency"],
        kind="payee",
    )
    s = m.TransactionSplit
    whole(
        "splits",
        select(s.transaction_id, s.payee_id, s.role, s.share),
        ["transaction_id", "payee_id", "role", "share"],
    )
    aa = m.AccountAssignment
    whole(
        "account_assignments",
        select(aa.account_id, aa.payee_id, aa.role, aa.share, aa.effective_from, aa.effective_to),
        ["account_id", "payee_id", "role", "share", "effective_from", "effective_to"],
    )
    at = m.AccountTerritory
    whole(
        "account_territories",
        select(at.account_id, at.territory_id, at.effective_from, at.effective_to),
        ["account_id", "territory_id", "effective_from", "effective_to"],
    )
    ta = m.TerritoryAssignment
    whole(
        "territory_assignments",
        select(ta.territory_id, ta.payee_id, ta.role, ta.share, ta.effective_from, ta.effective_to),
        ["territory_id", "payee_id", "role", "share", "effective_from", "effective_to"],
    )
    rl = m.ReportingLine
    whole(
        "reporting_lines",
        select(rl.payee_id, rl.manager_id, rl.effective_from, rl.effective_to),
        ["payee_id", "manager_id", "effective_from", "effective_to"],
    )
    fx = m.FxRate
    whole(
        "fx_rates",
        select(fx.from_currency, fx.to_currency, fx.effective_date, fx.rate),
        ["from_currency", "to_currency", "effective_date", "rate"],
    )
    pa_ = m.PlanAssignment
    assignments = (
        session.connection()
        .execute(
            select(
                pa_.payee_id,
                m.Plan.external_id,
                pa_.effective_from,
                pa_.effective_to,
                pa_.target_incentive,
                pa_.parameters,
            ).join(m.Plan, m.Plan.id == pa_.plan_id)
        )
        .all()
    )
    tables["plan_assignments"] = inp.table(
        "plan_assignments",
        {
            "payee_id": [r[0] for r in assignments],
            "plan": [r[1] for r in assignments],
            "effective_from": [r[2] for r in assignments],
            "effective_to": [r[3] for r in assignments],
            "target_incentive": [money(r[4]) for r in assignments],
            "parameters": [json.dumps(r[5]) if r[5] else None for r in assignments],
        },
    )
    q = m.Quota
    whole(
        "quotas",
        select(q.payee_id, q.measure, m.Period.name, q.amount).join(m.Period, m.Period.id == q.period_id),
        ["payee_id", "measure", "period", "amount"],
    )
    return tables


# --- running ------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run did."""

    run_id: int
    period: str
    plans: dict[str, int]
    payees: int
    credits: int
    earnings: int
    total: dict[str, Decimal]  # per currency
    issues: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "period": self.period,
            "plans": self.plans,
            "payees": self.payees,
            "credits": self.credits,
            "earnings": self.earnings,
            "total": {k: str(v) for k, v in self.total.items()},
            "issues": self.issues,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def run_context(session: Session, period_name: str, backend: str | None = None) -> RunContext:
    periods = calendar_periods(session)
    month = next((p for p in periods if p.name == period_name), None)
    if month is None:
        months = sorted((p for p in periods if p.kind is PeriodKind.MONTH), key=lambda p: p.start)
        hint = f"{months[0].name} .. {months[-1].name}" if months else "none"
        raise NotFound(f"unknown period {period_name!r}; the calendar's months are {hint}")
    if month.kind is not PeriodKind.MONTH:
        raise InvalidInput(f"{period_name} is a {month.kind.value}; runs pay a month, e.g. the last month of it")
    plans = plans_in_force(session, month.start, month.end)
    if not plans:
        raise NotFound(f"no plan is in force in {period_name}; add one with `openspm plan add FILE`")
    return RunContext(period=month, periods=periods, plans=plans, con=backends.connect(backend))


def compute(
    session: Session,
    period_name: str,
    payees: list[str] | None = None,
    on_stage: Callable[[str], None] | None = None,
    backend: str | None = None,
    on_progress: OnProgress | None = None,
    adjust: Callable[[inp.Inputs], inp.Inputs] | None = None,
    plans: dict[str, PlanDocument] | None = None,
    on_credits: Callable[[pa.Table], None] | None = None,
) -> tuple[RunContext, Results, dict[str, int]]:
    """Run the pipeline for a month on the store's data (reads only), on `backend` (duckdb, spark; default
    from OPENSPM_ENGINE). `on_progress(fraction, text)` hears each stage as a fraction of the calculation
    (reading the store, then each plan, up to 0.7; paying and storing are the caller's). `adjust` changes the
    inputs read before the pipeline sees them (a what-if: other quotas, say); `plans` (plan id → document) runs a
    candidate document in place of the stored version of that plan in force; nothing is stored either way.
    `on_credits` gets each plan's paid-month credits as they are known (every payee's, even with `payees`)."""
    ctx = run_context(session, period_name, backend)
    if plans:
        ctx.plans = [replace(p, document=plans[p.plan_id]) if p.plan_id in plans else p for p in ctx.plans]
    if on_progress is not None:
        on_stage = _staged(on_stage, on_progress, len(ctx.plans) + 2)
        on_stage("reading the store")
    attributes: dict[str, list[str]] = {}
    for plan in ctx.plans:
        for kind, names in attributes_used(plan.document).items():
            attributes[kind] = sorted(set(attributes.get(kind, [])) | set(names))
    clock = time.perf_counter()
    inputs = load_inputs(session, ctx.year.start, ctx.period.end, attributes)
    if adjust is not None:
        inputs = adjust(inputs)
    reading = time.perf_counter() - clock
    if payees:
        known = set(inputs.get("payees")["external_id"].to_pylist())
        unknown = [p for p in payees if p not in known]
        if unknown:
            raise NotFound(f"unknown payee {unknown[0]!r}")
    if on_stage is not None:
        on_stage("reading the store" if on_progress is None else "read the store")
    results = run_pipeline(ctx, inputs, on_stage, on_credits)
    results.timings = {"store: read inputs": reading, **results.timings}
    if payees:
        wanted = set(payees)
        ids = inputs.get("payees")
        results.payee_ids = sorted(
            i for i, e in zip(ids["id"].to_pylist(), ids["external_id"].to_pylist(), strict=True) if e in wanted
        )
        results.earnings = [e for e in results.earnings if e.payee in wanted]
        if results.credits is not None:
            results.credits = results.credits.filter(pc.is_in(results.credits["payee"], pa.array(sorted(wanted))))
        results.monthly = [x for x in results.monthly if x["payee"] in wanted]
        results.measures = [x for x in results.measures if x["payee"] in wanted]
    counts = {name: inputs.rows(name) for name in inputs.tables}
    return ctx, results, counts


def _staged(on_stage: Callable[[str], None] | None, on_progress: OnProgress, stages: int) -> Callable[[str], None]:
    """An `on_stage` that also reports each stage as a fraction: the i-th of `stages` starts at 0.7 × i / stages."""
    seen = [0]

    def stage(text: str) -> None:
        if on_stage is not None:
            on_stage(text)
        on_progress(round(0.7 * min(seen[0], stages) / stages, 4), text)
        seen[0] += 1

    return stage


def start_run(engine: Engine, period: str, actor: str, payees: list[str] | None, backend: str | None) -> int:
    """Lock the month and add its `running` run; a closed month, or one another run is calculating, refuses
    with one clear line (nothing is written)."""
    with Session(engine) as session, session.begin():
        closed = pay.active_close(session, period)
        if closed is not None:
            raise Conflict(
                f"{period} is closed (snapshot run {closed.run_id}, closed by {closed.closed_by}): its results never "
                "change; a later change to its data is paid as a prior-period adjustment in the next open month"
            )
        lock = session.get(m.PeriodLock, period)
        if lock is not None:
            raise Conflict(
                f"{period} is being calculated by run {lock.run_id} (started {lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC "
                f"by {lock.actor}); wait for it to finish, or if that run died, `openspm period unlock {period}`"
            )
        run = m.Run(
            period=period, actor=actor, payees=payees and {"payees": payees}, engine=backends.engine_name(backend)
        )
        session.add(run)
        session.flush()
        session.add(m.PeriodLock(period=period, run_id=run.id, actor=actor, acquired_at=utc_now()))
        try:
            session.flush()
        except IntegrityError:  # another run took the lock between our read and our write
            raise Conflict(f"{period} is being calculated by another run; wait for it to finish") from None
        return run.id


def release_lock(engine: Engine, period: str) -> None:
    """Remove a month's calculation lock."""
    with Session(engine) as session, session.begin():
        session.execute(delete(m.PeriodLock).where(m.PeriodLock.period == period))


def _mark_calculated(session: Session, period: str, actor: str, run_id: int) -> None:
    """A month with a new completed run is `calculated` (an approval of an earlier run no longer holds)."""
    for row in session.scalars(select(m.Period).where(m.Period.name == period)):
        if row.status != "calculated":
            session.add(
                m.AuditEntry(
                    at=utc_now(), actor=actor, action="update", entity="periods", entity_key=period,
                    before={"status": row.status}, after={"status": "calculated", "run": run_id},
                )
            )  # fmt: skip
            row.status = "calculated"


def run_period(
    engine: Engine,
    period_name: str,
    *,
    actor: str = "cli",
    payees: list[str] | None = None,
    on_stage: Callable[[str], None] | None = None,
    backend: str | None = None,
    on_progress: OnProgress | None = None,
) -> RunSummary:
    """Compute a month and store the results as a new completed run (atomically); `backend` picks the
    calculation engine (duckdb, spark; default from OPENSPM_ENGINE). `on_progress(fraction, text)` hears
    how far the month is (0 to 1) and what is being done; it is told 1.0 when the run is stored."""
    started = time.perf_counter()
    run_id = start_run(engine, period_name, actor, payees, backend)
    staging = CreditStaging(engine, enabled=payees is None)

    def progress(fraction: float, text: str) -> None:
        if on_progress is not None:
            on_progress(fraction, text)

    try:
        with Session(engine) as session:
            ctx, results, counts = compute(
                session, period_name, payees, on_stage, backend, on_progress, on_credits=staging.add
            )
            newest_batch = session.scalar(select(func.max(m.ImportBatch.id)))
            progress(0.7, "pay: payments")
            clock = time.perf_counter()
            payments = pay.payment_rows(
                session,
                ctx,
                results.earnings,
                lambda month: compute(session, month, None, None, backend)[1].earnings,
                payees,
            )
            results.timings["pay: payments"] = time.perf_counter() - clock
        progress(0.85, "store: write results")
        clock = time.perf_counter()
        staged = staging.finish()
        with Session(engine) as session, session.begin():
            _store_results(session, run_id, ctx, results, staged)
            pay.store_payments(session, run_id, payments)
            results.timings["store: write results"] = time.perf_counter() - clock
            run = session.get_one(m.Run, run_id)
            run.status = "completed"
            run.finished_at = utc_now()
            run.plans = {p.plan_id: p.version for p in ctx.plans}
            run.inputs = {**counts, "newest_import_batch": newest_batch, "payments": len(payments)}
            run.timings = {k: round(v, 4) for k, v in results.timings.items()}
            _mark_calculated(session, period_name, actor, run_id)
    except Exception as exc:
        staging.discard()
        with Session(engine) as session, session.begin():
            run = session.get_one(m.Run, run_id)
            run.status = "failed"
            run.finished_at = utc_now()
            run.error = str(exc)
        if isinstance(exc, ExprError):  # a plan expression that cannot be evaluated on this data
            raise InvalidInput(f"run {period_name} failed: {exc}") from None
        raise
    finally:
        release_lock(engine, period_name)
    progress(1.0, f"run {run_id} completed")
    total: dict[str, Decimal] = {}
    for e in results.earnings:
        total[e.currency] = total.get(e.currency, Decimal(0)) + e.amount
    return RunSummary(
        run_id=run_id,
        period=period_name,
        plans={p.plan_id: p.version for p in ctx.plans},
        payees=len({e.payee for e in results.earnings}),
        credits=results.credit_count,
        earnings=len(results.earnings),
        total=total,
        issues=len(ctx.issues),
        seconds=time.perf_counter() - started,
        timings=results.timings,
    )


RUN_CREDITS = cast(Table, m.RunCredit.__table__)
RUN_MEASURES = cast(Table, m.RunMeasure.__table__)
RUN_EARNINGS = cast(Table, m.RunEarning.__table__)
PAYEE_MEASURES = cast(Table, m.PayeeMeasure.__table__)
LIVE_EARNINGS = cast(Table, m.LiveEarning.__table__)


class CreditStaging:
    """Stores each plan's paid-month credits in a staging table while the run goes on (`stage_arrow`, a
    thread and an ADBC child: the write overlaps measure, incent and pay on another core), to be moved in by
    the run's transaction. Only for a whole run on a SQLite file (a run of some payees keeps only theirs)."""

    def __init__(self, engine: Engine, enabled: bool) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=1) if enabled and columnar.sqlite_file(engine) else None
        self.pending: list[Future[Staged | None]] = []

    def add(self, credits: pa.Table) -> None:
        """Start staging one plan's credits."""
        if self.pool is not None and credits.num_rows:
            self.pending.append(self.pool.submit(stage_arrow, self.engine, RUN_CREDITS, credits))

    def finish(self) -> list[Staged] | None:
        """The staged tables, once all are written; None (and nothing left staged) when any was not."""
        if self.pool is None:
            return None
        self.pool.shutdown()
        found = [f.result() for f in self.pending]
        staged = [s for s in found if s is not None]
        if len(staged) < len(found):
            self._drop(staged)
            return None
        return staged

    def discard(self) -> None:
        """Drop whatever was staged (the run failed)."""
        if self.pool is None:
            return
        self.pool.shutdown()
        self._drop([s for f in self.pending if f.exception() is None and (s := f.result()) is not None])

    def _drop(self, staged: list[Staged]) -> None:
        for one in staged:
            drop_staged(self.engine, one)


def _store_results(
    session: Session, run_id: int, ctx: RunContext, results: Results, staged: list[Staged] | None = None
) -> None:
    with paused_gc():  # hundreds of thousands of row objects: spare the cycle collector's rescans
        _write_results(session, run_id, ctx, results, staged)


def _write_results(
    session: Session, run_id: int, ctx: RunContext, results: Results, staged: list[Staged] | None = None
) -> None:
    """The rows of a run: its month's credits (`staged` ahead when the store is a SQLite file), measures,
    earnings, live state and issues."""
    # A run keeps the credits of its own month; earlier months' credits are in their own runs,
    # and each earning's trace lists every credit its measure adds up.
    if staged is not None:
        for one in staged:
            insert_staged(session, one, {"run_id": run_id})
    elif results.credits is not None and results.credits.num_rows:
        insert_arrow(session, RUN_CREDITS, results.credits, {"run_id": run_id})
    if results.measures:
        names = ("plan", "payee", "period", "measure", "value")
        measures = {name: [x[name] for x in results.measures] for name in names}
        insert_columns(session, RUN_MEASURES, {"run_id": [run_id] * len(results.measures), **measures})
    if results.earnings:
        insert_columns(
            session, RUN_EARNINGS, _by_column([earning_row(e) | {"run_id": run_id} for e in results.earnings])
        )
    store_live_state(session, ctx, results, run_id)
    if ctx.issues:
        session.execute(
            insert(m.RunIssue),
            [
                {"run_id": run_id, "stage": i.source, "subject": i.column, "value": i.value, "reason": i.reason}
                for i in ctx.issues
            ],
        )


def earning_row(e: Earning) -> dict[str, Any]:
    """An earning as the columns of `run_earnings` / `live_earnings` (without the run id)."""
    return {
        "plan": e.plan,
        "payee": e.payee,
        "period": e.period,
        "component": e.component,
        "measure_period": e.measure_period,
        "base": e.base,
        "quota": e.quota,
        "attainment": e.attainment,
        "rate": e.rate,
        "amount": e.amount,
        "cut": e.cut,
        "currency": e.currency,
        "trace": e.trace,
    }


def store_live_state(session: Session, ctx: RunContext, results: Results, run_id: int | None) -> None:
    """Replace the live state a computation covers: the monthly measures of its plans and window, and the
    earnings of its month — for every payee, or only for the payees it computed (`results.payee_ids`)."""
    plans = [p.plan_id for p in ctx.plans]
    months = [p.name for p in ctx.months_to_date()]
    pm, le = m.PayeeMeasure, m.LiveEarning
    measures = delete(pm).where(pm.plan.in_(plans), pm.month.in_(months))
    earnings = delete(le).where(le.plan.in_(plans), le.period == ctx.period.name)
    if results.payee_ids is not None:
        measures = measures.where(pm.payee_id.in_(results.payee_ids))
        earnings = earnings.where(le.payee_id.in_(results.payee_ids))
    session.execute(measures)
    session.execute(earnings)
    now = utc_now()
    if results.monthly:
        names = ("plan", "version", "payee_id", "month", "measure", "value", "credits")
        monthly = {name: [x[name] for x in results.monthly] for name in names}
        insert_columns(session, PAYEE_MEASURES, {**monthly, "updated_at": [now] * len(results.monthly)})
    if results.earnings:
        insert_columns(session, LIVE_EARNINGS, _by_column([live_row(e, run_id, now) for e in results.earnings]))


def live_row(e: Earning, run_id: int | None, now: datetime) -> dict[str, Any]:
    """An earning as the columns of `live_earnings`."""
    return earning_row(e) | {
        "version": e.trace["plan_version"],
        "payee_id": e.payee_id,
        "run_id": run_id,
        "updated_at": now,
    }


def _by_column(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Row dicts (all with the same keys) as columns."""
    return {name: [r[name] for r in rows] for name in rows[0]} if rows else {}


def months_with_data(engine: Engine, year: str | None = None) -> list[str]:
    """Months of the calendar from the first to the last with transactions (or every month of `year`)."""
    with Session(engine) as session:
        months = sorted((p for p in calendar_periods(session) if p.kind is PeriodKind.MONTH), key=lambda p: p.start)
        if year is not None:
            found = [p.name for p in months if p.name.startswith(f"{year}-")]
            if not found:
                raise NotFound(f"unknown fiscal year {year!r}; use a name like FY2025")
            return found
        first = session.scalar(select(func.min(m.Transaction.date)))
        last = session.scalar(select(func.max(m.Transaction.date)))
    if first is None or last is None:
        raise NotFound("no transactions in the store; import some first")
    return [p.name for p in months if p.end > first and p.start <= last]


def latest_run(session: Session, period: str) -> m.Run:
    """The newest completed run of a month."""
    run = session.scalars(
        select(m.Run).where(m.Run.period == period, m.Run.status == "completed").order_by(m.Run.id.desc())
    ).first()
    if run is None:
        raise NotFound(f"no completed run for {period}; run `openspm run --period {period}` first")
    return run
