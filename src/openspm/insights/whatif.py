"""Rep what-if: the exact change in a payee's earnings if chosen deals closed, computed by the engine that pays.

Pipeline of `what_if(session, payee, deals)`:

1. **deals** — open opportunities of the payee (`open_deals`) and/or hypothetical deals typed in (`Deal`): an
   account, a product, a list amount, a currency, a close date and a discount percent.
2. **synthetic transactions** (`deal_transactions`) — each deal becomes one sale line exactly as a won deal is
   imported (the demo's won opportunities are orders on their close date): `date` = close date, the account, the
   product, `quantity` 1, `list_amount` = the deal's amount, `amount` = list × (100 − discount) / 100 rounded
   half-up to cents, the deal's currency, **no explicit owner** (so crediting goes through the same owner, split,
   account-assignment and territory rules as an imported line), `opportunity` = the opportunity id.
   `transaction_rows` gives the same lines as rows of a transactions import file.
3. **engine** — for each month from the earliest close month to the end of the longest measurement period that
   contains it (month, quarter or fiscal year, from the payee's plans' components: a year bonus, a year cap or a
   true-up makes later months change), the pipeline (`calc.pipeline.run_pipeline`, what `runs.service.compute`
   and `run_period` run) is run on the store's inputs twice: as they stand and with the synthetic lines added.
   With a discount, a third time with the lines at list price.
4. **earnings delta** — per month × plan × component: earnings before, with the deals (at list and discounted),
   the change, and the trace values that changed (base, attainment, tier lines, gate, cap, true-up ...).

Exactness: the what-if adds nothing of its own to the arithmetic; the must-show test imports the same lines and
runs the real months with `run_period`, and the stored earnings change equals this estimate to the cent.

Speed: the store is read once per fiscal year (not per month and scenario) and each month's window is cut from
it; only the payee's plans run; transactions are cut to those that can credit the payee or anyone below them
(explicit owner, split, account assignment or territory of theirs, at any date of the year, plus the originals
of returns): every other line credits someone else and cannot change the payee's measures. The ranking of open
deals (`rank_open_deals`) runs one scenario per deal and month on those shared inputs.

Ranking: expected earnings = win probability × (marginal earnings + renewal value). Marginal earnings: the
payee's earnings with the deal minus without it, summed over the affected months (so tier and bonus effects
count). Win probability: the `probabilities` argument (opportunity id → fraction) when given, else the
opportunity's stored `probability`. Renewal value: the opportunity attribute `renewal_value` (what the payee
expects to earn when the contract renews, in the plan currency) when present, else 0.

Reads only; nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openspm.calc import inputs as inp
from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.pipeline import attributes_used, run_pipeline
from openspm.calc.stages.incent import Earning
from openspm.core.errors import InvalidInput, NotFound
from openspm.core.period import Period, PeriodKind
from openspm.engine import backends
from openspm.engine.duckdb import money
from openspm.plan.models import Accumulation, CapPer
from openspm.runs.service import calendar_periods, load_inputs, plans_in_force
from openspm.store import models as m
from openspm.store.lookups import payee_named

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
TRACE_SKIP = frozenset({"plan_version", "rounding_scale", "rounding_mode", "kind"})
RANK_BATCH = 25  # deals per engine run when ranking (each a clone of the payee)
SHOWN = ("base", "attainment", "band", "rate", "gate", "cap", "true_up", "credits", "holds", "deals", "units")
OnStep = Callable[[int, int, str], None]  # (done, total, what)


# --- 1. deals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    """A deal to try: an open opportunity or a hypothetical one. `amount` is the list amount (before the
    discount); `discount` a percent (0-100) taken off it."""

    key: str  # the opportunity id, or a name for a hypothetical deal
    account: str  # account external id
    product: str  # product external id
    amount: Decimal
    currency: str
    close_date: date
    discount: Decimal = ZERO
    opportunity: str | None = None
    name: str = ""
    probability: Decimal | None = None
    renewal_value: Decimal = ZERO
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def net_amount(self) -> Decimal:
        """The amount after the discount, rounded half-up to cents."""
        return (self.amount * (HUNDRED - self.discount) / HUNDRED).quantize(CENT, ROUND_HALF_UP)

    def at_list(self) -> Deal:
        return replace(self, discount=ZERO)


def _decimal(value: Any, what: str) -> Decimal:
    try:
        found = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} {value!r} is not a number") from None
    if not found.is_finite():
        raise InvalidInput(f"{what} {value!r} is not a number")
    return found


def check_deal(deal: Deal) -> Deal:
    """A deal with sane numbers (InvalidInput otherwise): a positive amount, a discount in [0, 100)."""
    if deal.amount <= 0:
        raise InvalidInput(f"deal {deal.key}: the amount must be positive, not {deal.amount}")
    if not ZERO <= deal.discount < HUNDRED:
        raise InvalidInput(f"deal {deal.key}: the discount is a percent from 0 to under 100, not {deal.discount}")
    return deal


def open_deals(session: Session, payee: str, close_on: date | None = None, discount: Decimal = ZERO) -> list[Deal]:
    """The payee's open opportunities (owner = the payee, status open) as deals, by close date then id.

    Each is one line: the opportunity's account, amount (as the list amount), currency and close date (or
    `close_on` for every deal when given); the product is the opportunity attribute `product` when present,
    else the product sold most often to the account (ties: the lowest id), else the product sold most overall.
    """
    owner = payee_named(session, payee)
    o, a = m.Opportunity, m.Account
    rows = session.execute(
        select(o, a.external_id)
        .join(a, a.id == o.account_id)
        .where(o.owner_id == owner.id, o.status == "open")
        .order_by(o.close_date, o.external_id)
    ).all()
    products = _products_by_account(session, [r[0].account_id for r in rows])
    deals = []
    for opportunity, account in rows:
        attributes = dict(opportunity.attributes or {})
        product = attributes.get("product") or products.get(opportunity.account_id) or products.get(None)
        if product is None:
            raise NotFound("no product in the store to book an opportunity on")
        renewal = attributes.get("renewal_value")
        deals.append(
            Deal(
                key=opportunity.external_id,
                account=account,
                product=str(product),
                amount=Decimal(opportunity.amount),
                currency=opportunity.currency,
                close_date=close_on or opportunity.close_date,
                discount=discount,
                opportunity=opportunity.external_id,
                name=opportunity.name,
                probability=None if opportunity.probability is None else Decimal(opportunity.probability),
                renewal_value=_decimal(renewal, "renewal_value") if renewal not in (None, "") else ZERO,
                attributes=attributes,
            )
        )
    return deals


def _products_by_account(session: Session, account_ids: list[int]) -> dict[int | None, str]:
    """Account id → the product sold to it most often (ties: lowest product id); None → most sold overall."""
    t, p = m.Transaction, m.Product
    found: dict[int | None, str] = {}
    if account_ids:
        counts = session.execute(
            select(t.account_id, p.external_id, func.count())
            .join(p, p.id == t.product_id)
            .where(t.account_id.in_(sorted(set(account_ids))), t.type == "sale")
            .group_by(t.account_id, p.external_id)
            .order_by(t.account_id, func.count().desc(), p.external_id)
        ).all()
        for account_id, product, _ in counts:
            found.setdefault(account_id, product)
    top = session.execute(
        select(p.external_id).join(t, t.product_id == p.id).group_by(p.external_id)
        .order_by(func.count().desc(), p.external_id).limit(1)
    ).scalar()  # fmt: skip
    if top is None:
        top = session.scalar(select(p.external_id).order_by(p.external_id).limit(1))
    if top is not None:
        found[None] = top
    return found


def hypothetical_deal(
    session: Session,
    *,
    account: str,
    product: str,
    amount: Decimal | str,
    close_date: date,
    discount: Decimal | str = ZERO,
    currency: str | None = None,
    key: str = "hypothetical",
) -> Deal:
    """A typed-in deal, checked against the store (NotFound for an unknown account or product). The currency
    defaults to that of the account's newest transaction, else USD."""
    account_id = session.scalar(select(m.Account.id).where(m.Account.external_id == account))
    if account_id is None:
        raise NotFound(f"unknown account {account!r}")
    if session.scalar(select(m.Product.id).where(m.Product.external_id == product)) is None:
        raise NotFound(f"unknown product {product!r}")
    if currency is None:
        t = m.Transaction
        currency = session.scalar(
            select(t.currency).where(t.account_id == account_id).order_by(t.date.desc(), t.id.desc()).limit(1)
        )
    return check_deal(
        Deal(
            key=key,
            account=account,
            product=product,
            amount=_decimal(amount, "amount"),
            currency=(currency or "USD").upper(),
            close_date=close_date,
            discount=_decimal(discount, "discount"),
            name=f"{account} · {product}",
        )
    )


