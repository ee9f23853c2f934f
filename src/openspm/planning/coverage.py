"""Coverage gaps: accounts nobody owns, territories with no payee, payees with more workload than they carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from openspm.planning.territory import Account


@dataclass(frozen=True)
class PayeeLoad:
    """A payee's workload across their territories (a shared territory's workload split evenly)."""

    payee: str
    territories: tuple[str, ...]
    workload: Decimal
    capacity: Decimal | None

    @property
    def overloaded(self) -> bool:
        return self.capacity is not None and self.workload > self.capacity


@dataclass(frozen=True)
class CoverageGaps:
    """Accounts nobody owns, territories with no payee, payees with more workload than they can carry."""

    accounts_without_owner: list[str]
    territories_without_payee: list[str]
    overloaded_payees: list[PayeeLoad]
    loads: list[PayeeLoad]


def coverage_gaps(
    accounts: Sequence[Account],
    assignment: Mapping[str, str | None],
    territories: Iterable[str],
    payee_territories: Mapping[str, Iterable[str]],
    capacity: Mapping[str, Decimal] | Decimal | None = None,
) -> CoverageGaps:
    """Where coverage breaks.

    Input: the accounts (their workload), an assignment account → territory (None or missing: none), the
    territory ids, which territories each payee covers, and the workload each payee can carry (one figure for
    all, a figure per payee, or None for no limit). Output: accounts without an owner (no territory, or a
    territory with no payee), territories without a payee, and every payee's load with the overloaded ones.
    """
    territory_ids = list(dict.fromkeys(territories))
    staffed: dict[str, list[str]] = {t: [] for t in territory_ids}
    for payee, covered in payee_territories.items():
        for territory in covered:
            staffed.setdefault(territory, []).append(payee)
    load = dict.fromkeys(staffed, Decimal(0))
    orphans: list[str] = []
    for account in accounts:
        owner = assignment.get(account.id)
        if owner is None or not staffed.get(owner):
            orphans.append(account.id)
        if owner is not None:
            load[owner] = load.get(owner, Decimal(0)) + account.workload
    loads = []
    for payee, covered in payee_territories.items():
        mine = tuple(dict.fromkeys(covered))
        total = sum((load.get(t, Decimal(0)) / len(staffed[t]) for t in mine), Decimal(0))
        limit = capacity.get(payee) if isinstance(capacity, Mapping) else capacity
        loads.append(PayeeLoad(payee, mine, total, limit))
    return CoverageGaps(
        accounts_without_owner=orphans,
        territories_without_payee=[t for t in territory_ids if not staffed.get(t)],
        overloaded_payees=[row for row in loads if row.overloaded],
        loads=loads,
    )
