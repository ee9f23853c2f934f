"""Plan files survive a round trip: plan → dict → plan, and plan → YAML text → `parse_plan` → plan.

A plan stored as a version, shown in the web app and written back must be the same plan. Checked for generated
plans (a few measures and components with random tiers, caps, gates, multipliers and Decimal rates built from
text, never from floats) and for every plan file of the golden scenarios and the demo.

Fixed gap (kept as a test): a `flat_rate` whose `rate` is a number
comes back through JSON/YAML text as the *expression* string "0.05" (`FlatRate.rate` is `Decimal | str`;
`model_dump(mode="json")` writes a Decimal as a string, and Pydantic's smart union then picks `str`). It pays
the same, but it is not the same plan object.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from openspm.plan.load import check_plan, load_plan, parse_plan
from openspm.plan.models import RESERVED_WORDS, PlanDocument

ROOT = Path(__file__).resolve().parents[1]
PLAN_FILES = sorted(
    [
        *(ROOT / "tests" / "scenarios").glob("*/plan.yaml"),
        *(ROOT / "tests" / "scenarios").glob("*/plans/*.yaml"),
        *(ROOT / "src" / "openspm" / "demo" / "plans").glob("*.yaml"),
    ]
)


def via_dict(plan: PlanDocument) -> PlanDocument:
    return PlanDocument.model_validate(plan.model_dump(by_alias=True))


def via_yaml_text(plan: PlanDocument) -> PlanDocument:
    return parse_plan(yaml.safe_dump(plan.model_dump(mode="json", by_alias=True)), "round-trip.yaml")


# --- strategies ---------------------------------------------------------------------------------------------

NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,11}\Z").filter(lambda n: n not in RESERVED_WORDS)


def decimal_text(integer_digits: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals built from text such as '0.05' or '120000.5' (never via float)."""
    whole = st.integers(0, 10**integer_digits - 1)
    fraction = st.integers(0, 10**places - 1).map(lambda f: str(f).zfill(places).rstrip("0"))
    return st.builds(lambda w, f: Decimal(f"{w}.{f}" if f else str(w)), whole, fraction)


RATES = decimal_text(1, 4)
AMOUNTS = decimal_text(7, 2)
FRACTIONS = st.integers(0, 100).map(lambda n: Decimal(n) / 100)
DATES = st.dates(date(2020, 1, 1), date(2030, 12, 31))


@st.composite
def tier_tables(draw: st.DrawFn, contiguous: bool = True) -> list[dict[str, Any]]:
    """Ascending bands; the last is open-ended or closed; gaps only when not `contiguous`."""
    count = draw(st.integers(1, 4))
    lower = draw(st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1000)]))
    rows = []
    for i in range(count):
        width = draw(decimal_text(6, 2).filter(lambda w: w > 0))
        upper = lower + width
        last = i == count - 1
        row: dict[str, Any] = {"from": lower, "rate": draw(RATES)}
        if not last or draw(st.booleans()):
            row["to"] = upper
        rows.append(row)
        gap = Decimal(0) if contiguous else draw(st.sampled_from([Decimal(0), Decimal(100)]))
        lower = upper + gap
    return rows


def caps(per: list[str]) -> st.SearchStrategy[dict[str, Any] | None]:
    amount = st.fixed_dictionaries({"amount": AMOUNTS, "per": st.sampled_from(per)})
    multiple = st.fixed_dictionaries(
        {"target_multiple": decimal_text(1, 2), "per": st.sampled_from([p for p in per if p != "deal"])}
    )
    return st.none() | amount | multiple


@st.composite
def common(draw: st.DrawFn, name: str, measures: list[str]) -> dict[str, Any]:
    """Keys every component takes: period, payout, eligibility, gate, multipliers, cap."""
    measure = draw(st.sampled_from(measures))
    out: dict[str, Any] = {"name": name, "period": draw(st.sampled_from(["month", "quarter", "year"]))}
    if draw(st.booleans()):
        out["payout"] = {
            "timing": draw(st.sampled_from(["end", "true_up"])),
            "negative": draw(st.sampled_from(["claw", "carry", "floor"])),
        }
    if draw(st.booleans()):
        out["eligible"] = draw(st.sampled_from(["payee.role == 'AE'", "payee.region in ['EMEA', 'NA']"]))
    if draw(st.booleans()):
        threshold = draw(st.booleans())
        out["gate"] = {"when": f"attainment({measure}) >= {draw(FRACTIONS)}"}
        if threshold:
            out["gate"] |= {"pays_from": "threshold", "threshold": f"quota({measure}) * {draw(FRACTIONS)}"}
    out["multipliers"] = draw(
        st.lists(
            st.builds(
                lambda bound, factor: {"when": f"attainment({measure}) >= {bound}", "factor": factor},
                decimal_text(1, 2),
                decimal_text(1, 2),
            ),
            max_size=2,
        )
    )
    out["cap"] = draw(caps(["period", "year", "deal"]))
    return out