# --- 2. synthetic transactions -----------------------------------------------------------------------


def transaction_rows(deals: Sequence[Deal]) -> list[dict[str, str]]:
    """The deals as rows of a transactions import file (the columns of `openspm import transactions`): what
    importing the won deals would add; the what-if adds the same lines to the engine's inputs."""
    return [
        {
            "id": _line_id(i, d),
            "date": d.close_date.isoformat(),
            "type": "sale",
            "account": d.account,
            "product": d.product,
            "quantity": "1",
            "amount": str(d.net_amount),
            "currency": d.currency,
            "list_amount": str(d.amount),
            "original": "",
            "owner": "",
            "order_id": "",
            "opportunity": d.opportunity or "",
        }
        for i, d in enumerate(deals)
    ]


def _line_id(index: int, deal: Deal) -> str:
    return f"WHATIF-{index + 1}-{deal.key}"


@dataclass(frozen=True)
class Ids:
    """Store ids of the deals' accounts and products."""

    accounts: dict[str, int]
    products: dict[str, int]


def store_ids(session: Session, deals: Sequence[Deal]) -> Ids:
    accounts = {d.account for d in deals}
    products = {d.product for d in deals}
    account, product = m.Account, m.Product
    a = dict(
        session.execute(select(account.external_id, account.id).where(account.external_id.in_(accounts))).tuples().all()
    )
    p = dict(
        session.execute(select(product.external_id, product.id).where(product.external_id.in_(products))).tuples().all()
    )
    for name, found, what in ((accounts, a, "account"), (products, p, "product")):
        missing = sorted(name - set(found))
        if missing:
            raise NotFound(f"unknown {what} {missing[0]!r}")
    return Ids(a, p)


