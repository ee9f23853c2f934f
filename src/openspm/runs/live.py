"""Incremental recompute: a new, changed or cancelled transaction updates only the payees it touches.

`LiveEngine(engine)` prepares the live month (default: the newest month with a completed run): the run
window's reference data (everything but transactions) on a DuckDB connection, and for each plan version in
force one compiled query that credits a handful of transactions and returns each one's contribution to
each payee's monthly measures (`monthly(..., by=("transaction_id",))`: the same classify → credit → flag
→ aggregate expressions a full run uses). `apply(changes)` then, in one call:

1. contributions of the stored versions of the changed transactions (and of the returns and
   cancellations that refer to them: they are credited like their original);
2. writes the changes to the store (insert or update, audited);
3. contributions of the new versions;
4. adds new − old to `payee_measures` (the per-payee monthly measures every full run writes);
5. re-evaluates the plan's components for the payees touched (owner, split partners, managers up the
   chain, overlays) from `payee_measures`, and replaces their rows in `live_earnings`.

A full run of the month afterwards gives the same measures and earnings (tested on random changes).
Plans with per-transaction rules (lookup rates, per-deal caps, per-transaction tiers, discount
adjustments) need every credit of a payee, not sums: for those the touched payees are recomputed by a run
of the month restricted to them (`run_period(payees=...)`), which is correct but not fast. Changes to
reference data (territories, assignments, quotas, FX) are not incremental: run the month.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from openspm.calc import inputs as inp
from openspm.calc.context import PlanInForce
from openspm.calc.pipeline import (
    INPUT_TABLES,
    attributes_used,
    payees_on_plan,
    plan_credits,
    quotas_of,
)
from openspm.calc.stages.incent import Earning, PlanData, incent
from openspm.calc.stages.measure import MeasureValues, monthly, read_monthly, spif_names
from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.engine.duckdb import connect, money
from openspm.plan.models import CapPer, FlatRate, LookupRate, TieredRate
from openspm.runs.service import live_row, load_inputs, run_context, run_period
from openspm.store import models as m

ZERO = Decimal(0)
BY_ACCOUNT = {"accounts": "id", "account_assignments": "account_id", "account_territories": "account_id"}
Key = tuple[str, int, int, str, str]  # plan, version, payee id, month, measure (or SPIF key)


@dataclass(frozen=True)
class TransactionChange:
    """A transaction to add or replace, in the import's terms (external ids, exact amounts)."""

    external_id: str
    date: date
    account: str
    product: str
    amount: Decimal
    currency: str
    type: str = "sale"
    quantity: Decimal = Decimal(1)
    list_amount: Decimal | None = None
    original: str | None = None
    owner: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # More columns to set as given (e.g. order_id, opportunity_external_id); columns not named keep their value.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LiveUpdate:
    """What one `apply` did: the payees recomputed, their new earnings, and the time it took."""

    month: str
    transactions: list[str]
    payees: list[str]
    earnings: list[Earning]
    seconds: float
    full_run: bool = False  # True when a plan's per-transaction rules needed a run of the touched payees


def needs_credit_rows(plan: PlanInForce) -> bool:
    """Whether a plan has rules that read each credit rather than sums (incremental falls back to a run)."""
    for c in plan.document.components:
        if isinstance(c, LookupRate):
            return True
        if isinstance(c, FlatRate) and c.cap is not None and c.cap.per is CapPer.DEAL:
            return True
        if isinstance(c, TieredRate) and (
            c.apply == "per_transaction" or c.rate_adjustments or (c.cap is not None and c.cap.per is CapPer.DEAL)
        ):
            return True
    return False


