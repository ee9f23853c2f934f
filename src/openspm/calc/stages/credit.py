"""Credit: CLASSIFIED lines → CREDITS (line × payee × role).

Input: classified lines and the ownership tables; the plan's `crediting`.
Output: one credit per line and payee with `share`, `amount = plan amount ×
share`, `role`, `role_class` (direct | rollup | overlay), `source` and `level`.

- Direct credit goes to the first source in `crediting.direct.sources` that
  names anyone for the line: the explicit owner, the split rows, the account's
  named owners, or the owners of the account's territory, each as of the
  line's date. A return or cancellation is credited like its original (same
  payees, roles and shares, as of the original's date), with its negative
  amount.
- Split shares of a role must sum to 100% (roles in `overlay_roles` may not);
  a transaction whose splits do not is left uncredited and reported.
- `adjustments` scale the share (50% on partner deals); `rollup` credits each
  manager up N levels (reporting lines as of the date) with the same share;
  `overlays` add credit for matching lines to overlay payees.
- Only payees assigned to the plan on the line's date keep their credit.
- `credit_quantity` and `credit_list_amount` (quantity and list amount × share) are computed only when
  `extras` names them (the plan reads them); otherwise they are null.

Worked example: a 100,000 deal split 60/40 between two reps → credits 60,000
and 40,000; with `rollup: {levels: 1}` each rep's manager is credited the same
60,000 or 40,000 as role `rollup`, level 1.
"""

from __future__ import annotations

from typing import Any

import ibis

from openspm.calc.context import PlanInForce, RunContext
from openspm.engine.duckdb import MONEY, mul, scale
from openspm.engine.execute import materialize
from openspm.plan.expr import parse, to_ibis
from openspm.plan.models import CreditSource

KEEP = (
    "transaction_id",
    "transaction__id",
    "original",
    "basis_id",
    "basis_date",
    "basis_account",
    "date",
    "month",
    "plan_amount",
    "plan_list_amount",
    "quantity",
    "fx_rate",
)


def _in_force(table: Any, day: Any, prefix: str = "") -> Any:
    start, end = table[f"{prefix}effective_from"], table[f"{prefix}effective_to"]
    return (start <= day) & (end.isnull() | (day < end))


def _prefixed(table: Any, prefix: str) -> Any:
    """The table with every column renamed `prefix + name`, so joins never collide."""
    return table.select(**{f"{prefix}{c}": table[c] for c in table.columns})


def _line_columns(lines: Any) -> list[str]:
    return [c for c in lines.columns if c in KEEP or "__" in c]


def _credits(lines: Any, payee: Any, role: Any, share: Any, source: str, rank: int, role_class: Any) -> Any:
    return lines.select(
        *_line_columns(lines),
        payee_id=payee,
        role=role,
        role_class=role_class,
        share=share.cast(MONEY),
        source=ibis.literal(source),
        level=ibis.literal(0),
        source_rank=ibis.literal(rank),
    )