def deal_transactions(deals: Sequence[Deal], ids: Ids, columns: list[str]) -> pa.Table:
    """The deals' lines as the engine's transactions table (`columns`: the store's table's columns, with any
    `attr_<name>` a plan reads, filled from the deal's attributes of that name). Ids are negative, so they never
    meet a stored line."""
    data: dict[str, list[Any]] = {
        "id": [-(i + 1) for i in range(len(deals))],
        "external_id": [_line_id(i, d) for i, d in enumerate(deals)],
        "date": [d.close_date for d in deals],
        "type": ["sale"] * len(deals),
        "account_id": [ids.accounts[d.account] for d in deals],
        "product_id": [ids.products[d.product] for d in deals],
        "quantity": [money(Decimal(1)) for _ in deals],
        "amount": [money(d.net_amount) for d in deals],
        "currency": [d.currency for d in deals],
        "list_amount": [money(d.amount) for d in deals],
        "original_id": [None] * len(deals),
        "owner_id": [None] * len(deals),
    }
    kinds = dict(inp.SCHEMAS["transactions"])
    arrays = {name: pa.array(data[name], kinds[name]) for name, _ in inp.SCHEMAS["transactions"]}
    for name in columns:
        if name.startswith("attr_"):
            values = [d.attributes.get(name[5:]) for d in deals]
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


# --- 3. engine ---------------------------------------------------------------------------------------


@dataclass
class Year:
    """A fiscal year's inputs, read once, cut to what can credit the payees that matter."""

    year: Period
    plans: list[PlanInForce]
    inputs: inp.Inputs
    payee_ids: list[int]


def _months(periods: list[Period]) -> list[Period]:
    return sorted((p for p in periods if p.kind is PeriodKind.MONTH), key=lambda p: p.start)


def _containing(periods: list[Period], day: date, kind: PeriodKind) -> Period:
    for p in periods:
        if p.kind is kind and p.start <= day < p.end:
            return p
    raise NotFound(f"no {kind.value} of the calendar holds {day.isoformat()}")


def horizon(periods: list[Period], plans: list[PlanInForce], day: date) -> Period:
    """The longest period that holds `day` over which the plans accumulate anything: component measurement
    periods, a year cap (the year), a measure accumulated quarter or year to date. The months from `day`'s month
    to its end are those whose earnings a deal on `day` can change."""
    kinds = {PeriodKind.MONTH}
    for plan in plans:
        for c in plan.document.components:
            kinds.add(PeriodKind(c.period.value))
            if c.cap is not None and c.cap.per is CapPer.YEAR:
                kinds.add(PeriodKind.YEAR)
        for measure in plan.document.measures:
            if measure.accumulate == Accumulation.YTD:
                kinds.add(PeriodKind.YEAR)
            elif measure.accumulate == Accumulation.QTD:
                kinds.add(PeriodKind.QUARTER)
    for kind in (PeriodKind.YEAR, PeriodKind.QUARTER, PeriodKind.MONTH):
        if kind in kinds:
            return _containing(periods, day, kind)
    raise AssertionError("unreachable")


def affected_months(periods: list[Period], plans: list[PlanInForce], deals: Sequence[Deal]) -> list[Period]:
    """Every month from a deal's close month to the end of its horizon, in order."""
    wanted: dict[str, Period] = {}
    for d in deals:
        end = horizon(periods, plans, d.close_date).end
        for month in _months(periods):
            if month.end > d.close_date and month.start < end:
                wanted[month.name] = month
    return sorted(wanted.values(), key=lambda p: p.start)


def _subtree(inputs: inp.Inputs, payee_id: int, start: date, end: date) -> set[int]:
    """The payee and everyone below them through reporting lines overlapping [start, end)."""
    lines = inputs.get("reporting_lines").to_pylist()
    found, frontier = {payee_id}, [payee_id]
    while frontier:
        boss = frontier.pop()
        for line in lines:
            if line["manager_id"] != boss or line["payee_id"] in found:
                continue
            if line["effective_from"] is not None and line["effective_from"] >= end:
                continue
            if line["effective_to"] is not None and line["effective_to"] <= start:
                continue
            found.add(line["payee_id"])
            frontier.append(line["payee_id"])
    return found


