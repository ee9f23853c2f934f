"""Win probability of open deals: stage probabilities calibrated from history, and a calibrated model.

Input: the store's opportunities (with their accounts and owners). Output: per open deal, P(win) from the
stage it is in (history), from a logistic-regression model calibrated with `CalibratedClassifierCV`, and the
features behind the model's score; a time-based hold-out evaluation (Brier score, log loss, AUC, reliability bins).

**Stage calibration.** Stages are ordered by the CRM's own probability of their open deals (Prospecting 0.10 <
Qualification 0.20 < ...). A closed deal's `attr.stage_reached` is the last open stage it was in before it
closed, so it reached that stage and every earlier one. P(win | reached s) = won deals that reached s ÷ closed
deals that reached s. Every deal reached the first stage, so a closed deal without `stage_reached` counts for the
first stage only. Example: 10 closed deals, 4 won; 6 reached Proposal of which 4 won → P(win | Proposal) = 4/6.

**Model.** One training row per stage a closed deal passed through (a deal that reached Negotiation was once at
Prospecting, Qualification, Proposal and Negotiation), with its outcome: the model learns P(win | at stage s,
features), which is the question asked of an open deal at stage s. Features: the stage, the deal (amount in the
reporting currency, planned cycle in days, type, lead source, activities, competitor), the account (industry,
size, segment, region, employees, potential) and the owner's record before the deal was created (smoothed win
rate, number of closed deals). Categorical features are one-hot, numbers standardised (missing → the mean).

**Features behind a score.** The model is linear in log-odds and the sigmoid calibration is a linear map of
them, so a score splits exactly: calibrated log-odds = baseline + Σ contribution(feature), where a feature's
contribution is −a · Σ_j coef_j · (x_j − mean_j) over its columns (a, b the calibrator's parameters) and the
baseline is −(a · (intercept + Σ_j coef_j · mean_j) + b). A contribution of +0.7 means this feature moves the
deal's odds up by e^0.7 ≈ 2× compared with an average training row.

Probabilities are floats internally; what leaves as a result is a `Decimal` (4 places for probabilities).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from openspm.core.errors import InvalidInput
from openspm.store import models as m
from openspm.store.fx import dated_rates

REPORTING_CURRENCY = "USD"
PROBABILITY = Decimal("0.0001")
OWNER_PRIOR = 5.0  # an owner's win rate is shrunk toward the overall rate as if they had 5 more average deals
CATEGORICAL = ("stage", "type", "lead_source", "competitor", "industry", "size", "segment", "region")
NUMERIC = ("log_amount", "cycle_days", "activities", "log_employees", "log_potential", "owner_win_rate", "owner_deals")
FEATURE_LABELS = {
    "stage": "stage",
    "type": "deal type",
    "lead_source": "lead source",
    "competitor": "competitor",
    "industry": "industry",
    "size": "account size",
    "segment": "segment",
    "region": "region",
    "log_amount": "amount",
    "cycle_days": "planned cycle (days)",
    "activities": "activities",
    "log_employees": "employees",
    "log_potential": "account potential",
    "owner_win_rate": "owner's win rate",
    "owner_deals": "owner's closed deals",
}


# --- deals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    """One opportunity with what forecasting needs of its account and owner."""

    id: str
    name: str
    status: str  # open, won, lost
    stage: str
    crm_probability: Decimal | None
    amount: Decimal  # in `currency`
    currency: str
    amount_reporting: Decimal  # in REPORTING_CURRENCY
    close_date: date
    created_date: date | None
    owner_id: int | None
    owner: str | None  # external id
    owner_name: str | None
    owner_region: str | None
    account: str | None
    account_name: str | None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    industry: str | None = None
    size: str | None = None
    segment: str | None = None
    region: str | None = None
    employees: int | None = None
    potential: Decimal | None = None

    @property
    def won(self) -> bool:
        return self.status == "won"

    @property
    def closed(self) -> bool:
        return self.status in ("won", "lost")

    @property
    def stage_reached(self) -> str | None:
        value = self.attributes.get("stage_reached")
        return str(value) if value else None


def convert(amount: Decimal, source: str, day: date, currency: str, rates: Mapping[str, Any]) -> Decimal:
    """`amount` in `source` as `currency` at the last rate on or before `day` (the first rate when none is)."""
    if source == currency:
        return amount
    for key in (source, f"~{source}"):
        known: list[tuple[date, Decimal]] = rates.get(key, [])
        if known:
            dated = [rate for start, rate in known if start <= day] or [known[0][1]]
            return amount * dated[-1]
    raise InvalidInput(f"no rate from {source} to {currency}: import fx_rates first")


def load_deals(session: Session, currency: str = REPORTING_CURRENCY) -> list[Deal]:
    """Every opportunity with its account's firmographics and owner, amounts also in `currency`.

    Open deals convert at the rate of their expected close date (the last known rate), closed ones at theirs.
    """
    o, a, p = m.Opportunity, m.Account, aliased(m.Payee)
    rows = session.execute(
        select(
            o.external_id,
            o.name,
            o.status,
            o.stage,
            o.probability,
            o.amount,
            o.currency,
            o.close_date,
            o.created_date,
            o.owner_id,
            o.attributes,
            p.external_id,
            p.name,
            p.region,
            a.external_id,
            a.name,
            a.industry,
            a.size,
            a.segment,
            a.region,
            a.employees,
            a.potential,
        )
        .outerjoin(a, a.id == o.account_id)
        .outerjoin(p, p.id == o.owner_id)
        .order_by(o.external_id)
    ).all()
    rates = dated_rates(session, currency) if any(r[6] != currency for r in rows) else {}
    deals: list[Deal] = []
    for r in rows:
        (ext, name, status, stage, probability, amount, source, close, created, owner_id, attributes) = r[:11]
        (owner, owner_name, owner_region, account, account_name, industry, size, segment, region) = r[11:20]
        deals.append(
            Deal(
                id=ext,
                name=name,
                status=status,
                stage=stage,
                crm_probability=probability,
                amount=amount,
                currency=source,
                amount_reporting=convert(amount, source, close, currency, rates),
                close_date=close,
                created_date=created,
                owner_id=owner_id,
                owner=owner,
                owner_name=owner_name,
                owner_region=owner_region,
                account=account,
                account_name=account_name,
                attributes=dict(attributes or {}),
                industry=industry,
                size=size,
                segment=segment,
                region=region or owner_region,
                employees=r[20],
                potential=r[21],
            )
        )
    return deals


def fingerprint(deals: Sequence[Deal], *extra: object) -> str:
    """A digest of everything the model reads, to cache a trained model per data version."""
    digest = hashlib.sha256(repr(extra).encode())
    for d in deals:
        digest.update(
            repr(
                (
                    (d.id, d.status, d.stage, d.crm_probability, d.amount_reporting, d.close_date, d.created_date),
                    (d.owner_id, d.account, d.industry, d.size, d.segment, d.region, d.employees, d.potential),
                    sorted(d.attributes.items()),
                )
            ).encode()
        )
    return digest.hexdigest()


# --- stage calibration ------------------------------------------------------------------


@dataclass(frozen=True)
class StageRate:
    """P(win | reached `stage`) from closed deals, next to the CRM's probability for the stage."""

    stage: str
    reached: int
    won: int
    probability: Decimal | None  # won / reached; None when no closed deal reached the stage
    crm_probability: Decimal | None  # the CRM's probability of open deals at this stage (most common value)


