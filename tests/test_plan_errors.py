"""Plan mistakes a comp admin makes, and the exact message each one gets.

Each case is a small plan file run through `parse_plan(text, "plan.yaml")`; the assertion is on `str(exc)`,
the line `openspm plan check` prints after `error: `. docs/plans.md quotes some of these messages, and
`tests/test_plan_docs.py` checks that it quotes only messages asserted here.

Mistakes that only the data reveals (splits that do not sum to 100%) are run issues, tested at the end on a
scenario folder built in `tmp_path`.
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from openspm.plan.load import PlanError, parse_plan
from openspm.scenarios.service import run_scenario


def plan(measures: str = "- {name: sales, sum: amount}", components: str = "", head: str = "", tail: str = "") -> str:
    """A small plan file: `head` lines after `version`, the measures, then the components (YAML list items)."""
    components = components or "- {name: commission, kind: flat_rate, measure: sales, rate: 0.1}"
    return (
        "version: 1\n"
        "plan: p\n"
        "name: Test plan\n"
        + textwrap.dedent(head)
        + ("currency: USD\n" if "currency:" not in head else "")
        + "effective_from: 2025-01-01\n"
        + "measures:\n"
        + textwrap.indent(textwrap.dedent(measures).strip("\n"), "  ")
        + "\ncomponents:\n"
        + textwrap.indent(textwrap.dedent(components).strip("\n"), "  ")
        + "\n"
        + textwrap.dedent(tail)
    )


def tiers(*rows: str, method: str = "marginal") -> str:
    return f"- {{name: commission, kind: tiered_rate, measure: sales, method: {method}, tiers: [{', '.join(rows)}]}}"


# (id, plan text, the exact message)
CASES: list[tuple[str, str, str]] = [
    (
        "unknown measure in a component",
        plan(components="- {name: commission, kind: flat_rate, measure: bookings, rate: 0.1}"),
        "plan.yaml @ components[commission].measure: unknown measure 'bookings'; the plan defines: sales",
    ),
    (
        "overlapping tiers",
        plan(components=tiers("{from: 0, to: 100000, rate: 0.05}", "{from: 50000, rate: 0.08}")),
        "plan.yaml @ components[commission]: tiers 1 and 2 overlap: 50000 is below 100000",
    ),
    (
        "a gap in a marginal tier table",
        plan(components=tiers("{from: 0, to: 100000, rate: 0.05}", "{from: 150000, rate: 0.08}")),
        "plan.yaml @ components[commission]: gap between tiers 1 and 2: 100000 to 150000",
    ),
    (
        "an open-ended tier that is not last",
        plan(components=tiers("{from: 0, rate: 0.05}", "{from: 100000, rate: 0.08}")),
        "plan.yaml @ components[commission]: tier 1: only the last tier may be open-ended",
    ),
    (
        "a tier whose to is not above its from",
        plan(components=tiers("{from: 100, to: 100, rate: 0.05}")),
        "plan.yaml @ components[commission]: tier 1: `to` 100 must be above `from` 100",
    ),
    (
        "unknown currency",
        plan(head="currency: XYZ\n"),
        "plan.yaml @ currency: unknown currency 'XYZ' (expected an ISO 4217 code)",
    ),
    (
        "a currency in lowercase",
        plan(head="currency: usd\n"),
        "plan.yaml @ currency: 'usd' is not a currency code; use three capital letters (ISO 4217), e.g. USD",
    ),
    (
        "bad expression syntax",
        plan(measures="- {name: sales, sum: 'amount *'}"),
        "plan.yaml @ measures[sales].sum: bad expression 'amount *': syntax error at column 8",
    ),
    (
        "an unknown name in a filter",
        plan(
            measures="""
            - {name: sales, sum: amount}
            - {name: cloud, sum: amount, filter: "prodcut.family == 'Cloud'"}
            """
        ),
        "plan.yaml @ measures[cloud].filter: unknown name 'prodcut.family' in \"prodcut.family == 'Cloud'\"",
    ),
    (
        "eval in an expression",
        plan(measures="""- {name: sales, sum: "eval('1')"}"""),
        "plan.yaml @ measures[sales].sum: bad expression \"eval('1')\": unknown function 'eval' at column 0",
    ),
    (
        "__import__ in an expression",
        plan(measures="""- {name: sales, sum: "__import__('os')"}"""),
        "plan.yaml @ measures[sales].sum: bad expression \"__import__('os')\": "
        "unknown function '__import__' at column 0",
    ),
    (
        "a dunder attribute in an expression",
        plan(measures="- {name: sales, sum: amount.__class__}"),
        "plan.yaml @ measures[sales].sum: bad expression 'amount.__class__': not allowed: name '__class__' at column 7",
    ),
    (
        "a credit name in a component condition",
        plan(components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1, gate: {when: 'amount > 0'}}"),
        "plan.yaml @ components[commission].gate.when: unknown name 'amount' in 'amount > 0'",
    ),
    (
        "attainment of an unknown measure",
        plan(
            components="""
            - name: commission
              kind: flat_rate
              measure: sales
              rate: 0.1
              multipliers: [{when: "attainment(booking) >= 1", factor: 1.5}]
            """
        ),
        "plan.yaml @ components[commission].multipliers[0].when: attainment(booking) names an unknown measure",
    ),
    (
        "a misspelled top-level key",
        plan(tail="componets: []\n"),
        "plan.yaml @ componets: unknown key (check the spelling; see docs/plans.md)",
    ),
    (
        "a misspelled key inside a component",
        plan(components="- {name: commission, kind: flat_rate, mesure: sales, measure: sales, rate: 0.1}"),
        "plan.yaml @ components[commission].mesure: unknown key (check the spelling; see docs/plans.md)",
    ),
    (
        "unknown component kind",
        plan(components="- {name: commission, kind: flat, measure: sales, rate: 0.1}"),
        "plan.yaml @ components[commission]: unknown component kind 'flat'; "
        "use flat_rate, tiered_rate, bonus, spif, override or lookup_rate",
    ),
    (
        "a component without a kind",
        plan(components="- {name: commission, measure: sales, rate: 0.1}"),
        "plan.yaml @ components[commission]: a component needs a kind: "
        "flat_rate, tiered_rate, bonus, spif, override or lookup_rate",
    ),
    (
        "a measure defined twice",
        plan(measures="- {name: sales, sum: amount}\n- {name: sales, sum: quantity}"),
        "plan.yaml @ measures[sales]: measure 'sales' is defined twice",
    ),
    (
        "a formula cycle",
        plan(measures="- {name: sales, sum: amount}\n- {name: a, formula: b + sales}\n- {name: b, formula: a * 2}"),
        "plan.yaml @ measures[a].formula: formulas refer to each other in a cycle: a → b → a",
    ),
    (
        "a measure with both sum and count",
        plan(measures="- {name: sales, sum: amount, count: transactions}"),
        "plan.yaml @ measures[sales]: give exactly one of sum, count or formula",
    ),
    (
        "a measure name in capitals",
        plan(measures="- {name: Sales, sum: amount}"),
        "plan.yaml @ measures[Sales].name: 'Sales' is not a valid name; "
        "use lowercase letters, digits and _, starting with a letter",
    ),
    (
        "seasonality weights not summing to 1",
        plan(tail="quotas:\n  - {measure: sales, seasonality: [0.2, 0.2, 0.2, 0.3]}\n"),
        "plan.yaml @ quotas[0].seasonality: seasonality weights must sum to 1, not 0.9",
    ),
    (
        "a quota rule for an unknown measure",
        plan(tail="quotas:\n  - {measure: bookings}\n"),
        "plan.yaml @ quotas[0].measure: unknown measure 'bookings'",
    ),
    (
        "a cap with both amount and target_multiple",
        plan(
            components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1, "
            "cap: {amount: 10000, target_multiple: 2}}"
        ),
        "plan.yaml @ components[commission].cap: give exactly one of amount or target_multiple",
    ),
    (
        "a target_multiple cap per deal",
        plan(
            components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1, "
            "cap: {target_multiple: 2, per: deal}}"
        ),
        "plan.yaml @ components[commission].cap: a target_multiple cap applies per period or per year, not per deal",
    ),
    (
        "a bonus with neither amount nor target_share",
        plan(components="- {name: launch_bonus, kind: bonus, when: 'sales >= 10000'}"),
        "plan.yaml @ components[launch_bonus]: give exactly one of amount or target_share",
    ),
    (
        "a threshold gate without its threshold",
        plan(
            components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1, "
            "gate: {when: 'sales > 0', pays_from: threshold}}"
        ),
        "plan.yaml @ components[commission].gate: pays_from: threshold needs a threshold expression",
    ),
    (
        "per-transaction tiers on attainment",
        plan(
            components="- {name: commission, kind: tiered_rate, measure: sales, basis: attainment, "
            "apply: per_transaction, tiers: [{from: 0, rate: 0.1}]}"
        ),
        "plan.yaml @ components[commission]: per_transaction tiers apply to the transaction amount, not to attainment",
    ),
    (
        "an overlay with two targets",
        plan(head="crediting:\n  overlays:\n    - {name: specialist, territory_role: overlay, payees: [P9]}\n"),
        "plan.yaml @ crediting.overlays[specialist]: give exactly one of territory_role, account_role or payees",
    ),
    (
        "a negative credit share",
        plan(
            head="crediting:\n  adjustments:\n    - {when: \"transaction.attributes.channel == 'partner'\", share: -1}\n"
        ),
        "plan.yaml @ crediting.adjustments[0].share: must be at least 0, not -1",
    ),
    (
        "a measurement period that does not exist",
        plan(components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1, period: week}"),
        "plan.yaml @ components[commission].period: 'week' is not allowed here; use 'month', 'quarter' or 'year'",
    ),
    (
        "a rate that is not a number",
        plan(components=tiers("{from: 0, rate: five}")),
        "plan.yaml @ components[commission].tiers[0].rate: should be a number, not 'five'",
    ),
    (
        "a date that is not a date",
        plan().replace("effective_from: 2025-01-01", "effective_from: soon"),
        "plan.yaml @ effective_from: should be a date written YYYY-MM-DD, not 'soon'",
    ),
    (
        "effective_to before effective_from",
        plan(tail="effective_to: 2024-12-31\n"),
        "plan.yaml: effective_to must be after effective_from",
    ),
    (
        "a required key missing",
        plan().replace("name: Test plan\n", ""),
        "plan.yaml @ name: required key is missing",
    ),
    (
        "a version other than 1",
        plan().replace("version: 1", "version: 2"),
        "plan.yaml @ version: unknown plan format version 2; this openspm reads 1",
    ),
    (
        "invalid YAML, with its line",
        plan(components="- {name: commission, kind: flat_rate, measure: sales, rate: 0.1").replace(
            "measures:\n", "measures:\n  - {name: units, sum: quantity\n"
        ),
        "plan.yaml: not valid YAML: line 8: expected ',' or '}', but got '{'",
    ),
    (
        "a file that is not a mapping",
        "- version: 1\n- plan: p\n",
        "plan.yaml: a plan file must be a YAML mapping (version:, plan:, measures:, components: ...)",
    ),
    (
        "a per-deal cap on an aggregate component",
        plan(
            components="- {name: commission, kind: tiered_rate, measure: sales, tiers: [{from: 0, rate: 0.05}], "
            "cap: {amount: 1000, per: deal}}"
        ),
        "plan.yaml @ components[commission].cap.per: a per-deal cap needs a per-transaction component "
        "(flat_rate, tiered_rate with apply: per_transaction, spif or lookup_rate)",
    ),
]

DOCUMENTED_MESSAGES = frozenset(message for _, _, message in CASES)


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in CASES], ids=[c[0] for c in CASES])
def test_plan_mistake_gets_its_exact_message(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "plan.yaml")
    assert str(caught.value) == message


def test_the_base_plan_of_these_cases_is_valid() -> None:
    assert parse_plan(plan(), "plan.yaml").components[0].name == "commission"


def test_cases_are_distinct_mistakes() -> None:
    assert len(CASES) >= 12
    assert len({text for _, text, _ in CASES}) == len(CASES)
    assert len(DOCUMENTED_MESSAGES) == len(CASES)


def test_an_impossible_date_is_a_plan_error() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(plan().replace("2025-01-01", "2025-02-30"), "plan.yaml")
    assert str(caught.value).startswith("plan.yaml @ effective_from: ")


# --- splits that do not sum to 100%: a run issue -------------------------------------------------------------

SPLIT_PLAN = """\
version: 1
plan: ae_and_se
name: AE and SE commission on split deals
currency: USD
effective_from: 2025-01-01
crediting:
  direct: {sources: [owner, splits, account, territory], overlay_roles: [se]}