def _crediting(inputs: inp.Inputs, payees: set[int]) -> pa.Table:
    """Transactions that can credit one of `payees` (explicit owner, split, account assignment or territory of
    theirs, at any date) and the originals those name; every other line credits someone else."""
    t = inputs.get("transactions")
    chosen = pa.array(sorted(payees), pa.int64())
    splits = inputs.get("splits")
    split_ids = pc.filter(splits["transaction_id"], pc.is_in(splits["payee_id"], value_set=chosen))
    assigned = inputs.get("account_assignments")
    accounts = pc.filter(assigned["account_id"], pc.is_in(assigned["payee_id"], value_set=chosen))
    territories_of = inputs.get("territory_assignments")
    territories = pc.filter(territories_of["territory_id"], pc.is_in(territories_of["payee_id"], value_set=chosen))
    at = inputs.get("account_territories")
    in_territory = pc.filter(at["account_id"], pc.is_in(at["territory_id"], value_set=territories))
    account_set = pa.chunked_array([accounts, in_territory], pa.int64()).unique()
    keep = pc.or_(
        pc.or_(pc.fill_null(pc.is_in(t["owner_id"], value_set=chosen), False), pc.is_in(t["id"], value_set=split_ids)),
        pc.is_in(t["account_id"], value_set=account_set),
    )
    kept = t.filter(keep)
    originals = pc.drop_null(kept["original_id"]).unique()
    extra = t.filter(pc.and_(pc.invert(keep), pc.is_in(t["id"], value_set=originals)))
    return pa.concat_tables([kept, extra]) if extra.num_rows else kept


def read_year(session: Session, payee: m.Payee, year: Period) -> Year:
    """The year's inputs for the payee's plans, read from the store once and cut to the lines that can credit
    the payee or their subtree (see the module docstring)."""
    plans = [p for p in plans_in_force(session, year.start, year.end) if _on_plan(session, payee.id, p, year)]
    if not plans:
        raise NotFound(f"{payee.external_id} is on no plan in {year.name}")
    attributes: dict[str, list[str]] = {}
    for plan in plans:
        for kind, names in attributes_used(plan.document).items():
            attributes[kind] = sorted(set(attributes.get(kind, [])) | set(names))
    inputs = load_inputs(session, year.start, year.end, attributes)
    people = _subtree(inputs, payee.id, year.start, year.end)
    assignments = inputs.get("plan_assignments")
    keep = pc.is_in(assignments["payee_id"], value_set=pa.array(sorted(people), pa.int64()))
    tables = {**inputs.tables, "transactions": _crediting(inputs, people), "plan_assignments": assignments.filter(keep)}
    return Year(year, plans, inp.Inputs(tables), sorted(people))


def _on_plan(session: Session, payee_id: int, plan: PlanInForce, year: Period) -> bool:
    pa_ = m.PlanAssignment
    rows = session.execute(
        select(pa_.effective_from, pa_.effective_to)
        .join(m.Plan, m.Plan.id == pa_.plan_id)
        .where(pa_.payee_id == payee_id, m.Plan.external_id == plan.plan_id)
    ).all()
    return any((f is None or f < year.end) and (t is None or t > year.start) for f, t in rows)


def _in_year(extra: pa.Table | None, year: Year) -> pa.Table | None:
    """The extra lines dated in the year (a run reads its fiscal year to date only; a deal of another year is
    not in it)."""
    if extra is None:
        return None
    start = pa.scalar(year.year.start, pa.date32())
    return extra.filter(pc.greater_equal(extra["date"], start))


def _window(transactions: pa.Table, end: date) -> pa.Table:
    """Lines dated before `end` and the originals they name (what `load_inputs(year start, end)` reads)."""
    before = pc.less(transactions["date"], pa.scalar(end, pa.date32()))
    kept = transactions.filter(before)
    originals = pc.drop_null(kept["original_id"]).unique()
    extra = transactions.filter(pc.and_(pc.invert(before), pc.is_in(transactions["id"], value_set=originals)))
    return pa.concat_tables([kept, extra]) if extra.num_rows else kept


@dataclass(frozen=True)
class Credit:
    """Who a deal's line credited, in its close month (any payee: it may be someone else)."""

    deal: str
    plan: str
    payee: str
    role: str
    share: Decimal
    amount: Decimal
    currency: str


def run_month(
    periods: list[Period], year: Year, month: Period, payee: str, extra: pa.Table | None, backend: str | None = None
) -> tuple[list[Earning], list[dict[str, Any]]]:
    """The payee's earnings of `month` from the year's inputs (plus `extra` lines), by the pipeline that
    `runs.service.compute` runs: the plans in force in the month among the payee's, the month's window; and the
    month's credit rows of the `extra` lines."""
    plans = [p for p in year.plans if _applies(p, month)]
    if not plans:
        return [], []
    transactions = year.inputs.get("transactions")
    extra = _in_year(extra, year)
    if extra is not None and extra.num_rows:
        transactions = pa.concat_tables([transactions, extra.select(transactions.column_names)])
    inputs = inp.Inputs({**year.inputs.tables, "transactions": _window(transactions, month.end)})
    ctx = RunContext(period=month, periods=periods, plans=plans, con=backends.connect(backend))
    results = run_pipeline(ctx, inputs)
    credits: list[dict[str, Any]] = []
    if extra is not None and results.credits is not None and results.credits.num_rows:
        ids = pa.array([str(x) for x in extra["external_id"].to_pylist()], pa.string())
        mine = pc.is_in(pc.cast(results.credits["transaction"], pa.string()), value_set=ids)
        credits = results.credits.filter(mine).to_pylist()
    return [e for e in results.earnings if e.payee == payee], credits


