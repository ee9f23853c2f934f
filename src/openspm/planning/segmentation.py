"""Account segmentation by rules, and account potential scored from firmographics and history.

**Segments.** A rules file lists segments in order; an account gets the first whose `when` holds (a condition in
the plan files' safe expression language over the account's fields: `employees`, `annual_revenue`, `industry`,
`size`, `country`, `region`, `city`, `potential`, `attributes.<key>`); a rule without `when` catches the rest:

    segments:
      - {name: Strategic, when: "annual_revenue >= 1000000000 or attributes.tier == 'A'"}
      - {name: Enterprise, when: "employees >= 1000"}
      - {name: Mid-Market, when: "employees >= 100"}
      - {name: SMB}

The account stores its segment and, in `attributes.segment_rule`, which rule gave it.

**Potential.** What an account could buy in a year: a log-linear ridge regression (scikit-learn) of the last
`months` of each account's sales, converted to one currency at each sale's dated rate, on log employees, log annual
revenue and one-hot industry, size and region, fitted on the accounts that bought. An account's potential is the
larger of its prediction (what similar accounts buy) and its own history (it already buys that much), rounded to
whole units. `attributes.potential_explained` keeps the prediction, the history and the three factors that move it
most (each a multiplier against the average account: `exp(coef × (x − mean))`). The fit's quality (cross-validated
R² on the log scale and WAPE on amounts) is reported, so nobody trusts a poor model blindly. The model works in
binary floating point; the stored potential is a Decimal built from the rounded result's text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput
from openspm.core.period import add_months
from openspm.plan.expr import Expr, ExprError, evaluate, parse
from openspm.store import models as m
from openspm.store.audit import audit
from openspm.store.fx import dated_rates

FIELDS = ("employees", "annual_revenue", "industry", "size", "country", "region", "city", "potential")


# --- segments -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRule:
    name: str
    when: Expr | None
    text: str  # how the rule reads, for the explanation


def parse_segment_rules(data: Any, source: str = "segments") -> list[SegmentRule]:
    """`{"segments": [{"name", "when"?}, ...]}` → rules; errors name `source @ segments[i].key`."""
    items = data.get("segments") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{source} @ segments: a non-empty list of {{name, when}} is required")
    rules = []
    for i, item in enumerate(items):
        where = f"{source} @ segments[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InvalidInput(f"{where}.name: each segment needs a name")
        unknown = set(item) - {"name", "when"}
        if unknown:
            raise InvalidInput(f"{where}: unknown key {sorted(unknown)[0]!r}; a segment has name and when")
        when = item.get("when")
        if when is None:
            rules.append(SegmentRule(item["name"].strip(), None, f"{item['name']}: every other account"))
            continue
        try:
            expr = parse(str(when))
        except ExprError as exc:
            raise InvalidInput(f"{where}.when: {exc}") from None
        rules.append(SegmentRule(item["name"].strip(), expr, f"{item['name']}: {when}"))
    return rules


def account_env(account: m.Account) -> dict[str, Any]:
    """The names a segment condition may use, each also as `account.<name>`."""
    env: dict[str, Any] = {f: getattr(account, f) for f in FIELDS}
    env.update({"id": account.external_id, "name": account.name})
    for key, value in (account.attributes or {}).items():
        env[f"attributes.{key}"] = value
    return {**env, **{f"account.{k}": v for k, v in env.items()}}


def segment_of(rules: Sequence[SegmentRule], env: Mapping[str, Any]) -> tuple[str, int] | None:
    """The first rule whose condition holds (its name and index), or None. Unknown names count as null."""
    for index, rule in enumerate(rules):
        if rule.when is None:
            return rule.name, index
        try:
            holds = evaluate(rule.when, _Lenient(env))
        except ExprError as exc:
            raise InvalidInput(f"segments[{index}].when: {exc}") from None
        if holds is True:
            return rule.name, index
    return None


class _Lenient(dict[str, Any]):
    """An environment where an attribute an account does not have reads as null."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> Any:
        return None


@dataclass(frozen=True)
class SegmentReport:
    counts: dict[str, int]  # segment → accounts
    changed: int
    unmatched: list[str]  # accounts no rule matched (they keep their segment)
    dry_run: bool


def segment_accounts(engine: Engine, rules: Sequence[SegmentRule], actor: str, dry_run: bool = False) -> SegmentReport:
    """Give every account its segment by `rules`; changes are audited (nothing is written with `dry_run`)."""
    counts: dict[str, int] = {}
    unmatched: list[str] = []
    changed = 0
    with Session(engine) as session, session.begin():
        for account in session.scalars(select(m.Account).order_by(m.Account.external_id)):
            found = segment_of(rules, _Lenient(account_env(account)))
            if found is None:
                unmatched.append(account.external_id)
                continue
            name, index = found
            counts[name] = counts.get(name, 0) + 1
            reason = f"rule {index + 1}, {rules[index].text}"
            if account.segment == name and (account.attributes or {}).get("segment_rule") == reason:
                continue
            changed += 1
            if dry_run:
                continue
            audit(
                session,
                actor,
                "update",
                "accounts",
                account.external_id,
                before={"segment": account.segment},
                after={"segment": name, "segment_rule": reason},
            )
            account.segment = name
            account.attributes = {**(account.attributes or {}), "segment_rule": reason}
            account.row_hash = None
        if dry_run:
            session.rollback()
    return SegmentReport(dict(sorted(counts.items())), changed, unmatched, dry_run)


# --- potential ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PotentialReport:
    accounts: int
    fitted_on: int  # accounts with sales in the window
    currency: str
    window: tuple[date, date]
    r2_log: float | None  # cross-validated, log scale
    wape: float | None  # cross-validated, on amounts
    changed: int
    dry_run: bool
    top: list[tuple[str, Decimal, dict[str, Any]]] = field(default_factory=list)  # the largest potentials