class LiveEngine:
    """The live month's reference data and compiled contribution queries, kept warm between changes."""

    def __init__(self, engine: Engine, month: str | None = None) -> None:
        self.engine = engine
        with Session(engine) as session:
            self.month = month or _newest_run_month(session)
            self.ctx = run_context(session, self.month)
            self.ctx.con = connect()
            self.attributes = _attributes(self.ctx.plans)
            start = self.ctx.year.start
            self.inputs = load_inputs(session, start, start, self.attributes)  # no transactions: they come per change
        self.window = {p.name for p in self.ctx.months_to_date()}
        self.quotas = quotas_of(self.inputs)
        self.facts = {  # each plan's payees in the month, by id
            (p.plan_id, p.version): {f.id: f for f in payees_on_plan(self.inputs, p, self.ctx)} for p in self.ctx.plans
        }
        self.raw = self.ctx.con.con  # the DuckDB connection under Ibis
        self._register()
        self.queries = {(p.plan_id, p.version): self._compile(p) for p in self.ctx.plans}

    # --- setup ----------------------------------------------------------------------------------

    def _register(self) -> None:
        """Every input as a DuckDB table named `live_<input>`; transactions start empty. The tables keyed
        by account (200,000 rows in a large company) are views limited to the accounts of the transactions
        at hand, so a query reads a few rows of them instead of hashing them whole."""
        for name in INPUT_TABLES:
            table = self.inputs.get(name) if name != "transactions" else self._transactions_table([])
            self.raw.register(f"arrow_{name}", table)
            target = f"live_all_{name}" if name in BY_ACCOUNT or name == "splits" else f"live_{name}"
            self.raw.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM arrow_{name}")  # noqa: S608
            self.raw.unregister(f"arrow_{name}")
        # Splits of the transactions at hand, and again under the negated ids the old versions carry.
        self.raw.execute(
            "CREATE OR REPLACE VIEW live_splits AS "
            "SELECT transaction_id, payee_id, role, share FROM live_all_splits "
            "WHERE transaction_id IN (SELECT id FROM live_transactions) UNION ALL "
            "SELECT -transaction_id AS transaction_id, payee_id, role, share FROM live_all_splits "
            "WHERE -transaction_id IN (SELECT id FROM live_transactions)"
        )
        for name, key in BY_ACCOUNT.items():
            self.raw.execute(
                f"CREATE OR REPLACE VIEW live_{name} AS SELECT * FROM live_all_{name} "  # noqa: S608 - fixed names
                f"WHERE {key} IN (SELECT account_id FROM live_transactions)"
            )

    def _compile(self, plan: PlanInForce) -> str | None:
        """The SQL of a plan's per-transaction contributions over `live_transactions` (None: nobody is
        credited by any source). Run once through Ibis first so the calendar's in-memory table is known.
        (Not a prepared statement: DuckDB would plan it for the empty table it sees at preparation.)"""
        con = self.ctx.con
        t = {name: con.table(f"live_{name}") for name in INPUT_TABLES}
        credits = plan_credits(self.ctx, plan, t, hold=False)
        if credits is None:
            return None
        counted = [x for x in plan.document.measures if x.formula is None]
        query = monthly(credits, counted, spif_names(plan), by=("transaction_id",))
        con.to_pyarrow(query)
        return str(con.compile(query))

    # --- one change -------------------------------------------------------------------------------

    def apply(self, changes: list[TransactionChange], actor: str = "api") -> LiveUpdate:
        """Write `changes` to the store and bring the touched payees' measures and earnings up to date."""
        started = time.perf_counter()
        if not changes:
            return LiveUpdate(self.month, [], [], [], 0.0)
        with Session(self.engine) as session, session.begin():
            ids = _existing_ids(session, [c.external_id for c in changes])
            old_ids = _with_dependants(session, list(ids.values()))
            old = self._load(session, old_ids)
            written = _write(session, changes, actor)
            new_ids = _with_dependants(session, sorted(set(old_ids) | set(written)))
            before, after = self._contributions(old, old_ids, self._load(session, new_ids), new_ids)
            delta = _difference(after, before)
            touched = sorted({key[2] for key in delta})
            fallback = [p for p in self.ctx.plans if needs_credit_rows(p)]
            if not fallback:
                _apply_delta(session, delta)
                earnings = self._earnings(session, touched)
                self._store_earnings(session, touched, earnings)
            names = _payee_names(session, touched)
        update = LiveUpdate(self.month, [c.external_id for c in changes], [names[i] for i in touched], [], 0.0)
        if fallback and touched:
            run_period(self.engine, self.month, actor=actor, payees=update.payees)
            update.full_run = True
        elif not fallback:
            update.earnings = earnings
        update.seconds = time.perf_counter() - started
        return update

    def refresh(self, payees: list[str], actor: str = "api") -> LiveUpdate:
        """Re-evaluate this month's earnings of `payees` (external ids) from their stored monthly measures into
        `live_earnings`, without changing any measure: for a month before the live one, after `apply` on the
        live month's engine moved that month's measures (a late deal booked in a month that is still open)."""
        started = time.perf_counter()
        fallback = any(needs_credit_rows(p) for p in self.ctx.plans)
        with Session(self.engine) as session, session.begin():
            found = session.execute(select(m.Payee.id, m.Payee.external_id).where(m.Payee.external_id.in_(payees)))
            names = dict(found.tuples().all())
            touched = sorted(names)
            earnings: list[Earning] = []
            if not fallback:
                earnings = self._earnings(session, touched)
                self._store_earnings(session, touched, earnings)
        update = LiveUpdate(self.month, [], [names[i] for i in touched], earnings, 0.0)
        if fallback and touched:
            run_period(self.engine, self.month, actor=actor, payees=update.payees)
            update.full_run = True
        update.seconds = time.perf_counter() - started
        return update

    def _load(self, session: Session, ids: list[int]) -> pa.Table:
        """The stored transactions `ids` and their originals, in the engine's schema."""
        rows = list(session.scalars(select(m.Transaction).where(m.Transaction.id.in_(ids)))) if ids else []
        originals = {r.original_id for r in rows if r.original_id is not None} - set(ids)
        if originals:
            rows += list(session.scalars(select(m.Transaction).where(m.Transaction.id.in_(originals))))
        return self._transactions_table(rows)

    def _transactions_table(self, rows: list[m.Transaction]) -> pa.Table:
        names = self.attributes.get("transaction", [])
        return inp.table(
            "transactions",
            {
                "id": [r.id for r in rows],
                "external_id": [r.external_id for r in rows],
                "date": [r.date for r in rows],
                "type": [r.type for r in rows],
                "account_id": [r.account_id for r in rows],
                "product_id": [r.product_id for r in rows],
                "quantity": [money(r.quantity) for r in rows],
                "amount": [money(r.amount) for r in rows],
                "currency": [r.currency for r in rows],
                "list_amount": [money(r.list_amount) for r in rows],
                "original_id": [r.original_id for r in rows],
                "owner_id": [r.owner_id for r in rows],
            },
            {a: [(r.attributes or {}).get(a) for r in rows] for a in names},
        )

    def _contributions(
        self, old: pa.Table, old_ids: list[int], new: pa.Table, new_ids: list[int]
    ) -> tuple[dict[Key, tuple[Decimal, int]], dict[Key, tuple[Decimal, int]]]:
        """What the stored versions (`old`) and the new versions (`new`) of the transactions `old_ids` and
        `new_ids` add to each (plan, version, payee, month, measure), in the window, as (value, credits).

        Both go through one query: the old versions with their ids negated (originals and splits follow,
        see `_register`), so the result tells them apart by sign. The tables also hold the originals of
        returns (credited like their original), whose own contributions are not counted."""
        before: dict[Key, tuple[Decimal, int]] = {}
        after: dict[Key, tuple[Decimal, int]] = {}
        both = pa.concat_tables([_negated(old), new])
        if both.num_rows == 0:
            return before, after
        self.raw.register("changed", both)
        self.raw.execute("DELETE FROM live_transactions")
        self.raw.execute("INSERT INTO live_transactions SELECT * FROM changed")
        self.raw.unregister("changed")
        sides = ((pa.array([-i for i in old_ids], pa.int64()), before), (pa.array(new_ids, pa.int64()), after))
        for plan in self.ctx.plans:
            sql = self.queries[(plan.plan_id, plan.version)]
            if sql is None:
                continue
            table = self.raw.execute(sql).to_arrow_table()
            counted = [x for x in plan.document.measures if x.formula is None]
            for ids, found in sides:
                mine = table.filter(pc.is_in(table["transaction_id"], ids))
                values, counts = read_monthly(mine, counted, spif_names(plan))
                for (name, payee_id), months in values.items():
                    for month, value in months.items():
                        if month in self.window:
                            n = counts.get((name, payee_id), {}).get(month, 0)
                            found[(plan.plan_id, plan.version, payee_id, month, name)] = (value, n)
        return before, after

    def _earnings(self, session: Session, payees: list[int]) -> list[Earning]:
        """The live month's earnings of `payees` under every plan, from their stored monthly measures."""
        earnings: list[Earning] = []
        for plan in self.ctx.plans:
            on_plan = self.facts[(plan.plan_id, plan.version)]
            facts = [on_plan[i] for i in payees if i in on_plan]
            if not facts:
                continue
            values = MeasureValues(self.ctx, {x.name: x for x in plan.document.measures})
            values.by_month, values.counts = _stored_measures(session, plan, [p.id for p in facts])
            data = PlanData(payees=facts, quotas=self.quotas, credits=_NoCredits())
            earnings.extend(incent(self.ctx, plan, values, data))
        return earnings

    def _store_earnings(self, session: Session, payees: list[int], earnings: list[Earning]) -> None:
        if not payees:
            return
        le = m.LiveEarning
        plans = [p.plan_id for p in self.ctx.plans]
        session.execute(delete(le).where(le.plan.in_(plans), le.period == self.month, le.payee_id.in_(payees)))
        if earnings:
            now = utc_now()
            session.execute(insert(le), [live_row(e, None, now) for e in earnings])