# --- batching: several scenarios in one engine run ------------------------------------------------------

CLONE_OFFSET = 10**12  # ids of scenario s's copies: the original id + s × this


def _shift(values: pa.ChunkedArray | pa.Array, offset: int) -> pa.Array:
    return pc.add(values, pa.scalar(offset, pa.int64())) if offset else values


def _as(values: pa.ChunkedArray | pa.Array, payee_id: int, offset: int) -> pa.Array:
    """Payee ids with the payee's own id moved to its clone's (others kept)."""
    own = pc.fill_null(pc.equal(values, pa.scalar(payee_id, pa.int64())), False)
    return pc.if_else(own, pa.scalar(payee_id + offset, pa.int64()), values)


def _set(table: pa.Table, **columns: Any) -> pa.Table:
    for name, values in columns.items():
        table = table.set_column(table.column_names.index(name), name, values)
    return table


def _suffixed(values: pa.ChunkedArray | pa.Array, s: int) -> pa.Array:
    return pc.binary_join_element_wise(values, pa.scalar(f"~{s}"), "")


def cloned_inputs(base: inp.Inputs, payee_id: int, extras: Sequence[pa.Table | None]) -> inp.Inputs:
    """One set of inputs holding every scenario: scenario 0 is the payee with `extras[0]` added; scenario s ≥ 1
    is a clone of the payee (id + s × CLONE_OFFSET, external id `<id>~s`) that owns copies of everything that can
    credit the payee (the cut transactions plus `extras[s]`, their accounts, splits, account assignments,
    territories and territory assignments, all with shifted ids) and the payee's plan assignments, quotas and
    reporting lines. A clone's credits, measures and earnings are those the payee would have in that scenario;
    the copies credit no one else that matters (the payee must have no reports: `Year.payee_ids` is the payee)."""
    t = base.get("transactions")
    columns = t.column_names

    def lines(extra: pa.Table | None) -> pa.Table:
        return t if extra is None or not extra.num_rows else pa.concat_tables([t, extra.select(columns)])

    tables: dict[str, list[pa.Table]] = {name: [base.get(name)] for name in CLONED}
    tables["transactions"] = [lines(extras[0])]
    own = {name: base.get(name) for name in ("payees", "plan_assignments", "quotas", "reporting_lines")}
    me = pa.scalar(payee_id, pa.int64())
    for s in range(1, len(extras)):
        off = s * CLONE_OFFSET
        tx = lines(extras[s])
        accounts = tx["account_id"].unique()
        a = base.get("accounts").filter(pc.is_in(base.get("accounts")["id"], value_set=accounts))
        at = base.get("account_territories")
        at = at.filter(pc.is_in(at["account_id"], value_set=accounts))
        ta = base.get("territory_assignments")
        ta = ta.filter(pc.is_in(ta["territory_id"], value_set=at["territory_id"].unique()))
        aa = base.get("account_assignments")
        aa = aa.filter(pc.is_in(aa["account_id"], value_set=accounts))
        sp = base.get("splits")
        sp = sp.filter(pc.is_in(sp["transaction_id"], value_set=tx["id"]))
        payee = own["payees"].filter(pc.equal(own["payees"]["id"], me))
        tables["transactions"].append(
            _set(
                tx,
                id=_shift(tx["id"], off),
                external_id=_suffixed(tx["external_id"], s),
                account_id=_shift(tx["account_id"], off),
                original_id=_shift(tx["original_id"], off),
                owner_id=_as(tx["owner_id"], payee_id, off),
            )
        )
        tables["accounts"].append(_set(a, id=_shift(a["id"], off), external_id=_suffixed(a["external_id"], s)))
        tables["account_territories"].append(
            _set(at, account_id=_shift(at["account_id"], off), territory_id=_shift(at["territory_id"], off))
        )
        tables["territory_assignments"].append(
            _set(ta, territory_id=_shift(ta["territory_id"], off), payee_id=_as(ta["payee_id"], payee_id, off))
        )
        tables["account_assignments"].append(
            _set(aa, account_id=_shift(aa["account_id"], off), payee_id=_as(aa["payee_id"], payee_id, off))
        )
        tables["splits"].append(
            _set(sp, transaction_id=_shift(sp["transaction_id"], off), payee_id=_as(sp["payee_id"], payee_id, off))
        )
        tables["payees"].append(
            _set(payee, id=_shift(payee["id"], off), external_id=_suffixed(payee["external_id"], s))
        )
        for name in ("plan_assignments", "quotas", "reporting_lines"):
            rows = own[name].filter(pc.equal(own[name]["payee_id"], me))
            tables[name].append(_set(rows, payee_id=_shift(rows["payee_id"], off)))
    return inp.Inputs({**base.tables, **{name: pa.concat_tables(parts) for name, parts in tables.items()}})


CLONED = (
    "transactions", "accounts", "account_territories", "territory_assignments", "account_assignments", "splits",
    "payees", "plan_assignments", "quotas", "reporting_lines",
)  # fmt: skip


