"""Post transactions one by one or in batches: validated like the importer, written, recomputed live.

Pipeline (the importer's own stages, then the incremental engine):

    text_rows → parse_rows → dedupe → resolve_references → check_in_periods → check_closed
      → classify (inserted | updated | unchanged) → LiveEngine.apply (write, audit, recompute)

- Each posted object is turned into the text row a file would hold (`text_rows`), so every value goes
  through `ingest.validate.parse_rows` and `ingest.service.resolve_references` and is refused with the
  importer's words (`amount 'abc': not a number`, `unknown account 'A9'`, ...).
- Idempotent by external id: an object equal to what the store holds is `unchanged` and writes nothing;
  one that differs is `updated` (the audit log keeps before and after); a new id is `inserted`.
- A rejected row never blocks the good ones, unless `atomic` (then nothing is written when any row fails).
- A row dated in a closed month is refused: closed months never change (`CLOSED_HINT` says what to do).
- The written rows go through `runs.live.LiveEngine.apply`, which recomputes the payees they touch in the
  live month (the newest month with a completed run); the answer carries those payees' new live earnings.

A `LiveEngine` is kept per store and rebuilt when a run, an import or a plan version is newer than the one
it was built on. Applies are serialized: one at a time in a process (a lock), and across the processes of
one store (a PostgreSQL advisory lock; on SQLite a lock file beside the database).
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from openspm.core.errors import Conflict, InvalidInput
from openspm.core.issues import Issue
from openspm.ingest import repository as repo
from openspm.ingest.kinds import KINDS
from openspm.ingest.mapping import ATTRIBUTE_PREFIX, bind_columns
from openspm.ingest.service import Lookups, Resolved, check_in_periods, resolve_references
from openspm.ingest.validate import ParsedRow, dedupe, parse_rows
from openspm.runs.live import LiveEngine, TransactionChange
from openspm.store import models as m

MAX_BATCH = 1000
SOURCE = "api"
KIND = KINDS["transactions"]
FIELDS = [f.name for f in KIND.fields]
CLOSED_HINT = (
    "closed months never change: post the correction dated in an open month (it reaches the payees as a "
    "prior-period adjustment when that month runs), or add an adjustment (POST /api/v1/adjustments)"
)
_ADVISORY_KEY = 0x6F70656E73706D  # "openspm": the PostgreSQL advisory lock of live applies


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one posted object (`index`: its place in the posted list, from 0)."""

    index: int
    id: str | None
    status: str  # inserted | updated | unchanged | rejected
    month: str | None = None
    problems: tuple[Issue, ...] = ()
    closed: bool = False  # rejected because its month is closed


@dataclass(frozen=True)
class LiveEarningRow:
    plan: str
    component: str
    measure_period: str
    base: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PayeeLive:
    """A payee the posting touched, with their live earnings of the live month after it."""

    payee: str
    name: str
    period: str
    earned: dict[str, Decimal]  # currency → the month's live earnings
    earnings: list[LiveEarningRow]


@dataclass
class PostResult:
    rows: list[RowOutcome]
    live_month: str | None = None
    payees: list[PayeeLive] = field(default_factory=list)
    written: bool = False
    full_run: bool = False
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def rejected(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == "rejected"]


