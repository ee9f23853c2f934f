"""Under a memory cap (`OPENSPM_ENGINE_MEMORY`), classify joins returns only to the originals they name (a plan
that pins less memory at 10M lines); the results must be exactly the uncapped plan's. A return without an owner
of its own is credited to its original's owner as of the original's date, which needs that join."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.engine.duckdb import memory_capped
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.service import compute
from tests.conftest import WriteFile
from tests.test_access import PLAN

FILES = {
    "payees": "id,name,pay_currency\nR1,Ann,USD\nR2,Bob,USD\n",
    "accounts": "id,name\nA1,Acme\nA2,Globex\n",
    "products": "id,name,family\nSKU1,Seat,Platform\n",
    "transactions": "id,date,type,account,product,quantity,amount,currency,owner,original\n"
    "T1,2025-01-10,sale,A1,SKU1,1,8000.00,USD,R1,\n"
    "T2,2025-01-20,sale,A2,SKU1,1,3000,USD,R2,\n"
    "T3,2025-02-03,sale,A2,SKU1,1,5000,USD,R2,\n"
    "X1,2025-02-12,return,A1,SKU1,-1,-2000.00,USD,,T1\n",
    "quotas": "payee,measure,period,amount,currency\nR1,bookings,FY2025-Q1,20000,USD\nR2,bookings,FY2025-Q1,20000,USD\n",
    "plan_assignments": "payee,plan,effective_from\nR1,ae,2025-01-01\nR2,ae,2025-01-01\n",
}


def _run(engine: Engine) -> tuple[list[str], list[str]]:
    with Session(engine) as session:
        _, results, _ = compute(session, "FY2025-M02")
    assert results.credits is not None
    credits = sorted(repr(sorted(c.items())) for c in results.credits.to_pylist())
    earnings = sorted(repr((e.payee, e.component, e.amount, e.trace)) for e in results.earnings)
    return credits, earnings


def test_the_capped_classify_gives_exactly_the_uncapped_results(
    engine: Engine, write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    add_plan(engine, write("ae.yaml", PLAN), actor="test")
    for kind, body in FILES.items():
        report = import_file(engine, kind, write(f"{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues

    monkeypatch.delenv("OPENSPM_ENGINE_MEMORY", raising=False)
    assert not memory_capped()
    uncapped = _run(engine)
    monkeypatch.setenv("OPENSPM_ENGINE_MEMORY", "1GB")
    assert memory_capped()
    capped = _run(engine)

    returned: list[Any] = [c for c in uncapped[0] if "'X1'" in c]
    assert len(returned) == 1 and "'R1'" in returned[0]  # the return follows its original's owner
    assert capped == uncapped