def run_scenarios(
    periods: list[Period],
    year: Year,
    month: Period,
    payee: str,
    payee_id: int,
    extras: Sequence[pa.Table | None],
    backend: str | None = None,
    batch: bool = True,
) -> list[tuple[list[Earning], list[dict[str, Any]]]]:
    """`run_month` for each scenario (extra lines, or None for the store as it stands). Batched into one engine
    run through clones of the payee (`cloned_inputs`) when the payee has no one below them; else one run each.
    The engine's fixed cost per run (compiling the plan's queries) dominates, so a batch of N costs about one."""
    if not batch or len(extras) == 1 or year.payee_ids != [payee_id]:
        return [run_month(periods, year, month, payee, extra, backend) for extra in extras]
    plans = [p for p in year.plans if _applies(p, month)]
    if not plans:
        return [([], []) for _ in extras]
    extras = [_in_year(extra, year) for extra in extras]
    inputs = cloned_inputs(year.inputs, payee_id, extras)
    inputs = inp.Inputs({**inputs.tables, "transactions": _window(inputs.get("transactions"), month.end)})
    ctx = RunContext(period=month, periods=periods, plans=plans, con=backends.connect(backend))
    results = run_pipeline(ctx, inputs)
    found: list[tuple[list[Earning], list[dict[str, Any]]]] = []
    credits = results.credits.to_pylist() if results.credits is not None else []
    for s, extra in enumerate(extras):
        name = payee if s == 0 else f"{payee}~{s}"
        earnings = [replace(e, payee=payee, payee_id=payee_id) for e in results.earnings if e.payee == name]
        rows: list[dict[str, Any]] = []
        if extra is not None and extra.num_rows:
            ids = {str(x) if s == 0 else f"{x}~{s}": str(x) for x in extra["external_id"].to_pylist()}
            rows = [r | {"transaction": ids[str(r["transaction"])]} for r in credits if str(r["transaction"]) in ids]
            rows = [r | {"payee": _unclone(r["payee"], payee, payee_id)} for r in rows]
        found.append((earnings, rows))
    return found


def _unclone(value: Any, payee: str, payee_id: int) -> Any:
    """A credit row's payee with a clone of the payee named as the payee."""
    if isinstance(value, str) and value.startswith(f"{payee}~"):
        return payee
    if isinstance(value, int) and value % CLONE_OFFSET == payee_id and value > CLONE_OFFSET // 2:
        return payee_id
    return value


def _applies(plan: PlanInForce, month: Period) -> bool:
    return (plan.applies_from is None or plan.applies_from < month.end) and (
        plan.applies_to is None or plan.applies_to > month.start
    )


# --- 4. earnings delta -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One month × plan × component: earnings before, with the deals at list, with the deals as priced
    (discounted), and what the trace shows differently."""

    month: str
    plan: str
    component: str
    measure_period: str
    currency: str
    before: Decimal
    at_list: Decimal
    after: Decimal
    changes: list[tuple[str, Any, Any]]  # (trace key, before, after)

    @property
    def delta(self) -> Decimal:
        return self.after - self.before

    def shown_changes(self) -> list[tuple[str, str, str]]:
        """The changed trace values a person reads (base, attainment, band, rate, gate, cap, true-up, credits),
        as short text: numbers to 4 decimal places, nested values as `key value` pairs."""
        return [(k, _short(a), _short(b)) for k, a, b in self.changes if k in SHOWN]

    @property
    def discount_cost(self) -> Decimal:
        return self.at_list - self.after


@dataclass(frozen=True)
class WhatIf:
    """The earnings change of a payee if `deals` closed."""

    payee: str
    deals: list[Deal]
    months: list[str]
    lines: list[Line]
    credits: list[Credit]  # who each deal's line credited in its close month (the payee, or someone else)
    seconds: float

    def total(self, what: str = "delta") -> dict[str, Decimal]:
        """Per currency, summed over the lines: delta, discount_cost, before, after or at_list."""
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.currency] = out.get(line.currency, ZERO) + getattr(line, what)
        return out

    def by_month(self) -> dict[str, dict[str, Decimal]]:
        """Month → currency → earnings change."""
        out: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            per = out.setdefault(line.month, {})
            per[line.currency] = per.get(line.currency, ZERO) + line.delta
        return out


def _key(e: Earning) -> tuple[str, str, str, str]:
    return (e.period, e.plan, e.component, e.measure_period)


def trace_changes(before: Earning | None, after: Earning | None) -> list[tuple[str, Any, Any]]:
    """The trace values that differ between two earnings of one component (credit lists left out)."""
    a = before.trace if before is not None else {}
    b = after.trace if after is not None else {}
    found = []
    for name in sorted(set(a) | set(b)):
        if name in TRACE_SKIP:
            continue
        if a.get(name) != b.get(name):
            found.append((name, a.get(name), b.get(name)))
    return found


def _short(value: Any) -> str:
    """A trace value as short text (see `Line.shown_changes`)."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_short(v)}" for k, v in value.items() if k not in ("months", "measure", "when"))
    if isinstance(value, list):
        return f"{len(value)} items"
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    rounded = number.quantize(Decimal("0.0001"), ROUND_HALF_UP) if number.as_tuple().exponent < -4 else number  # type: ignore[operator]
    return f"{rounded.normalize():f}" if rounded == rounded.to_integral() else f"{rounded:f}"