def consistent(component: dict[str, Any]) -> dict[str, Any]:
    """Keep combinations the plan check accepts: per-deal caps on per-transaction kinds only, and
    `pays_from: threshold` only on aggregate measures without a per-deal cap."""
    kind = component["kind"]
    per_transaction = kind in ("spif", "lookup_rate", "flat_rate") or component.get("apply") == "per_transaction"
    cap = component.get("cap")
    if cap is not None and cap.get("per") == "deal" and not per_transaction:
        component["cap"] = {**cap, "per": "period"}
    aggregate = kind in ("flat_rate", "override") or (kind == "tiered_rate" and component.get("apply") == "aggregate")
    deal_capped = component.get("cap") is not None and component["cap"].get("per") == "deal"
    gate = component.get("gate")
    if gate is not None and gate.get("pays_from") == "threshold" and (not aggregate or deal_capped):
        component["gate"] = {"when": gate["when"]}
    return component


@st.composite
def components(draw: st.DrawFn, name: str, measures: list[str]) -> dict[str, Any]:
    return consistent(draw(_components(name, measures)))


@st.composite
def _components(draw: st.DrawFn, name: str, measures: list[str]) -> dict[str, Any]:
    out = draw(common(name, measures))
    kind = draw(st.sampled_from(["flat_rate", "tiered_rate", "bonus", "spif", "override", "lookup_rate"]))
    measure = draw(st.sampled_from(measures))
    if kind == "flat_rate":
        rate: Any = draw(RATES | st.sampled_from(["param.rate", "coalesce(param.rate, 0.05)"]))
        return out | {"kind": kind, "measure": measure, "rate": rate}
    if kind == "tiered_rate":
        method = draw(st.sampled_from(["marginal", "retroactive", "section", "interpolated"]))
        apply = draw(st.sampled_from(["aggregate", "per_transaction"]))
        basis = "amount" if apply == "per_transaction" else draw(st.sampled_from(["amount", "attainment"]))
        adjustments = draw(
            st.lists(
                st.fixed_dictionaries({"discount_from": FRACTIONS, "factor": decimal_text(1, 2)}),
                max_size=2,
            )
        )
        return out | {
            "kind": kind,
            "measure": measure,
            "basis": basis,
            "method": method,
            "apply": apply,
            "boundary": draw(st.sampled_from(["lower", "upper"])),
            "tiers": draw(tier_tables(contiguous=method != "section")),
            "rate_adjustments": adjustments,
        }
    if kind == "bonus":
        paid = {"amount": draw(AMOUNTS)} if draw(st.booleans()) else {"target_share": draw(FRACTIONS)}
        return out | {"kind": kind, "when": f"{measure} >= {draw(AMOUNTS)}"} | paid
    if kind == "spif":
        start = draw(DATES)
        return out | {
            "kind": kind,
            "per": draw(st.sampled_from(["deal", "unit"])),
            "amount": draw(AMOUNTS),
            "window_from": start,
            "window_to": start + timedelta(days=draw(st.integers(1, 90))),
            "filter": draw(st.none() | st.just("product.family == 'Cloud'")),
            "roles": draw(st.sampled_from([["direct"], ["direct", "overlay"]])),
        }
    if kind == "override":
        if draw(st.booleans()):
            return out | {"kind": kind, "measure": measure, "rate": draw(RATES)}
        method = draw(st.sampled_from(["marginal", "retroactive", "interpolated"]))
        basis = draw(st.sampled_from(["amount", "attainment"]))
        return out | {"kind": kind, "measure": measure, "basis": basis, "method": method, "tiers": draw(tier_tables())}
    families = st.sampled_from(["Cloud", "Hardware", "Services", "2025", "null"])
    return out | {
        "kind": kind,
        "keys": ["product.family", "payee.region"],
        "table": draw(
            st.lists(
                st.fixed_dictionaries({"match": st.lists(families, min_size=2, max_size=2), "rate": RATES}),
                min_size=1,
                max_size=3,
            )
        ),
        "default_rate": draw(st.none() | RATES),
    }