# --- stages -----------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str | None:
    """The text a file cell would hold for a JSON value (None: not a scalar)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, float):  # exact decimal strings are the rule; a JSON number is read as written
        return repr(value)
    return None


def text_rows(objects: list[Any], issues: list[Issue]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Posted objects → (header, numbered text rows) as an import file would give them.

    Input: the posted objects. Output: the importer's column names (`attr.<name>` for each free attribute)
    and one text row per usable object; an `Issue` for an object that is not a JSON object, names an unknown
    field, or holds a list or object where a value belongs.
    """
    names: list[str] = []
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("attributes"), dict):
            names += [str(k) for k in obj["attributes"] if str(k) not in names]
    header = FIELDS + [f"{ATTRIBUTE_PREFIX}{n}" for n in names]
    rows: list[tuple[int, list[str]]] = []
    known = set(FIELDS) | {"attributes"}
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            issues.append(Issue(SOURCE, index, "", "", "each transaction is a JSON object"))
            continue
        unknown = sorted(set(obj) - known)
        if unknown:
            reason = f"unknown field; the fields are {', '.join(FIELDS)}, and attributes (an object)"
            issues.append(Issue(SOURCE, index, unknown[0], "", reason))
            continue
        attributes = obj.get("attributes") or {}
        if not isinstance(attributes, dict):
            issues.append(Issue(SOURCE, index, "attributes", "", "attributes is an object of names and values"))
            continue
        cells = [_cell(obj.get(name)) for name in FIELDS] + [_cell(attributes.get(n)) for n in names]
        bad = next((i for i, c in enumerate(cells) if c is None), None)
        if bad is not None:
            issues.append(Issue(SOURCE, index, header[bad], "", "must be text, a number or a boolean"))
            continue
        rows.append((index, [c or "" for c in cells]))
    return header, rows


LIMIT = Decimal(10) ** 26  # the engine computes in DECIMAL(38, 12): 26 digits before the point


TEXT_LIMITS = {"id": 128, "order_id": 128, "opportunity": 128}


def _unstorable(row: ParsedRow) -> tuple[str, str, str] | None:
    """(column, value, reason) for the first value the store or the engine cannot hold, else None."""
    for name in ("amount", "quantity", "list_amount"):
        if abs(row.record[name] or 0) >= LIMIT:
            return name, format(row.record[name], "f"), "too large: at most 26 digits before the decimal point"
    for name, longest in TEXT_LIMITS.items():
        if len(row.record[name] or "") > longest:
            return name, row.record[name][:40] + "…", f"too long: at most {longest} characters"
    texts = [(n, v) for n, v in row.record.items() if isinstance(v, str)] + [
        (f"{ATTRIBUTE_PREFIX}{k}", v) for k, v in row.attributes.items()
    ]
    for name, value in texts:
        if "\x00" in value:
            return name, value.replace("\x00", "\\0"), "holds a NUL character"
    return None


def check_storable(rows: list[ParsedRow], issues: list[Issue]) -> list[ParsedRow]:
    """Refuse values the store or the engine cannot hold: amounts and quantities of more than 26 digits before the
    point (the engine computes in DECIMAL(38, 12)), ids and order numbers over 128 characters, NUL characters."""
    kept = []
    for row in rows:
        found = _unstorable(row)
        if found is None:
            kept.append(row)
        else:
            issues.append(Issue(SOURCE, row.row, *found))
    return kept


class BatchLookups(Lookups):
    """The importer's lookups, narrowed to the external ids a batch names (not every row of the store)."""

    def __init__(self, session: Session, wanted: dict[str, set[str]]) -> None:
        super().__init__(session)
        self.wanted = wanted

    def get(self, kind_name: str, by: str) -> dict[str, int]:
        key = (kind_name, by)
        if key not in self._maps:
            model: Any = KINDS[kind_name].model
            keys = sorted(self.wanted.get(kind_name, set()))
            found: dict[str, int] = {}
            for start in range(0, len(keys), 900):
                query = select(model.external_id, model.id).where(model.external_id.in_(keys[start : start + 900]))
                found.update(dict(self.session.execute(query).tuples().all()))
            self._maps[key] = found
        return self._maps[key]