def _lines(base: list[Earning], listed: list[Earning], priced: list[Earning]) -> list[Line]:
    old = {_key(e): e for e in base}
    at_list = {_key(e): e for e in listed}
    new = {_key(e): e for e in priced}
    lines = []
    for key in sorted(set(old) | set(new) | set(at_list)):
        b, li, a = old.get(key), at_list.get(key), new.get(key)
        some = a or b or li
        assert some is not None
        lines.append(
            Line(
                month=key[0],
                plan=key[1],
                component=key[2],
                measure_period=key[3],
                currency=some.currency,
                before=b.amount if b else ZERO,
                at_list=li.amount if li else ZERO,
                after=a.amount if a else ZERO,
                changes=trace_changes(b, a),
            )
        )
    return lines


def _credits(rows: list[dict[str, Any]], deals: Sequence[Deal], names: Mapping[Any, str]) -> list[Credit]:
    """The deals' credit rows as `Credit`s (deal key, plan, payee external id, role, share, amount)."""
    keys = {_line_id(i, d): d.key for i, d in enumerate(deals)}
    found = {
        Credit(
            deal=keys[str(row["transaction"])],
            plan=str(row["plan"]),
            payee=names.get(row["payee"], str(row["payee"])),
            role=str(row["role"]),
            share=Decimal(str(row["share"])).normalize(),
            amount=Decimal(str(row["amount"])),
            currency=str(row["currency"]),
        )
        for row in rows
        if str(row["transaction"]) in keys
    }
    return sorted(found, key=lambda c: (c.deal, c.plan, c.payee, c.role))


def what_if(
    session: Session,
    payee: str,
    deals: Sequence[Deal],
    *,
    backend: str | None = None,
    on_step: OnStep | None = None,
    batch: bool = True,
) -> WhatIf:
    """The payee's earnings change if `deals` closed (see the module docstring). Reads only."""
    if not deals:
        raise InvalidInput("choose at least one deal")
    keys = [d.key for d in deals]
    if len(set(keys)) != len(keys):
        raise InvalidInput("a deal appears twice")
    started = time.perf_counter()
    deals = [check_deal(d) for d in deals]
    person = payee_named(session, payee)
    periods = calendar_periods(session)
    ids = store_ids(session, deals)
    discounted = any(d.discount for d in deals)
    years: dict[str, Year] = {}
    months = _plan_months(session, person, periods, deals, years)
    steps = len(months)
    base_all: list[Earning] = []
    list_all: list[Earning] = []
    priced_all: list[Earning] = []
    credits: list[dict[str, Any]] = []
    for done, month in enumerate(months):
        if on_step is not None:
            on_step(done, steps, f"{month.name}: as it stands, with the deals" + (", at list" if discounted else ""))
        year = years[_containing(periods, month.start, PeriodKind.YEAR).name]
        columns = year.inputs.get("transactions").column_names
        extras = [None, deal_transactions(deals, ids, columns)]
        if discounted:
            extras.append(deal_transactions([d.at_list() for d in deals], ids, columns))
        outcome = run_scenarios(periods, year, month, payee, person.id, extras, backend, batch)
        base_all.extend(outcome[0][0])
        priced_all.extend(outcome[1][0])
        credits.extend(outcome[1][1])
        if discounted:
            list_all.extend(outcome[2][0])
    if not discounted:
        list_all = priced_all
    if on_step is not None:
        on_step(steps, steps, "done")
    return WhatIf(
        payee=payee,
        deals=list(deals),
        months=[p.name for p in months],
        lines=_lines(base_all, list_all, priced_all),
        credits=_credits(credits, deals, _payee_names(session)),
        seconds=time.perf_counter() - started,
    )


def _payee_names(session: Session) -> dict[Any, str]:
    """Payee id (and external id) → external id, for credit rows whichever they carry."""
    names: dict[Any, str] = {}
    for pid, external in session.execute(select(m.Payee.id, m.Payee.external_id)).tuples():
        names[pid] = external
        names[external] = external
    return names


def _plan_months(
    session: Session, person: m.Payee, periods: list[Period], deals: Sequence[Deal], years: dict[str, Year]
) -> list[Period]:
    """The months to run for `deals` (reading each fiscal year's inputs into `years` once)."""
    months: dict[str, Period] = {}
    for d in deals:
        year = _containing(periods, d.close_date, PeriodKind.YEAR)
        if year.name not in years:
            years[year.name] = read_year(session, person, year)
        for month in affected_months(periods, years[year.name].plans, [d]):
            months[month.name] = month
    return sorted(months.values(), key=lambda p: p.start)


# --- ranking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """An open deal with its expected earnings: probability × (marginal + renewal value)."""

    deal: Deal
    probability: Decimal
    marginal: Decimal  # earnings with the deal − without, over its affected months, in the plan currency
    renewal_value: Decimal
    expected: Decimal
    currency: str
    months: list[str]


