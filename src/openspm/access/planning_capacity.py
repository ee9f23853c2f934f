"""Who may run a capacity plan: admin, comp analyst, finance and managers (it reads headcount, writes nothing);
reps get 403."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.planning.capacity import CapacityMonth, hiring_plan
from openspm.planning.headcount import in_seat_tenures


def require_capacity_reader(principal: Principal) -> None:
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("capacity planning is for admin, comp_analyst, finance and manager users")


def capacity_plan_for(
    engine: Engine,
    principal: Principal,
    targets: Sequence[Decimal],
    *,
    quota_per_head: Decimal,
    expected_attainment: Decimal,
    ramp: Sequence[Decimal] = (),
    monthly_attrition: Decimal = Decimal(0),
    lead_months: int = 0,
    in_seat: Sequence[int] | None = None,
    plan: str | None = None,
    on: date | None = None,
) -> tuple[list[int], list[CapacityMonth]]:
    """The tenures used (given, or the plan's payees on `on` from the store) and the monthly hiring plan."""
    require_capacity_reader(principal)
    tenures = list(in_seat) if in_seat is not None else in_seat_tenures(engine, plan or "", on or date.today())
    plan_rows = hiring_plan(
        targets,
        quota_per_head=quota_per_head,
        expected_attainment=expected_attainment,
        in_seat_tenure=tenures,
        ramp=ramp,
        monthly_attrition=monthly_attrition,
        lead_months=lead_months,
    )
    return tenures, plan_rows