def direct_credits(ctx: RunContext, plan: PlanInForce, t: dict[str, Any], lines: Any) -> tuple[Any, Any]:
    """Direct credits by source precedence, and the lines whose splits do not sum to 100%."""
    rules = plan.document.crediting.direct
    overlay_roles = list(rules.overlay_roles)
    roles = list(rules.roles)
    splits = t["splits"]
    accounts = _prefixed(t["account_assignments"], "aa_")
    territories = _prefixed(t["account_territories"], "at_")
    owners = _prefixed(t["territory_assignments"], "ta_")
    split_rows = _prefixed(splits, "sp_")
    checked = splits.filter(~splits.role.isin(overlay_roles)) if overlay_roles else splits
    sums = checked.group_by(["transaction_id", "role"]).aggregate(total=checked.share.sum())
    bad_splits = sums.filter(sums.total != 1)
    lines = lines.mutate(transaction_id=lines.id)

    candidates = []
    for rank, source in enumerate(rules.sources):
        if source == "owner":
            owned = lines.filter(lines.basis_owner.notnull())
            candidates.append(
                _credits(
                    owned,
                    owned.basis_owner,
                    ibis.literal("owner"),
                    ibis.literal(1),
                    "owner",
                    rank,
                    ibis.literal("direct"),
                )
            )
        elif source == "splits":
            main = split_rows.filter(~split_rows.sp_role.isin(overlay_roles)) if overlay_roles else split_rows
            main = main.filter(~main.sp_transaction_id.isin(bad_splits.transaction_id))
            s = lines.join(main, lines.basis_id == main.sp_transaction_id)
            candidates.append(_credits(s, s.sp_payee_id, s.sp_role, s.sp_share, "splits", rank, ibis.literal("direct")))
        elif source == "account":
            s = lines.join(
                accounts,
                [
                    lines.basis_account == accounts.aa_account_id,
                    _in_force(accounts, lines.basis_date, "aa_"),
                    accounts.aa_role.isin(roles),
                ],
            )
            candidates.append(
                _credits(s, s.aa_payee_id, s.aa_role, s.aa_share, "account", rank, ibis.literal("direct"))
            )
        elif source == "territory":
            s = lines.join(
                territories,
                [lines.basis_account == territories.at_account_id, _in_force(territories, lines.basis_date, "at_")],
            )
            s = s.join(
                owners,
                [
                    s.at_territory_id == owners.ta_territory_id,
                    _in_force(owners, s.basis_date, "ta_"),
                    owners.ta_role.isin(roles),
                ],
            )
            candidates.append(
                _credits(s, s.ta_payee_id, s.ta_role, s.ta_share, "territory", rank, ibis.literal("direct"))
            )
    if not candidates:
        return None, bad_splits.mutate(blocked=ibis.literal(True))
    if len(candidates) == 1:
        direct = candidates[0].mutate(best=candidates[0].source_rank)
    else:
        union = candidates[0]
        for more in candidates[1:]:
            union = union.union(more)
        union = union.mutate(best=union.source_rank.min().over(group_by=union.transaction_id))
        direct = union.filter(union.source_rank == union.best)
    splits_rank = list(rules.sources).index(CreditSource.SPLITS) if CreditSource.SPLITS in rules.sources else None
    if splits_rank is not None:
        # Bad splits block a transaction only where splits would have given its credit: a source that
        # comes first (an explicit owner) still wins; a later one must not silently take over.
        won_first = direct.filter(direct.source_rank < splits_rank).select(won=direct.basis_id).distinct()
        blocked = bad_splits.filter(~bad_splits.transaction_id.isin(won_first.won))
        direct = direct.filter(~direct.basis_id.isin(blocked.transaction_id))
        bad_splits = bad_splits.mutate(blocked=bad_splits.transaction_id.isin(blocked.transaction_id))
    else:
        bad_splits = bad_splits.mutate(blocked=ibis.literal(False))
    direct = direct.drop("best", "source_rank")
    if overlay_roles and "splits" in rules.sources:
        # Overlay split roles add credit on top, whichever source gives the main credit.
        extra = split_rows.filter(split_rows.sp_role.isin(overlay_roles))
        s = lines.join(extra, lines.basis_id == extra.sp_transaction_id)
        overlay = _credits(s, s.sp_payee_id, s.sp_role, s.sp_share, "splits", 0, ibis.literal("overlay"))
        direct = direct.union(overlay.drop("source_rank"))
    return direct, bad_splits


def _with_payees(credits: Any, payees: Any, attributes: list[str], wanted: frozenset[str] | None = None) -> Any:
    """Credits with the payee's columns (`payee__region`, ...): all of them, or only those in `wanted`."""
    columns = {
        "payee__id": payees.external_id,
        "payee__name": payees.name,
        "payee__region": payees.region,
        "payee__role": payees.role,
        "payee__seniority": payees.seniority,
        **{f"payee__attributes__{a}": payees[f"attr_{a}"] for a in attributes},
    }
    if wanted is not None:
        columns = {name: value for name, value in columns.items() if name in wanted}
    if not columns:
        return credits
    return credits.join(payees.select(payee_id=payees.id, **columns), "payee_id")


def _resolver(table: Any) -> Any:
    def resolve(name: str) -> Any:
        column = {"amount": "plan_amount", "list_amount": "plan_list_amount"}.get(name, name.replace(".", "__"))
        return table[column]

    return resolve


LINE_COLUMNS = frozenset(
    {
        "id",
        "basis_owner",
        "basis_id",
        "basis_account",
        "basis_date",
        "date",
        "month",
        "plan_amount",
        "transaction__type",
    }
)
EXTRA_LINE_COLUMNS = {"quantity": "quantity", "list_amount": "plan_list_amount"}