def stage_order(deals: Iterable[Deal]) -> list[str]:
    """Open stages in sales order: by the CRM probability their open deals carry (then by name).

    Stages named only in `stage_reached` of closed deals come last, by name.
    """
    crm = _crm_probabilities(deals)
    reached = {d.stage_reached for d in deals if d.closed and d.stage_reached}
    known = sorted(crm, key=lambda s: (crm[s] if crm[s] is not None else Decimal(2), s))
    return known + sorted(s for s in reached if s not in crm)


def _crm_probabilities(deals: Iterable[Deal]) -> dict[str, Decimal | None]:
    counts: dict[str, dict[Decimal, int]] = {}
    for d in deals:
        if d.status == "open":
            seen = counts.setdefault(d.stage, {})
            if d.crm_probability is not None:
                seen[d.crm_probability] = seen.get(d.crm_probability, 0) + 1
    return {s: (max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] if c else None) for s, c in counts.items()}


def stage_calibration(deals: Sequence[Deal], order: Sequence[str] | None = None) -> list[StageRate]:
    """P(win | reached stage) per stage in `order` (default `stage_order`) from the closed deals in `deals`."""
    order = list(order) if order is not None else stage_order(deals)
    crm = _crm_probabilities(deals)
    index = {s: i for i, s in enumerate(order)}
    reached = [0] * len(order)
    won = [0] * len(order)
    for d in deals:
        if not d.closed:
            continue
        last = index.get(d.stage_reached or "", 0)
        for i in range(last + 1):
            reached[i] += 1
            won[i] += d.won
    return [
        StageRate(
            s,
            reached[i],
            won[i],
            _probability(won[i] / reached[i]) if reached[i] else None,
            crm.get(s),
        )
        for i, s in enumerate(order)
    ]