def _convert(amount: Decimal, source: str, day: date, currency: str, rates: Mapping[str, Any]) -> Decimal:
    if source == currency:
        return amount
    for key in (source, f"~{source}"):
        dated = [rate for start, rate in rates.get(key, []) if start <= day]
        if dated:
            rate: Decimal = dated[-1]
            return amount * rate
    raise InvalidInput(f"no rate from {source} to {currency} on {day}: import fx_rates first")


def _history(session: Session, start: date, end: date, currency: str) -> dict[int, Decimal]:
    rates = dated_rates(session, currency)
    totals: dict[int, Decimal] = {}
    rows = session.execute(
        select(m.Transaction.account_id, m.Transaction.amount, m.Transaction.currency, m.Transaction.date).where(
            m.Transaction.date >= start, m.Transaction.date < end
        )
    )
    for account_id, amount, source, day in rows:
        totals[account_id] = totals.get(account_id, Decimal(0)) + _convert(amount, source, day, currency, rates)
    return totals


def _features(accounts: list[m.Account]) -> tuple[Any, list[str]]:
    import numpy as np

    columns = ["log employees", "log annual revenue"]
    categories: dict[str, list[str]] = {}
    for name in ("industry", "size", "region"):
        categories[name] = sorted({str(getattr(a, name)) for a in accounts if getattr(a, name)})
        columns += [f"{name}={value}" for value in categories[name]]
    rows = []
    for a in accounts:
        row = [math.log1p(float(a.employees or 0)), math.log1p(float(a.annual_revenue or 0))]
        for name, values in categories.items():
            row += [1.0 if str(getattr(a, name)) == v else 0.0 for v in values]
        rows.append(row)
    return np.array(rows, dtype=float), columns


def _factors(account: m.Account, effects: Any, columns: list[str]) -> list[dict[str, Any]]:
    """The three features that move the account's prediction most, as multipliers against the average account.

    A category's one-hot columns act together, so they are summed and named by the account's own value
    (`size=ENT`), never by a category it is not in.
    """
    grouped: dict[str, float] = {}
    for column, effect in zip(columns, effects, strict=True):
        group = column.split("=")[0]
        label = column if "=" not in column else f"{group}={getattr(account, group)}"
        grouped[label] = grouped.get(label, 0.0) + float(effect)
    ranked = sorted(grouped.items(), key=lambda item: -abs(item[1]))[:3]
    return [{"feature": label, "multiplier": round(math.exp(effect), 3)} for label, effect in ranked]


def score_potential(
    engine: Engine,
    actor: str,
    *,
    months: int = 12,
    as_of: date | None = None,
    currency: str = "USD",
    dry_run: bool = False,
) -> PotentialReport:
    """Fit the potential model on the last `months` of sales before `as_of` (default today) and store each
    account's potential with its explanation (see the module docstring)."""
    import numpy as np
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict

    if months < 1:
        raise InvalidInput("months must be at least 1")
    end = as_of or utc_now().date()
    start = add_months(end, -months)
    with Session(engine) as session, session.begin():
        accounts = list(session.scalars(select(m.Account).order_by(m.Account.external_id)))
        if not accounts:
            raise InvalidInput("no accounts to score")
        history = _history(session, start, end, currency)
        x, columns = _features(accounts)
        spend = np.array([float(history.get(a.id, 0)) for a in accounts])
        bought = spend > 0
        if bought.sum() < 10:
            raise InvalidInput(f"only {int(bought.sum())} accounts bought between {start} and {end}: too few to fit")
        y = np.log1p(spend[bought])
        model = Ridge(alpha=1.0)
        folds = KFold(n_splits=5, shuffle=True, random_state=0)
        predicted_cv = cross_val_predict(model, x[bought], y, cv=folds)
        r2 = 1 - float(((y - predicted_cv) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        actual = spend[bought]
        wape = float(np.abs(actual - np.expm1(predicted_cv)).sum() / actual.sum())
        model.fit(x[bought], y)
        predicted = np.expm1(model.predict(x))
        centre = x[bought].mean(axis=0)
        changed = 0
        scored: list[tuple[str, Decimal, dict[str, Any]]] = []
        for i, account in enumerate(accounts):
            factors = _factors(account, model.coef_ * (x[i] - centre), columns)
            own = history.get(account.id, Decimal(0))
            model_value = Decimal(str(round(max(float(predicted[i]), 0.0))))
            potential = max(model_value, own.quantize(Decimal(1)))
            explained = {
                "model": "ridge, log-linear",
                "predicted": format(model_value, "f"),
                "history": format(own.quantize(Decimal("0.01")), "f"),
                "currency": currency,
                "window": [start.isoformat(), end.isoformat()],
                "basis": "history" if potential > model_value else "model",
                "factors": factors,
            }
            scored.append((account.external_id, potential, explained))
            if account.potential == potential:
                continue
            changed += 1
            if dry_run:
                continue
            audit(
                session,
                actor,
                "update",
                "accounts",
                account.external_id,
                before={"potential": None if account.potential is None else format(account.potential, "f")},
                after={"potential": format(potential, "f")},
                note="potential scored",
            )
            account.potential = potential
            account.attributes = {**(account.attributes or {}), "potential_explained": explained}
            account.row_hash = None
        if dry_run:
            session.rollback()
    top = sorted(scored, key=lambda s: -s[1])[:5]
    return PotentialReport(len(accounts), int(bought.sum()), currency, (start, end), r2, wape, changed, dry_run, top)