def rank_open_deals(
    session: Session,
    payee: str,
    probabilities: Mapping[str, Decimal] | None = None,
    *,
    close_on: date | None = None,
    backend: str | None = None,
    on_step: OnStep | None = None,
    batch: bool = True,
) -> list[Ranked]:
    """The payee's open deals by expected earnings, highest first (ties: close date, id). Per affected month, one
    engine run holds the month as it stands and every deal closing by then, each deal on its own clone of the
    payee (`run_scenarios`; up to RANK_BATCH deals a run), on inputs read once per fiscal year."""
    deals = open_deals(session, payee, close_on)
    if not deals:
        return []
    person = payee_named(session, payee)
    periods = calendar_periods(session)
    ids = store_ids(session, deals)
    years: dict[str, Year] = {}
    per_deal = {d.key: _plan_months(session, person, periods, [d], years) for d in deals}
    all_months = sorted({p.name: p for ps in per_deal.values() for p in ps}.values(), key=lambda p: p.start)
    marginal = dict.fromkeys(per_deal, ZERO)
    currency = ""
    for done, month in enumerate(all_months):
        if on_step is not None:
            on_step(done, len(all_months), f"{month.name}: {len(deals)} deals")
        year = years[_containing(periods, month.start, PeriodKind.YEAR).name]
        columns = year.inputs.get("transactions").column_names
        here = [d for d in deals if any(p.name == month.name for p in per_deal[d.key])]
        extras = [None, *(deal_transactions([d], ids, columns) for d in here)]
        for chunk in range(0, len(here), RANK_BATCH):
            part = [None, *extras[1 + chunk : 1 + chunk + RANK_BATCH]]
            outcome = run_scenarios(periods, year, month, payee, person.id, part, backend, batch)
            base = sum((e.amount for e in outcome[0][0]), ZERO)
            for d, (earnings, _) in zip(here[chunk : chunk + RANK_BATCH], outcome[1:], strict=True):
                marginal[d.key] += sum((e.amount for e in earnings), ZERO) - base
                currency = currency or next((e.currency for e in earnings), "")
    ranked = []
    for d in deals:
        probability = _probability(d, probabilities)
        expected = (probability * (marginal[d.key] + d.renewal_value)).quantize(CENT, ROUND_HALF_UP)
        months = [p.name for p in per_deal[d.key]]
        ranked.append(Ranked(d, probability, marginal[d.key], d.renewal_value, expected, currency, months))
    if on_step is not None:
        on_step(len(all_months), len(all_months), "done")
    ranked.sort(key=lambda r: (-r.expected, r.deal.close_date, r.deal.key))
    return ranked


def _probability(deal: Deal, probabilities: Mapping[str, Decimal] | None) -> Decimal:
    """The given probability for the deal's opportunity, else its stored one, else 0; as a fraction 0..1 (a
    stored value above 1 is read as a percent)."""
    found: Decimal | None = None
    if probabilities is not None and deal.opportunity is not None and deal.opportunity in probabilities:
        found = Decimal(str(probabilities[deal.opportunity]))
    elif deal.probability is not None:
        found = deal.probability
    if found is None:
        return ZERO
    return found / HUNDRED if found > 1 else found


# --- JSON --------------------------------------------------------------------------------------------


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def deal_json(d: Deal) -> dict[str, Any]:
    return {
        "key": d.key,
        "opportunity": d.opportunity,
        "name": d.name,
        "account": d.account,
        "product": d.product,
        "amount": str(d.amount),
        "discount": str(d.discount),
        "net_amount": str(d.net_amount),
        "currency": d.currency,
        "close_date": d.close_date.isoformat(),
        "probability": None if d.probability is None else str(d.probability),
        "renewal_value": str(d.renewal_value),
    }


def what_if_json(result: WhatIf) -> dict[str, Any]:
    """The what-if as JSON (money as text)."""
    return {
        "payee": result.payee,
        "deals": [deal_json(d) for d in result.deals],
        "months": result.months,
        "total": _text(result.total()),
        "discount_cost": _text(result.total("discount_cost")),
        "by_month": _text(result.by_month()),
        "credits": [
            {
                "deal": c.deal,
                "plan": c.plan,
                "payee": c.payee,
                "role": c.role,
                "share": str(c.share),
                "amount": str(c.amount),
                "currency": c.currency,
            }
            for c in result.credits
        ],
        "lines": [
            {
                "month": line.month,
                "plan": line.plan,
                "component": line.component,
                "measure_period": line.measure_period,
                "currency": line.currency,
                "before": str(line.before),
                "at_list": str(line.at_list),
                "after": str(line.after),
                "delta": str(line.delta),
                "discount_cost": str(line.discount_cost),
                "changes": [{"key": k, "before": _text(a), "after": _text(b)} for k, a, b in line.changes],
            }
            for line in result.lines
        ],
        "seconds": round(result.seconds, 3),
    }


def ranked_json(rows: list[Ranked]) -> list[dict[str, Any]]:
    return [
        {
            **deal_json(r.deal),
            "probability": str(r.probability),
            "marginal": str(r.marginal),
            "renewal_value": str(r.renewal_value),
            "expected": str(r.expected),
            "currency": r.currency,
            "months": r.months,
        }
        for r in rows
    ]