def check_closed(session: Session, rows: list[Resolved], issues: list[Issue]) -> tuple[list[Resolved], set[int]]:
    """Refuse rows dated in a closed month (or one being closed), and changes to a stored transaction dated in one
    (moving it to an open month would change the closed month too). Output: the rows kept, the refused rows."""
    months = session.execute(
        select(m.Period.name, m.Period.start_date, m.Period.end_date, m.Period.status).where(m.Period.kind == "month")
    ).all()
    locked = set(session.scalars(select(m.PeriodLock.period)))
    t = m.Transaction
    ids = [r.values["external_id"] for r in rows]
    stored: dict[str, date] = {}
    for start in range(0, len(ids), 900):
        query = select(t.external_id, t.date).where(t.external_id.in_(ids[start : start + 900]))
        stored.update(dict(session.execute(query).tuples().all()))

    def frozen(day: date) -> str | None:
        month = next((p for p in months if p.start_date <= day < p.end_date), None)
        if month is not None and (month.status == "closed" or month.name in locked):
            return f"{month.name} is {'closed' if month.status == 'closed' else 'being closed'}"
        return None

    kept: list[Resolved] = []
    refused: set[int] = set()
    for r in rows:
        day: date = r.values["date"]
        was = stored.get(r.values["external_id"])
        reason = frozen(day)
        if reason is None and was is not None and (before := frozen(was)) is not None:
            reason = f"it is stored dated {was.isoformat()} and {before}"  # moving it out changes that month
        if reason is not None:
            issues.append(Issue(SOURCE, r.parsed.row, "date", day.isoformat(), f"{reason}: {CLOSED_HINT}"))
            refused.add(r.parsed.row)
        else:
            kept.append(r)
    return kept, refused


def classify(session: Session, rows: list[Resolved]) -> dict[int, tuple[str, dict[str, Any], date | None]]:
    """Each row's fate against the store: (inserted | updated | unchanged, the attributes it will hold, the
    stored date when there is one).

    Compared value by value like the importer (`200` and `200.00` are the same amount); free attributes merge
    (names not posted keep their value)."""
    t = m.Transaction
    ids = [r.values["external_id"] for r in rows]
    stored: dict[str, m.Transaction] = {}
    for start in range(0, len(ids), 900):
        for row in session.scalars(select(t).where(t.external_id.in_(ids[start : start + 900]))):
            stored[row.external_id] = row
    found: dict[int, tuple[str, dict[str, Any], date | None]] = {}
    for r in rows:
        old = stored.get(r.values["external_id"])
        attributes = {**((old.attributes or {}) if old is not None else {}), **r.parsed.attributes}
        if old is None:
            found[r.parsed.row] = ("inserted", attributes, None)
            continue
        same = all(getattr(old, a) == v for a, v in r.values.items() if a not in r.deferred)
        same = same and not r.deferred and attributes == (old.attributes or {})
        found[r.parsed.row] = ("unchanged" if same else "updated", attributes, old.date)
    return found


def _change(r: Resolved, attributes: dict[str, Any]) -> TransactionChange:
    record = r.parsed.record
    return TransactionChange(
        external_id=record["id"],
        date=record["date"],
        account=record["account"],
        product=record["product"],
        amount=record["amount"],
        currency=record["currency"],
        type=record["type"],
        quantity=record["quantity"],
        list_amount=record["list_amount"],
        original=record["original"],
        owner=record["owner"],
        attributes=attributes,
        extra={"order_id": record["order_id"], "opportunity_external_id": record["opportunity"]},
    )


# --- the live engine, kept warm ---------------------------------------------------------------------------------

_ENGINES: dict[str, tuple[tuple[Any, ...], LiveEngine]] = {}
_LOCK = threading.Lock()


def _stamp(session: Session) -> tuple[Any, ...]:
    """What a LiveEngine was built on: the newest completed run (its id and start: a store rebuilt under a running
    server restarts ids), import batch and plan version."""
    return (
        session.scalar(select(func.max(m.Run.id)).where(m.Run.status == "completed")),
        session.scalar(select(func.max(m.Run.started_at)).where(m.Run.status == "completed")),
        session.scalar(select(func.max(m.ImportBatch.id))),
        session.scalar(select(func.max(m.PlanVersion.id))),
    )


def live_month(session: Session) -> str | None:
    """The live month: the latest month (by date, not by run id: re-running an earlier month does not move it)
    with a completed run."""
    return session.scalar(
        select(m.Period.name)
        .join(m.Run, m.Run.period == m.Period.name)
        .where(m.Run.status == "completed", m.Period.kind == "month")
        .order_by(m.Period.start_date.desc())
        .limit(1)
    )