class _NoCredits:
    """Credit rows are not available incrementally (plans that need them take the run fallback)."""

    def rows(self, flag: str, payee_id: int, months: set[str]) -> list[dict[str, Any]]:
        raise AssertionError("incremental recompute reads no credit rows")  # pragma: no cover


# --- helpers ------------------------------------------------------------------------------------------


def _negated(transactions: pa.Table) -> pa.Table:
    """The transactions under negated ids (and original ids), to run beside their new versions."""
    for column in ("id", "original_id"):
        index = transactions.schema.get_field_index(column)
        transactions = transactions.set_column(index, column, pc.negate(transactions[column]))
    return transactions


def _newest_run_month(session: Session) -> str:
    month = session.scalar(select(m.Run.period).where(m.Run.status == "completed").order_by(m.Run.id.desc()).limit(1))
    if month is None:
        raise NotFound("no completed run yet: run a month first (`openspm run --period ...`)")
    return month


def _attributes(plans: list[PlanInForce]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for plan in plans:
        for kind, names in attributes_used(plan.document).items():
            found.setdefault(kind, set()).update(names)
    return {k: sorted(v) for k, v in found.items()}


def _existing_ids(session: Session, external_ids: list[str]) -> dict[str, int]:
    t = m.Transaction
    rows = session.execute(select(t.external_id, t.id).where(t.external_id.in_(external_ids))).tuples()
    return dict(rows.all())


def _with_dependants(session: Session, ids: list[int]) -> list[int]:
    """`ids` and the returns and cancellations that refer to them (credited like their original)."""
    if not ids:
        return []
    t = m.Transaction
    dependants = session.scalars(select(t.id).where(t.original_id.in_(ids))).all()
    return sorted(set(ids) | set(dependants))


def _ids_by_external(session: Session, model: Any, keys: set[str], what: str) -> dict[str, int]:
    if not keys:
        return {}
    rows = session.execute(select(model.external_id, model.id).where(model.external_id.in_(keys))).tuples()
    found: dict[str, int] = dict(rows.all())
    missing = sorted(keys - set(found))
    if missing:
        raise InvalidInput(f"unknown {what} {missing[0]!r}")
    return found


def _write(session: Session, changes: list[TransactionChange], actor: str) -> list[int]:
    """Insert or update the changed transactions (audited); returns their ids."""
    accounts = _ids_by_external(session, m.Account, {c.account for c in changes}, "account")
    products = _ids_by_external(session, m.Product, {c.product for c in changes}, "product")
    owners = _ids_by_external(session, m.Payee, {c.owner for c in changes if c.owner}, "payee")
    originals = _ids_by_external(session, m.Transaction, {c.original for c in changes if c.original}, "transaction")
    ids = []
    audit = []
    for c in changes:
        if c.type not in ("sale", "return", "cancellation"):
            raise InvalidInput(f"{c.external_id}: type must be sale, return or cancellation, not {c.type!r}")
        if c.type != "sale" and not c.original:
            raise InvalidInput(f"{c.external_id}: a {c.type} names its original transaction")
        values = {
            "date": c.date,
            "type": c.type,
            "account_id": accounts[c.account],
            "product_id": products[c.product],
            "quantity": c.quantity,
            "amount": c.amount,
            "currency": c.currency,
            "list_amount": c.list_amount,
            "original_id": originals.get(c.original) if c.original else None,
            "owner_id": owners.get(c.owner) if c.owner else None,
            "attributes": dict(c.attributes),
            "row_hash": None,
            **c.extra,
        }
        row = session.scalars(select(m.Transaction).where(m.Transaction.external_id == c.external_id)).first()
        before = None if row is None else _audit_view(row)
        if row is None:
            row = m.Transaction(external_id=c.external_id, **values)
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.flush()
        ids.append(row.id)
        audit.append(
            {
                "actor": actor,
                "action": "insert" if before is None else "update",
                "entity": "transactions",
                "entity_key": c.external_id,
                "before": before,
                "after": _audit_view(row),
                "note": "incremental recompute",
                "at": utc_now(),
            }
        )
    session.execute(insert(m.AuditEntry), audit)
    return ids


def _audit_view(row: m.Transaction) -> dict[str, Any]:
    return {
        "date": row.date.isoformat(),
        "type": row.type,
        "amount": str(row.amount),
        "currency": row.currency,
        "quantity": str(row.quantity),
        "account_id": row.account_id,
        "product_id": row.product_id,
        "original_id": row.original_id,
        "owner_id": row.owner_id,
    }


def _difference(
    after: dict[Key, tuple[Decimal, int]], before: dict[Key, tuple[Decimal, int]]
) -> dict[Key, tuple[Decimal, int]]:
    """after − before, per key, where anything differs (a payee credited before and not after appears too)."""
    found: dict[Key, tuple[Decimal, int]] = {}
    for key in set(after) | set(before):
        new_value, new_count = after.get(key, (ZERO, 0))
        old_value, old_count = before.get(key, (ZERO, 0))
        if new_value != old_value or new_count != old_count:
            found[key] = (new_value - old_value, new_count - old_count)
    return found


def _apply_delta(session: Session, delta: dict[Key, tuple[Decimal, int]]) -> None:
    """Add each difference to its `payee_measures` row (created when missing, removed when it comes to 0
    with no credits: a full run keeps no such row)."""
    if not delta:
        return
    pm = m.PayeeMeasure
    payees = {key[2] for key in delta}
    rows = {
        (r.plan, r.version, r.payee_id, r.month, r.measure): r
        for r in session.scalars(select(pm).where(pm.payee_id.in_(payees)))
    }
    now = utc_now()
    for key, (value, count) in delta.items():
        row = rows.get(key)
        if row is None:
            plan, version, payee_id, month, measure = key
            row = pm(plan=plan, version=version, payee_id=payee_id, month=month, measure=measure, value=ZERO, credits=0)
            session.add(row)
        row.value = row.value + value
        row.credits = row.credits + count
        row.updated_at = now
        if row.value == 0 and row.credits == 0:
            if row.id is not None:
                session.delete(row)
            else:
                session.expunge(row)
    session.flush()


def _stored_measures(
    session: Session, plan: PlanInForce, payees: list[int]
) -> tuple[dict[tuple[str, int], dict[str, Decimal]], dict[tuple[str, int], dict[str, int]]]:
    pm = m.PayeeMeasure
    values: defaultdict[tuple[str, int], dict[str, Decimal]] = defaultdict(dict)
    counts: defaultdict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    query = select(pm.payee_id, pm.month, pm.measure, pm.value, pm.credits).where(
        pm.plan == plan.plan_id, pm.version == plan.version, pm.payee_id.in_(payees)
    )
    for payee_id, month, measure, value, credits in session.execute(query):
        values[(measure, payee_id)][month] = value
        counts[(measure, payee_id)][month] = credits
    return dict(values), dict(counts)


def _payee_names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(m.Payee.id, m.Payee.external_id).where(m.Payee.id.in_(ids))).tuples()
    return dict(rows.all())


__all__ = ["LiveEngine", "LiveUpdate", "TransactionChange"]