def credit(
    ctx: RunContext,
    plan: PlanInForce,
    t: dict[str, Any],
    lines: Any,
    attributes: dict[str, list[str]],
    extras: frozenset[str] = frozenset({"quantity", "list_amount"}),
    wanted: frozenset[str] | None = None,
    hold: bool = True,
) -> tuple[Any, Any]:
    """CREDITS for `plan` (see the module docstring), and the lines with bad splits.

    `wanted` names the line and payee columns (`product__family`, `payee__region`, ...) the plan's
    expressions read; the others are dropped before crediting (None keeps them all), so the credits carry
    ids, not names (the pipeline's `with_names` adds the external ids where credits are shown). Direct
    credits and each roll-up level are materialised on the engine (`hold`), so later levels read them
    instead of recomputing them; payee columns are joined once.
    """

    def keep(table: Any) -> Any:
        return materialize(ctx.con, table) if hold else table

    crediting = plan.document.crediting
    lines = lines.filter(lines.fx_rate.notnull())
    if wanted is not None:
        narrow = LINE_COLUMNS | wanted | {EXTRA_LINE_COLUMNS[e] for e in extras}
        lines = lines.select(*[c for c in lines.columns if c in narrow])
    direct, bad_splits = direct_credits(ctx, plan, t, lines)
    if direct is None:
        return None, bad_splits
    payees = t["payees"]
    payee_attrs = attributes.get("payee", [])
    if crediting.adjustments:  # conditions may read the payee
        direct = _with_payees(direct, payees, payee_attrs, wanted)
        resolve = _resolver(direct)
        cases = [(to_ibis(parse(a.when), resolve), ibis.literal(a.share).cast(MONEY)) for a in crediting.adjustments]
        direct = direct.mutate(share=mul(direct.share, ibis.cases(*cases, else_=ibis.literal(1).cast(MONEY))))
        direct = direct.drop(*[c for c in direct.columns if c.startswith("payee__")])
    direct = keep(direct)
    columns = direct.columns
    every = [direct]
    if crediting.rollup is not None:
        lines_up = _prefixed(t["reporting_lines"], "rl_")
        current = direct
        for level in range(1, crediting.rollup.levels + 1):
            up = current.join(
                lines_up, [current.payee_id == lines_up.rl_payee_id, _in_force(lines_up, current.basis_date, "rl_")]
            )
            up = up.mutate(
                payee_id=up.rl_manager_id,
                role=ibis.literal(crediting.rollup.role),
                role_class=ibis.literal("rollup"),
                source=ibis.literal("rollup"),
                level=ibis.literal(level),
            )
            up = keep(up.select(*columns))
            every.append(up)
            current = up
    for overlay in crediting.overlays:
        matched = lines if overlay.when is None else lines.filter(to_ibis(parse(overlay.when), _resolver(lines)))
        matched = matched.mutate(transaction_id=matched.id)
        if overlay.territory_role is not None:
            terr = _prefixed(t["account_territories"], "at_")
            owners = _prefixed(t["territory_assignments"], "ta_")
            s = matched.join(
                terr, [matched.basis_account == terr.at_account_id, _in_force(terr, matched.basis_date, "at_")]
            )
            s = s.join(
                owners,
                [
                    s.at_territory_id == owners.ta_territory_id,
                    _in_force(owners, s.basis_date, "ta_"),
                    owners.ta_role == overlay.territory_role,
                ],
            )
            target, share = s.ta_payee_id, mul(s.ta_share, ibis.literal(overlay.share).cast(MONEY))
        elif overlay.account_role is not None:
            acc = _prefixed(t["account_assignments"], "aa_")
            s = matched.join(
                acc,
                [
                    matched.basis_account == acc.aa_account_id,
                    _in_force(acc, matched.basis_date, "aa_"),
                    acc.aa_role == overlay.account_role,
                ],
            )
            target, share = s.aa_payee_id, mul(s.aa_share, ibis.literal(overlay.share).cast(MONEY))
        else:
            named = payees.filter(payees.external_id.isin(overlay.payees)).select(overlay_payee=payees.id)
            s = matched.cross_join(named)
            target, share = s.overlay_payee, ibis.literal(overlay.share).cast(MONEY)
        o = _credits(s, target, ibis.literal(overlay.role), share, "overlay", 0, ibis.literal("overlay")).drop(
            "source_rank"
        )
        every.append(o.select(*columns))
    credits = every[0]
    for more in every[1:]:
        credits = credits.union(more)
    assignments = t["plan_assignments"]
    a = assignments.filter(assignments.plan == plan.plan_id).select(
        a_payee="payee_id", a_from="effective_from", a_to="effective_to"
    )
    assigned = credits.join(
        a, [credits.payee_id == a.a_payee, a.a_from <= credits.date, a.a_to.isnull() | (credits.date < a.a_to)]
    )
    assigned = _with_payees(assigned.select(*columns), payees, payee_attrs, wanted)
    nothing = ibis.null().cast(MONEY)
    return assigned.mutate(
        plan=ibis.literal(plan.plan_id),
        amount=scale(assigned.plan_amount, assigned.share),
        credit_quantity=scale(assigned.quantity, assigned.share) if "quantity" in extras else nothing,
        credit_list_amount=scale(assigned.plan_list_amount, assigned.share) if "list_amount" in extras else nothing,
        currency=ibis.literal(plan.document.currency),
    ), bad_splits