def stage_probabilities(rates: Sequence[StageRate]) -> dict[str, float]:
    """Stage → P(win) as a float; a stage no closed deal reached takes the nearest earlier stage's rate."""
    found: dict[str, float] = {}
    last: float | None = None
    for rate in rates:
        if rate.probability is not None:
            last = float(rate.probability)
        if last is not None:
            found[rate.stage] = last
    return found


def _probability(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(PROBABILITY, ROUND_HALF_UP)


# --- features -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerRecord:
    """The closed deals of each owner, by close date, to tell their record before a day."""

    outcomes: Mapping[int, list[tuple[date, bool]]]
    overall: float

    @staticmethod
    def of(deals: Iterable[Deal]) -> OwnerRecord:
        outcomes: dict[int, list[tuple[date, bool]]] = {}
        total = won = 0
        for d in deals:
            if d.closed:
                total += 1
                won += d.won
                if d.owner_id is not None:
                    outcomes.setdefault(d.owner_id, []).append((d.close_date, d.won))
        for history in outcomes.values():
            history.sort()
        return OwnerRecord(outcomes, won / total if total else 0.5)

    def before(self, owner_id: int | None, day: date) -> tuple[float, int]:
        """(smoothed win rate, closed deals) of the owner's deals closed before `day`."""
        history = [won for closed, won in self.outcomes.get(owner_id or -1, []) if closed < day]
        rate = (sum(history) + OWNER_PRIOR * self.overall) / (len(history) + OWNER_PRIOR)
        return rate, len(history)


def _log(value: Decimal | int | None) -> float | None:
    return math.log1p(max(float(value), 0.0)) if value is not None else None


def features(deal: Deal, stage: str, owners: OwnerRecord, day: date) -> dict[str, Any]:
    """The model's raw features of `deal` at `stage`, its owner's record taken before `day`."""
    rate, count = owners.before(deal.owner_id, day)
    activities = deal.attributes.get("activities")
    try:
        activity_count: float | None = float(activities) if activities not in (None, "") else None
    except (TypeError, ValueError):
        activity_count = None
    cycle = (deal.close_date - deal.created_date).days if deal.created_date else None
    return {
        "stage": stage,
        "type": deal.attributes.get("type"),
        "lead_source": deal.attributes.get("lead_source"),
        "competitor": deal.attributes.get("competitor"),
        "industry": deal.industry,
        "size": deal.size,
        "segment": deal.segment,
        "region": deal.region,
        "log_amount": _log(deal.amount_reporting),
        "cycle_days": float(cycle) if cycle is not None else None,
        "activities": activity_count,
        "log_employees": _log(deal.employees),
        "log_potential": _log(deal.potential),
        "owner_win_rate": rate,
        "owner_deals": math.log1p(count),
    }


def training_rows(
    deals: Iterable[Deal], order: Sequence[str], owners: OwnerRecord
) -> tuple[list[dict[str, Any]], list[int], list[Deal]]:
    """One row per stage each closed deal passed through; (features, outcome 1/0, the deal of each row)."""
    index = {s: i for i, s in enumerate(order)}
    rows: list[dict[str, Any]] = []
    outcomes: list[int] = []
    of: list[Deal] = []
    for d in deals:
        if not d.closed:
            continue
        day = d.created_date or d.close_date
        for stage in order[: index.get(d.stage_reached or "", 0) + 1] or [d.stage]:
            rows.append(features(d, stage, owners, day))
            outcomes.append(int(d.won))
            of.append(d)
    return rows, outcomes, of


@dataclass
class Design:
    """Raw features → a numeric matrix: one-hot levels seen in training, standardised numbers."""

    levels: dict[str, list[str]]
    means: dict[str, float]
    scales: dict[str, float]
    columns: list[tuple[str, str]]  # (feature, level or "")

    @staticmethod
    def fit(rows: Sequence[Mapping[str, Any]]) -> Design:
        levels = {f: sorted({str(r[f]) for r in rows if r[f] is not None}) for f in CATEGORICAL}
        means: dict[str, float] = {}
        scales: dict[str, float] = {}
        for f in NUMERIC:
            values = [float(r[f]) for r in rows if r[f] is not None]
            means[f] = float(np.mean(values)) if values else 0.0
            spread = float(np.std(values)) if values else 0.0
            scales[f] = spread if spread > 1e-12 else 1.0
        columns = [(f, level) for f in CATEGORICAL for level in levels[f]] + [(f, "") for f in NUMERIC]
        return Design(levels, means, scales, columns)

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        x = np.zeros((len(rows), len(self.columns)))
        where = {column: j for j, column in enumerate(self.columns)}
        for f in CATEGORICAL:
            for i, r in enumerate(rows):
                j = where.get((f, str(r[f]))) if r[f] is not None else None
                if j is not None:
                    x[i, j] = 1.0
        for f in NUMERIC:
            values = [self.means[f] if r[f] is None else float(r[f]) for r in rows]
            x[:, where[(f, "")]] = (np.asarray(values, dtype=float) - self.means[f]) / self.scales[f]
        return x

    def groups(self) -> tuple[list[str], NDArray[np.float64]]:
        """The features in column order and a (columns × features) 0/1 matrix that sums columns per feature."""
        names = list(dict.fromkeys(f for f, _ in self.columns))
        index = {f: k for k, f in enumerate(names)}
        g = np.zeros((len(self.columns), len(names)))
        for j, (f, _) in enumerate(self.columns):
            g[j, index[f]] = 1.0
        return names, g


# --- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    """What one feature adds to a deal's calibrated log-odds (positive raises the chance)."""

    feature: str
    value: str
    log_odds: float


@dataclass
class WinModel:
    """A logistic regression on `Design` columns with a sigmoid calibration fitted by cross-validation."""

    design: Design
    coef: NDArray[np.float64]
    intercept: float
    column_means: NDArray[np.float64]
    a: float  # calibrated p = expit(-(a · f + b)), f the regression's log-odds
    b: float
    order: list[str]
    owners: OwnerRecord
    rows: int  # training rows
    deals: int  # closed deals trained on

    @staticmethod
    def train(deals: Sequence[Deal], order: Sequence[str] | None = None) -> WinModel:
        """Fit on the closed deals of `deals` (InvalidInput when there are too few, or only one outcome)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # comes with scikit-learn

        order = list(order) if order is not None else stage_order(deals)
        owners = OwnerRecord.of(deals)
        raw, outcomes, of = training_rows(deals, order, owners)
        closed = len({d.id for d in of})
        if closed < 10 or len(set(outcomes)) < 2:
            raise InvalidInput(f"a win-probability model needs at least 10 closed deals, won and lost; found {closed}")
        design = Design.fit(raw)
        x = design.matrix(raw)
        y = np.asarray(outcomes)
        folds = int(min(5, np.bincount(y).min()))
        base = LogisticRegression(C=0.5, solver="newton-cholesky", max_iter=200)
        # one BLAS thread: a few thousand rows fit in tens of milliseconds, and threads only fight the web workers
        with threadpool_limits(limits=1):
            if folds >= 2:
                calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False).fit(x, y)
                fitted = calibrated.calibrated_classifiers_[0]
                regression = fitted.estimator
                a, b = float(fitted.calibrators[0].a_), float(fitted.calibrators[0].b_)
            else:  # too few of one outcome to cross-validate: the identity calibration
                regression, a, b = base.fit(x, y), -1.0, 0.0
        return WinModel(
            design,
            np.asarray(regression.coef_[0], dtype=float),
            float(regression.intercept_[0]),
            x.mean(axis=0),
            a,
            b,
            order,
            owners,
            len(raw),
            closed,
        )

    def raw_log_odds(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The regression's (uncalibrated) log-odds."""
        return np.asarray(x @ self.coef + self.intercept, dtype=float)

    def log_odds(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The calibrated log-odds."""
        return -(self.a * self.raw_log_odds(x) + self.b)

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        return _expit(self.log_odds(self.design.matrix(rows)))

    def predict_uncalibrated(self, rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        return _expit(self.raw_log_odds(self.design.matrix(rows)))

    @property
    def baseline_log_odds(self) -> float:
        """The calibrated log-odds of an average training row (every contribution zero)."""
        return -(self.a * (self.intercept + float(self.coef @ self.column_means)) + self.b)

    def contributions(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Contribution]]:
        """Each row's features with their share of its calibrated log-odds, largest effect first; with the
        baseline they sum to the row's log-odds exactly."""
        names, groups = self.design.groups()
        parts = (-self.a * self.coef * (self.design.matrix(rows) - self.column_means)) @ groups
        found: list[list[Contribution]] = []
        for row, shares in zip(rows, parts, strict=True):
            each = [
                Contribution(FEATURE_LABELS[f], _shown(f, row[f]), float(v)) for f, v in zip(names, shares, strict=True)
            ]
            found.append(sorted(each, key=lambda c: (-abs(c.log_odds), c.feature)))
        return found


def _expit(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def _shown(feature: str, value: Any) -> str:
    """A raw feature as a person reads it."""
    if value is None:
        return "unknown"
    if feature in ("log_amount", "log_employees", "log_potential"):
        return f"{math.expm1(value):,.0f}"
    if feature == "owner_deals":
        return f"{math.expm1(value):.0f}"
    if feature == "owner_win_rate":
        return f"{value:.0%}"
    if feature in ("cycle_days", "activities"):
        return f"{value:.0f}"
    return str(value)


# --- scores of open deals ---------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """An open deal's probabilities: CRM, stage-calibrated, model; with the features behind the model's."""

    deal: Deal
    crm_probability: Decimal | None
    stage_probability: Decimal | None
    probability: Decimal  # the calibrated model's
    baseline_log_odds: float
    contributions: list[Contribution]


@dataclass
class Trained:
    """A model with the stage rates of the same history and the day it speaks as of."""

    model: WinModel
    rates: list[StageRate]
    as_of: date
    fingerprint: str
    scores: dict[str, Score] = field(default_factory=dict)  # every open deal's, made on first use


_CACHE: dict[str, Trained] = {}
_CACHE_SIZE = 8


def as_of_day(deals: Sequence[Deal], as_of: date | None) -> date:
    """`as_of`, or the day after the last close when None (the day the model speaks as of)."""
    if as_of is not None:
        return as_of
    closes = [d.close_date for d in deals if d.closed]
    return max(closes) + timedelta(days=1) if closes else date.today()


def history(deals: Sequence[Deal], as_of: date | None) -> list[Deal]:
    """The deals a model as of `as_of` may learn from: closed before it (every closed deal when None)."""
    return [d for d in deals if d.closed and (as_of is None or d.close_date < as_of)] + [
        d for d in deals if d.status == "open"
    ]


def trained(deals: Sequence[Deal], as_of: date | None = None) -> Trained:
    """The model and stage rates for `deals` as of `as_of`, cached by the data's fingerprint."""
    key = fingerprint(deals, as_of)
    if key not in _CACHE:
        known = history(deals, as_of)
        order = stage_order(known)
        model = WinModel.train(known, order)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = Trained(model, stage_calibration(known, order), as_of_day(deals, as_of), key)
    return _CACHE[key]


def score_deals(deals: Sequence[Deal], as_of: date | None = None, only: Iterable[Deal] | None = None) -> list[Score]:
    """Scores of the open deals of `only` (default: every open deal), trained on the closed ones of `deals`.

    Every open deal is scored once per data version (with the model), so a narrower `only` costs a look-up.
    """
    wanted = [d for d in (deals if only is None else only) if d.status == "open"]
    if not wanted:
        return []
    fit = trained(deals, as_of)
    if not fit.scores:
        fit.scores = {s.deal.id: s for s in _score(fit, [d for d in deals if d.status == "open"])}
    return [fit.scores[d.id] for d in wanted]


def _score(fit: Trained, open_deals: Sequence[Deal]) -> list[Score]:
    stages = stage_probabilities(fit.rates)
    rows = [features(d, d.stage, fit.model.owners, fit.as_of) for d in open_deals]
    predicted = fit.model.predict(rows)
    behind = fit.model.contributions(rows)
    scores: list[Score] = []
    for d, p, contributions in zip(open_deals, predicted, behind, strict=True):
        stage = stages.get(d.stage)
        scores.append(
            Score(
                d,
                d.crm_probability,
                _probability(stage) if stage is not None else None,
                _probability(float(p)),
                fit.model.baseline_log_odds,
                contributions,
            )
        )
    return scores


def win_probabilities(session: Session, as_of: date | None = None) -> dict[str, Decimal]:
    """P(win) of every open opportunity by its external id, from the calibrated model (4 decimal places).

    Trained on the opportunities closed before `as_of` (every closed one when None); cached per data version.
    """
    deals = load_deals(session)
    return {s.deal.id: s.probability for s in score_deals(deals, as_of)}


# --- hold-out evaluation ------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """Scores of one predictor on the hold-out rows: lower Brier and log loss are better, higher AUC."""

    name: str
    brier: float
    log_loss: float
    auc: float | None  # None when the hold-out has one outcome only


@dataclass(frozen=True)
class ReliabilityBin:
    """Hold-out rows whose prediction fell in `[low, high)`: their mean prediction and observed win rate."""

    low: float
    high: float
    rows: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class Evaluation:
    """A time-based hold-out: trained on deals closed before `cut`, tested on deals closed on or after it."""

    cut: date
    train_deals: int
    test_deals: int
    train_rows: int
    test_rows: int
    base_rate: float  # the training win rate per row
    metrics: list[Metrics]  # model, uncalibrated model, stage-calibrated, CRM probability, base rate
    bins: dict[str, list[ReliabilityBin]]  # by predictor name


def default_cut(deals: Sequence[Deal]) -> date:
    """The first of the month in which the last quarter (by count) of the closed deals begins."""
    closes = sorted(d.close_date for d in deals if d.closed)
    if not closes:
        raise InvalidInput("no closed deals to evaluate a model on")
    return closes[(len(closes) * 3) // 4].replace(day=1)


def evaluate(deals: Sequence[Deal], cut: date | None = None, bins: int = 10) -> Evaluation:
    """Train on the closed deals before `cut` (default `default_cut`), score the ones closed from `cut` on.

    Every predictor is scored on the same rows (one per stage a test deal passed through): the calibrated model,
    the regression before calibration, the stage rates of the training deals, the CRM's stage probability and
    the training base rate.
    """
    cut = cut or default_cut(deals)
    train = [d for d in deals if (d.closed and d.close_date < cut) or d.status == "open"]
    test = [d for d in deals if d.closed and d.close_date >= cut]
    if not test:
        raise InvalidInput(f"no deal closed on or after {cut}: pick an earlier cut date")
    order = stage_order(deals)
    model = WinModel.train(train, order)
    stage_rates = stage_probabilities(stage_calibration(train, order))
    crm = {k: float(v) for k, v in _crm_probabilities(deals).items() if v is not None}
    owners = OwnerRecord.of(d for d in deals if d.closed)
    raw, outcomes, _ = training_rows(test, order, owners)
    y = np.asarray(outcomes, dtype=float)
    base_rate = float(np.mean(training_rows(train, order, owners)[1]))
    predictions = {
        "model": model.predict(raw),
        "uncalibrated": model.predict_uncalibrated(raw),
        "stage": np.asarray([stage_rates.get(r["stage"], base_rate) for r in raw]),
        "crm": np.asarray([crm.get(r["stage"], base_rate) for r in raw]),
        "base rate": np.full(len(raw), base_rate),
    }
    return Evaluation(
        cut,
        len({d.id for d in train if d.closed}),
        len(test),
        model.rows,
        len(raw),
        base_rate,
        [_metrics(name, p, y) for name, p in predictions.items()],
        {name: reliability(p, y, bins) for name, p in predictions.items() if name != "base rate"},
    )


def _metrics(name: str, p: NDArray[np.float64], y: NDArray[np.float64]) -> Metrics:
    from sklearn.metrics import roc_auc_score

    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    brier = float(np.mean((p - y) ** 2))
    loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    auc = float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else None
    return Metrics(name, brier, loss, auc)


def reliability(p: NDArray[np.float64], y: NDArray[np.float64], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins of the prediction; the empty ones are left out."""
    found: list[ReliabilityBin] = []
    which = np.minimum((p * bins).astype(int), bins - 1)
    for k in range(bins):
        mask = which == k
        if mask.any():
            found.append(
                ReliabilityBin(k / bins, (k + 1) / bins, int(mask.sum()), float(p[mask].mean()), float(y[mask].mean()))
            )
    return found


_EVALUATIONS: dict[str, Evaluation] = {}


def evaluation(deals: Sequence[Deal], cut: date | None = None) -> Evaluation:
    """`evaluate`, cached by the data's fingerprint and the cut date."""
    key = fingerprint(deals, "evaluation", cut)
    if key not in _EVALUATIONS:
        if len(_EVALUATIONS) >= _CACHE_SIZE:
            _EVALUATIONS.pop(next(iter(_EVALUATIONS)))
        _EVALUATIONS[key] = evaluate(deals, cut)
    return _EVALUATIONS[key]