measures:
  - {name: sales, sum: amount, roles: [direct]}
  - {name: se_sales, sum: amount, roles: [overlay]}
components:
  - {name: commission, kind: flat_rate, measure: sales, rate: 0.10}
  - {name: se_commission, kind: flat_rate, measure: se_sales, rate: 0.02}
"""

SPLIT_INPUTS = {
    "accounts": "id,name\nA1,Acme Corp\n",
    "products": "id,name,family\nSKU1,Widget,Hardware\n",
    "payees": "id,name,pay_currency\nP1,Alex Rivera,USD\nP2,Blair Chen,USD\nP3,Casey Diaz,USD\n",
    "plan_assignments": "payee,plan,effective_from\nP1,ae_and_se,2025-01-01\nP2,ae_and_se,2025-01-01\n"
    "P3,ae_and_se,2025-01-01\n",
    "transactions": "id,date,type,account,product,amount,currency\n"
    "T1,2025-03-10,sale,A1,SKU1,5000,USD\n"
    "T2,2025-03-12,sale,A1,SKU1,10000,USD\n",
    # T1: the owners' shares add up to 90%. T2: 60/40 for the owners and 30% on top for the SE (overlay role).
    "transaction_splits": "transaction,payee,role,share\n"
    "T1,P1,owner,0.6\nT1,P2,owner,0.3\n"
    "T2,P1,owner,0.6\nT2,P2,owner,0.4\nT2,P3,se,0.3\n",
}

T1_ISSUE = "splits for role owner sum to 0.9, not 1 (100%); the transaction is not credited"


def scenario(folder: Path, plan_text: str) -> Path:
    (folder / "inputs").mkdir(parents=True)
    (folder / "scenario.yaml").write_text(
        "calendar: {start_month: 1, years: [2025]}\nrun: {periods: [FY2025-M03]}\n", encoding="utf-8"
    )
    (folder / "plan.yaml").write_text(plan_text, encoding="utf-8")
    for kind, text in SPLIT_INPUTS.items():
        (folder / "inputs" / f"{kind}.csv").write_text(text, encoding="utf-8")
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_splits_not_summing_to_100_percent_are_a_run_issue(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scenario(scenario(tmp_path / "splits", SPLIT_PLAN), out)

    lines = (out / "issues.csv").read_text(encoding="utf-8").splitlines()
    assert lines == ["period,stage,subject,value,reason", f'FY2025-M03,credit,T1,,"{T1_ISSUE}"']

    credits = {(r["transaction"], r["payee"], r["role"]): r["amount"] for r in read_csv(out / "credits.csv")}
    assert credits == {("T2", "P1", "owner"): "6000", ("T2", "P2", "owner"): "4000", ("T2", "P3", "se"): "3000"}
    earnings = {(r["payee"], r["component"]): r["amount"] for r in read_csv(out / "earnings.csv")}
    assert earnings == {
        ("P1", "commission"): "600.00",
        ("P1", "se_commission"): "0.00",
        ("P2", "commission"): "400.00",
        ("P2", "se_commission"): "0.00",
        ("P3", "commission"): "0.00",
        ("P3", "se_commission"): "60.00",
    }


def test_without_overlay_roles_an_extra_split_role_must_sum_to_100_percent_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scenario(scenario(tmp_path / "splits", SPLIT_PLAN.replace(", overlay_roles: [se]", "")), out)

    reasons = sorted((r["subject"], r["reason"]) for r in read_csv(out / "issues.csv"))
    assert reasons == [
        ("T1", T1_ISSUE),
        ("T2", "splits for role se sum to 0.3, not 1 (100%); the transaction is not credited"),
    ]
    assert read_csv(out / "credits.csv") == []
