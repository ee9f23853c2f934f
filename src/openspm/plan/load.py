"""Load a plan file: YAML → validated `PlanDocument`, or one `PlanError` naming file, key and problem.

Checks, in order, before anything runs:
1. YAML syntax (with the line);
2. the schema (unknown keys, types, tier bands, exactly-one-of rules), via Pydantic;
3. cross-references: every measure a component, formula or quota uses exists; no
   measure is defined twice; formulas do not form a cycle; the plan currency is an
   ISO 4217 code; every hold names a component of the plan, once; a plan with `pay.clawback` has a component
   whose earnings can be shared among transactions, on measures a stored credit can be valued for;
4. every expression parses, and names only what its context offers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from openspm.core.errors import InvalidInput
from openspm.core.money import CURRENCIES
from openspm.plan.expr import Expr, ExprError, parse
from openspm.plan.models import (
    Bonus,
    FlatRate,
    LookupRate,
    Override,
    PlanDocument,
    Spif,
    TieredRate,
)


class PlanError(InvalidInput):
    """A mistake in a plan file, located by file and key path."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        where = f"{source} @ {key}" if key else source
        super().__init__(f"{where}: {problem}")
        self.source, self.key, self.problem = source, key, problem


# Names an expression may use, by context.
CREDIT_PREFIXES = ("transaction.", "product.", "account.", "payee.", "credit.")
CREDIT_NAMES = frozenset({"amount", "quantity", "list_amount", "discount"})
PAYEE_PREFIXES = ("payee.", "param.")
PAYEE_NAMES = frozenset({"target_incentive"})


class _ExactLoader(yaml.SafeLoader):
    """YAML's safe loader, with numbers that have a decimal point read as exact Decimals, not floats."""


def _exact_float(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"not a number: {text!r}", node.start_mark) from None


def _date_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """Dates stay text here, so the schema check reports a bad one with its key."""
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)
_ExactLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_text)