@st.composite
def plans(draw: st.DrawFn) -> PlanDocument:
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    measures: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        roles = draw(st.sampled_from([["direct"], ["rollup"], ["overlay"], ["direct", "owner"]]))
        definition = draw(st.sampled_from(["sum", "count", "formula"] if i else ["sum", "count"]))
        measure: dict[str, Any] = {"name": name, "roles": roles, "accumulate": draw(st.sampled_from(["period", "ytd"]))}
        if definition == "sum":
            measure["sum"] = draw(st.sampled_from(["amount", "quantity", "amount * 0.5"]))
            measure["filter"] = draw(st.none() | st.just("product.family in ['Cloud', 'Analytics']"))
        elif definition == "count":
            measure["count"] = draw(st.sampled_from(["transactions", "credits"]))
        else:
            measure["formula"] = f"{names[0]} * {draw(RATES)}"
        measures.append(measure)
    component_names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    start = draw(DATES)
    data: dict[str, Any] = {
        "version": 1,
        "plan": draw(NAMES),
        "name": draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1)),
        "currency": draw(st.sampled_from(["USD", "EUR", "GBP", "JPY"])),
        "effective_from": start,
        "effective_to": draw(st.none() | st.just(start + timedelta(days=365))),
        "rounding": {"scale": draw(st.integers(0, 4)), "mode": draw(st.sampled_from(["half_up", "half_even"]))},
        "fx": {"rate_date": draw(st.sampled_from(["transaction", "period_end"]))},
        "parameters": draw(st.dictionaries(NAMES, RATES, max_size=2)),
        "crediting": {
            "direct": {
                "sources": draw(st.permutations(["owner", "splits", "account", "territory"])),
                "roles": ["owner"],
            },
            "adjustments": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"when": st.just("transaction.attributes.channel == 'partner'"), "share": FRACTIONS}
                    ),
                    max_size=1,
                )
            ),
            "rollup": draw(st.none() | st.builds(lambda n: {"levels": n}, st.integers(1, 3))),
        },
        "measures": measures,
        "quotas": [
            {
                "measure": names[0],
                "seasonality": draw(
                    st.none() | st.just([Decimal("0.2"), Decimal("0.2"), Decimal("0.25"), Decimal("0.35")])
                ),
                "proration": draw(st.sampled_from(["none", "days", "months"])),
                "ramp": draw(st.lists(FRACTIONS, max_size=3)),
            }
        ],
        "components": [draw(components(name, names)) for name in component_names],
    }
    plan = PlanDocument.model_validate(data)
    check_plan(plan, "generated")  # references and expressions are valid too
    return plan


# --- properties ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(plans())
def test_generated_plan_survives_a_dict_round_trip(plan: PlanDocument) -> None:
    assert via_dict(plan) == plan


@settings(max_examples=150, deadline=None)
@given(plans())
def test_generated_plan_survives_a_yaml_text_round_trip(plan: PlanDocument) -> None:
    assert via_yaml_text(plan) == plan


def test_numeric_flat_rate_survives_a_yaml_text_round_trip() -> None:
    plan = load_plan(ROOT / "tests" / "scenarios" / "flat_rate" / "plan.yaml")
    assert via_yaml_text(plan) == plan


def test_there_are_plan_files_to_check() -> None:
    assert len(PLAN_FILES) >= 40


@pytest.mark.parametrize("path", PLAN_FILES, ids=[str(p.relative_to(ROOT)) for p in PLAN_FILES])
def test_plan_file_survives_a_dict_round_trip(path: Path) -> None:
    plan = load_plan(path)
    assert via_dict(plan) == plan


@pytest.mark.parametrize("path", PLAN_FILES, ids=[str(p.relative_to(ROOT)) for p in PLAN_FILES])
def test_plan_file_survives_a_yaml_text_round_trip(path: Path) -> None:
    plan = load_plan(path)
    assert via_yaml_text(plan) == plan