def live_engine(engine: Engine, month: str | None = None) -> LiveEngine:
    """The store's LiveEngine for `month` (default: the live month); Conflict when no month has a completed run.
    Call under `exclusive`."""
    with Session(engine) as session:
        stamp = _stamp(session)
        month = month or live_month(session)
    if month is None:
        raise Conflict(
            "no month has a completed run yet, so there are no live figures to update: run a month first "
            "(`openspm run --period FY2025-M01`); until then load transactions with `openspm import transactions`"
        )
    key = f"{id(engine)}:{engine.url}:{month}"
    cached = _ENGINES.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    built = LiveEngine(engine, month)
    _ENGINES[key] = (stamp, built)
    return built


def _earlier_open_months(session: Session, live: str, written: set[str]) -> list[str]:
    """The months from the earliest written one up to (not including) the live month, in the live month's fiscal
    year, that have a completed run and are not closed: their live earnings follow the measures `apply` moved."""
    months = list(session.scalars(select(m.Period).where(m.Period.kind == "month").order_by(m.Period.start_date)))
    current = next(p for p in months if p.name == live)
    earlier = [p for p in months if p.fiscal_year == current.fiscal_year and p.start_date < current.start_date]
    first = next((i for i, p in enumerate(earlier) if p.name in written), None)
    if first is None:
        return []
    ran = set(session.scalars(select(m.Run.period).where(m.Run.status == "completed").distinct()))
    return [p.name for p in earlier[first:] if p.name in ran and p.status != "closed"]


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """One live apply at a time for a store: in this process, and across the processes serving it."""
    with _LOCK:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
                    conn.commit()
        elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            with Path(f"{engine.url.database}.live-lock").open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            yield


# --- the whole posting ------------------------------------------------------------------------------------------


def post_transactions(engine: Engine, objects: list[Any], actor: str, *, atomic: bool = False) -> PostResult:
    """Validate, write and recompute posted transactions; say what happened to each.

    With `atomic`, nothing is written when any row is rejected (`written` stays False)."""
    started = time.perf_counter()
    if not objects:
        raise InvalidInput("post one transaction (an object) or a list of 1 to 1000")
    if len(objects) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} transactions per request; this one has {len(objects)}")
    issues: list[Issue] = []
    header, rows = text_rows(objects, issues)
    binding = bind_columns(KIND, header, None, SOURCE)
    parsed = check_storable(parse_rows(KIND, binding, iter(rows), SOURCE, Path(), issues), issues)
    kept, _ = dedupe(KIND, parsed, SOURCE, issues)
    first_of = {r.record["id"]: r.row for r in kept}
    kept_ids = {id(p) for p in kept}
    repeats = {p.row: first_of[p.record["id"]] for p in parsed if p.record["id"] in first_of and id(p) not in kept_ids}
    wanted = {
        "accounts": {str(p.record["account"]) for p in kept},
        "products": {str(p.record["product"]) for p in kept},
        "payees": {str(p.record["owner"]) for p in kept if p.record["owner"]},
        "transactions": {str(p.record["original"]) for p in kept if p.record["original"]},
    }
    with Session(engine) as session:
        resolved = resolve_references(KIND, binding, kept, BatchLookups(session, wanted), SOURCE, issues)
        resolved = check_in_periods(KIND, resolved, repo.period_ranges(session), SOURCE, issues)
        resolved, refused = check_closed(session, resolved, issues)
        fate = classify(session, resolved)
        stored_dates = [f[2] for f in fate.values() if f[2] is not None]
        month_of = _months_of(session, [r.values["date"] for r in resolved] + stored_dates)
    by_row: dict[int, list[Issue]] = {}
    for issue in issues:
        by_row.setdefault(issue.row, []).append(issue)
    outcomes: list[RowOutcome] = []
    dates = {r.parsed.row: r.values["date"] for r in resolved}
    for index, obj in enumerate(objects):
        given = obj.get("id") if isinstance(obj, dict) else None
        ident = _cell(given) or None if given is not None else None
        if index in by_row:
            problems = tuple(by_row[index])
            outcomes.append(RowOutcome(index, ident, "rejected", None, problems, index in refused))
        elif index in repeats:  # the same object twice in one batch: written once, by its first occurrence
            outcomes.append(RowOutcome(index, ident, "unchanged", None))
        else:
            outcomes.append(RowOutcome(index, ident, fate[index][0], month_of.get(dates[index])))
    result = PostResult(outcomes)
    if atomic and result.rejected:
        result.rows = [
            o if o.status == "rejected" else RowOutcome(o.index, o.id, "unchanged", o.month) for o in outcomes
        ]
        result.seconds = time.perf_counter() - started
        return result
    to_write = [r for r in resolved if fate[r.parsed.row][0] != "unchanged"]
    if to_write:
        with exclusive(engine):
            live = live_engine(engine)
            touched: set[str] = set()
            waves = [[r for r in to_write if not r.deferred], [r for r in to_write if r.deferred]]
            for wave in waves:
                if wave:
                    update = live.apply([_change(r, fate[r.parsed.row][1]) for r in wave], actor=actor)
                    touched |= set(update.payees)
                    result.full_run = result.full_run or update.full_run
            result.live_month = live.month
            with Session(engine) as session:
                moved = {month_of[r.values["date"]] for r in to_write}
                moved |= {month_of[d] for r in to_write if (d := fate[r.parsed.row][2]) is not None}
                earlier = _earlier_open_months(session, live.month, moved)
            for month in earlier if touched else []:
                refreshed = live_engine(engine, month).refresh(sorted(touched), actor=actor)
                result.full_run = result.full_run or refreshed.full_run
        result.written = True
        result.payees = live_earnings(engine, sorted(touched), result.live_month)
    result.seconds = time.perf_counter() - started
    return result