def load_plan(path: Path) -> PlanDocument:
    """Read and check a plan file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(str(path), "", "plan file not found") from None
    return parse_plan(text, str(path))


def read_yaml(text: str, source: str) -> Any:
    """YAML text → data, numbers with a decimal point as exact Decimals and dates as text (so a schema check
    reports a bad one with its key); a syntax error is a PlanError `FILE: not valid YAML: line N: problem`.
    The plan loader's and the contest loader's first step."""
    try:
        return yaml.load(text, Loader=_ExactLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise PlanError(source, "", f"not valid YAML: {line}{getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:  # e.g. an impossible date such as 2025-02-30
        raise PlanError(source, "", f"not valid YAML: {exc}") from None


def parse_plan(text: str, source: str = "plan.yaml") -> PlanDocument:
    """Check a plan given as YAML text; `source` names it in errors."""
    data = read_yaml(text, source)
    if not isinstance(data, dict):
        raise PlanError(source, "", "a plan file must be a YAML mapping (version:, plan:, measures:, components: ...)")
    if data.get("version") not in (None, 1):
        raise PlanError(source, "version", f"unknown plan format version {data.get('version')!r}; this openspm reads 1")
    try:
        plan = PlanDocument.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, data, source) from None
    check_plan(plan, source)
    return plan


def _first_error(exc: ValidationError, data: dict[str, Any], source: str) -> PlanError:
    """The first schema error, with a key path that uses component and measure names, in plain words."""
    error = exc.errors()[0]
    parts: list[str] = []
    node: Any = data
    for step in error["loc"]:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(f"[{step}]" if name is None else f"[{name}]")
            continue
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(step, str) and step in {"flat_rate", "tiered_rate", "bonus", "spif", "override", "lookup_rate"}:
            continue  # the discriminator's branch name, not a key the user wrote
        elif isinstance(step, str) and not isinstance(node, dict):
            continue  # past a value the user wrote: a type tried for it ("decimal", "str"), not a key
        parts.append(f".{step}" if parts else str(step))
    key = "".join(parts)
    message = error["msg"]
    kind, context, given = error["type"], error.get("ctx") or {}, error.get("input")
    kinds = "flat_rate, tiered_rate, bonus, spif, override or lookup_rate"
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; see docs/plans.md)"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "union_tag_invalid":
        message = f"unknown component kind {error['input'].get('kind')!r}; use {kinds}"
    elif kind == "union_tag_not_found":
        message = f"a component needs a kind: {kinds}"
    elif kind == "string_pattern_mismatch" and context.get("pattern") == "^[A-Z]{3}$":
        message = f"{given!r} is not a currency code; use three capital letters (ISO 4217), e.g. USD"
    elif kind == "string_pattern_mismatch" and context.get("pattern") == "^[a-z][a-z0-9_]*$":
        message = f"{given!r} is not a valid name; use lowercase letters, digits and _, starting with a letter"
    elif kind in ("enum", "literal_error"):
        message = f"{given!r} is not allowed here; use {context.get('expected')}"
    elif kind in ("greater_than_equal", "less_than_equal"):
        bound = f"at least {context['ge']}" if kind == "greater_than_equal" else f"at most {context['le']}"
        message = f"must be {bound}, not {given}"
    elif kind in ("decimal_parsing", "decimal_type", "int_parsing", "int_type", "int_from_float", "float_parsing"):
        number = "a whole number" if kind.startswith("int") else "a number"
        message = f"should be {number}, not {given!r}"
    elif kind.startswith("date"):
        message = f"should be a date written YYYY-MM-DD, not {given!r}"
    elif kind == "string_type":
        message = f"should be text, not {given!r} (put it in quotes)"
    elif kind == "too_short":
        message = f"needs at least {context.get('min_length', 1)} entry"
    elif kind == "list_type":
        message = "should be a list (lines starting with - , or [a, b])"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"should be a mapping of keys to values, not {given!r}"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return PlanError(source, key, message)


def plan_expressions(plan: PlanDocument) -> Iterator[tuple[str, str, str]]:
    """(key path, context, text) of every expression in the plan; context: credit | payee | component."""
    for i, adjustment in enumerate(plan.crediting.adjustments):
        yield f"crediting.adjustments[{i}].when", "credit", adjustment.when
    for overlay in plan.crediting.overlays:
        if overlay.when:
            yield f"crediting.overlays[{overlay.name}].when", "credit", overlay.when
    for measure in plan.measures:
        key = f"measures[{measure.name}]"
        if measure.sum is not None:
            yield f"{key}.sum", "credit", measure.sum
        if measure.filter is not None:
            yield f"{key}.filter", "credit", measure.filter
        if measure.formula is not None:
            yield f"{key}.formula", "measures", measure.formula
    for component in plan.components:
        key = f"components[{component.name}]"
        if component.eligible:
            yield f"{key}.eligible", "payee", component.eligible
        if component.gate is not None:
            yield f"{key}.gate.when", "component", component.gate.when
            if component.gate.threshold:
                yield f"{key}.gate.threshold", "component", component.gate.threshold
        for j, multiplier in enumerate(component.multipliers):
            yield f"{key}.multipliers[{j}].when", "component", multiplier.when
        if isinstance(component, Bonus):
            yield f"{key}.when", "component", component.when
        if isinstance(component, FlatRate) and isinstance(component.rate, str):
            yield f"{key}.rate", "payee", component.rate
        if isinstance(component, (Spif, LookupRate)) and component.filter:
            yield f"{key}.filter", "credit", component.filter
        if isinstance(component, LookupRate):
            for j, expression in enumerate(component.keys):
                yield f"{key}.keys[{j}]", "credit", expression
    if plan.pay is not None and plan.pay.draw is not None and isinstance(plan.pay.draw.amount, str):
        yield "pay.draw.amount", "payee", plan.pay.draw.amount


def _name_allowed(context: str, measures: set[str]) -> Any:
    def credit(name: str) -> bool:
        return name in CREDIT_NAMES or name.startswith(CREDIT_PREFIXES)

    def payee(name: str) -> bool:
        return name in PAYEE_NAMES or name.startswith(PAYEE_PREFIXES)

    def component(name: str) -> bool:
        return payee(name) or name in measures

    def formula(name: str) -> bool:
        return name in measures

    return {"credit": credit, "payee": payee, "component": component, "measures": formula}[context]


def check_plan(plan: PlanDocument, source: str) -> None:
    """Cross-reference and expression checks; raise the first PlanError."""
    if plan.currency not in CURRENCIES:
        raise PlanError(source, "currency", f"unknown currency {plan.currency!r} (expected an ISO 4217 code)")
    names: set[str] = set()
    for measure in plan.measures:
        if measure.name in names:
            raise PlanError(source, f"measures[{measure.name}]", f"measure {measure.name!r} is defined twice")
        names.add(measure.name)
    component_names: set[str] = set()
    for component in plan.components:
        if component.name in component_names:
            raise PlanError(source, f"components[{component.name}]", f"component {component.name!r} is defined twice")
        component_names.add(component.name)
        used = getattr(component, "measure", None)
        if isinstance(component, (FlatRate, TieredRate, Override)) and used not in names:
            raise PlanError(
                source,
                f"components[{component.name}].measure",
                f"unknown measure {used!r}; the plan defines: {', '.join(sorted(names))}",
            )
        per_transaction = isinstance(component, (Spif, LookupRate)) or (
            isinstance(component, FlatRate)
            or (isinstance(component, TieredRate) and component.apply == "per_transaction")
        )
        if component.cap is not None and component.cap.per == "deal" and not per_transaction:
            raise PlanError(
                source,
                f"components[{component.name}].cap.per",
                "a per-deal cap needs a per-transaction component (flat_rate, tiered_rate with apply: per_transaction, "
                "spif or lookup_rate)",
            )
        aggregate = isinstance(component, (FlatRate, Override)) or (
            isinstance(component, TieredRate) and component.apply == "aggregate"
        )
        if component.gate is not None and component.gate.pays_from == "threshold":
            deal_capped = component.cap is not None and component.cap.per == "deal"
            if not aggregate or deal_capped:
                raise PlanError(
                    source,
                    f"components[{component.name}].gate.pays_from",
                    "pays_from: threshold applies to a component on an aggregate measure without a per-deal cap",
                )
    for i, rule in enumerate(plan.quotas):
        if rule.measure not in names:
            raise PlanError(source, f"quotas[{i}].measure", f"unknown measure {rule.measure!r}")
    _check_holds(plan, component_names, source)
    _check_clawback(plan, source)
    parsed: dict[str, Expr] = {}
    for key, context, text in plan_expressions(plan):
        try:
            expression = parse(text)
        except ExprError as exc:
            raise PlanError(source, key, f"bad expression {text!r}: {exc}") from None
        allowed = _name_allowed(context, names)
        for name in sorted(expression.names()):
            if not allowed(name):
                raise PlanError(source, key, f"unknown name {name!r} in {text!r}")
        for function, argument in sorted(expression.calls()):
            if argument not in names:
                raise PlanError(source, key, f"{function}({argument}) names an unknown measure")
        parsed[key] = expression
    _check_formula_cycles(plan, parsed, source)


def _check_holds(plan: PlanDocument, components: set[str], source: str) -> None:
    """Every hold names a component of the plan (or `*`), and no component is named by two holds."""
    if plan.pay is None:
        return
    held: set[str] = set()
    for i, hold in enumerate(plan.pay.holds):
        key = f"pay.holds[{i}].component"
        if hold.component != "*" and hold.component not in components:
            raise PlanError(
                source, key, f"unknown component {hold.component!r}; the plan defines: {', '.join(sorted(components))}"
            )
        if hold.component in held:
            raise PlanError(source, key, f"{hold.component!r} is held twice; give one hold per component")
        held.add(hold.component)


# The names of a credit a clawback can value it by, from the stored credit (see runs/pay.py).
CLAWBACK_CREDIT_NAMES = frozenset({"amount", "credit.share", "credit.level", "credit.role", "credit.source"})
CLAWED_KINDS = (FlatRate, TieredRate, Override, LookupRate)


def _check_clawback(plan: PlanDocument, source: str) -> None:
    """A clawback takes back the earnings of components tied to transactions (rate components on a measure, and
    lookup rates); it shares an aggregate earning by each credit's value toward the measure, so the measure is a
    count, or a sum over the credit's amount and `credit.*` (what a stored credit carries), not a formula."""
    if plan.pay is None or plan.pay.clawback is None:
        return
    clawed = [c for c in plan.components if isinstance(c, CLAWED_KINDS)]
    if not clawed:
        raise PlanError(
            source,
            "pay.clawback",
            "no component to claw back: clawbacks take back flat_rate, tiered_rate, override and lookup_rate "
            "earnings (bonuses and SPIFs are not tied to one transaction's amount)",
        )
    measures = {m.name: m for m in plan.measures}
    for component in clawed:
        name = getattr(component, "measure", None)
        measure = measures.get(name) if isinstance(name, str) else None
        per_transaction = (
            isinstance(component, FlatRate) and component.cap is not None and component.cap.per == "deal"
        ) or (isinstance(component, TieredRate) and component.apply == "per_transaction")
        if measure is None or per_transaction:  # per-transaction earnings say what each transaction paid
            continue
        if measure.formula is not None:
            raise PlanError(
                source,
                f"components[{component.name}].measure",
                f"pay.clawback shares an earning among the credits of its measure; {measure.name!r} is a formula: "
                "pay the component on a sum or count measure",
            )
        if measure.sum is not None:
            try:
                used = parse(measure.sum).names()
            except ExprError:
                continue  # reported with the expressions
            other = sorted(set(used) - CLAWBACK_CREDIT_NAMES)
            if other:
                raise PlanError(
                    source,
                    f"measures[{measure.name}].sum",
                    f"pay.clawback values each credit by this sum, which reads {other[0]!r}; a clawback can value "
                    f"a credit by {', '.join(sorted(CLAWBACK_CREDIT_NAMES))} (filter the measure for the rest)",
                )


def _check_formula_cycles(plan: PlanDocument, parsed: dict[str, Expr], source: str) -> None:
    uses = {m.name: set(parsed[f"measures[{m.name}].formula"].names()) for m in plan.measures if m.formula is not None}
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, chain: list[str]) -> None:
        if name in done or name not in uses:
            return
        if name in visiting:
            cycle = " → ".join([*chain[chain.index(name) :], name])
            raise PlanError(source, f"measures[{name}].formula", f"formulas refer to each other in a cycle: {cycle}")
        visiting.add(name)
        for used in sorted(uses[name]):
            visit(used, [*chain, name])
        visiting.discard(name)
        done.add(name)

    for name in sorted(uses):
        visit(name, [])


def plan_json_schema() -> dict[str, Any]:
    """The published JSON Schema of plan files."""
    schema = PlanDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "openspm plan file, format version 1"
    return schema