def _months_of(session: Session, days: list[date]) -> dict[date, str]:
    if not days:
        return {}
    months = session.execute(
        select(m.Period.name, m.Period.start_date, m.Period.end_date).where(
            m.Period.kind == "month", m.Period.start_date <= max(days), m.Period.end_date > min(days)
        )
    ).all()
    return {d: next((p.name for p in months if p.start_date <= d < p.end_date), "") for d in set(days)}


def live_earnings(engine: Engine, payees: list[str], period: str | None) -> list[PayeeLive]:
    """The live earnings of `payees` (external ids) for the month `period`, as stored now."""
    if not payees or period is None:
        return []
    le = m.LiveEarning
    with Session(engine) as session:
        people = session.execute(
            select(m.Payee.id, m.Payee.external_id, m.Payee.name).where(m.Payee.external_id.in_(payees))
        ).all()
        rows = session.scalars(
            select(le)
            .where(le.payee_id.in_([p.id for p in people]), le.period == period)
            .order_by(le.plan, le.component)
        ).all()
        found = []
        for p in sorted(people, key=lambda p: p.external_id):
            mine = [r for r in rows if r.payee_id == p.id]
            earned: dict[str, Decimal] = {}
            for r in mine:
                earned[r.currency] = earned.get(r.currency, Decimal(0)) + r.amount
            found.append(
                PayeeLive(
                    p.external_id,
                    p.name,
                    period,
                    earned,
                    [
                        LiveEarningRow(
                            r.plan, r.component, r.measure_period, r.base, r.quota, r.attainment, r.amount, r.currency
                        )
                        for r in mine
                    ],
                )
            )
        return found


def change_marker(engine: Engine, payee_id: int) -> tuple[int, str]:
    """A cheap marker of a payee's live earnings: it changes whenever a run or a live recompute rewrites them."""
    le = m.LiveEarning
    with engine.connect() as conn:
        count, newest = conn.execute(select(func.count(), func.max(le.updated_at)).where(le.payee_id == payee_id)).one()
    return int(count or 0), str(newest or "")
