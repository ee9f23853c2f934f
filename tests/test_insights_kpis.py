"""Analytics and data quality (SQLite and PostgreSQL) on a tiny company whose every figure is worked by hand.

The company (calendar FY2024-FY2025, fiscal year = calendar year):

- payees M1 (manager, NA) with reps R1, R2 (NA); M2 (manager, EMEA) with rep R3 (EMEA); plan `ae` (5% of bookings
  up to the quarterly quota, 10% above, true-up) for the reps; quotas 20,000 USD each for FY2025-Q1 and 10,000
  for FY2025-Q2.
- accounts A1 (NA, territory T-NA), A2 (EMEA, territory T-EU), A3 (NA, no territory, no owner); products P1
  (Platform), P2 (Services); EUR→USD 1.10 from 2024-01-01, 1.20 from 2025-01-15.
- transactions (owner = who is credited):

  | id | date | account | product | amount | list | owner | USD |
  |---|---|---|---|---|---|---|---|
  | T01 | 2024-01-15 | A1 | P1 | 5,000 USD | | R1 | 5,000 |
  | T02 | 2024-02-01 | A2 | P2 | 2,000 EUR | | R3 | 2,200 |
  | T1 | 2025-01-10 | A1 | P1 | 8,000 USD | 10,000 | R1 | 8,000 |
  | T2 | 2025-01-20 | A2 | P2 | 1,000 EUR | 1,250 EUR | R3 | 1,200 (list 1,500) |
  | T3 | 2025-02-03 | A1 | P1 | 4,000 USD | 4,000 | R2 | 4,000 |
  | T4 | 2025-02-10 | A3 | P2 | 500 USD | | nobody | 500 |
  | T5 | 2025-01-25 | A1 | P1 | 1,000 USD | | R1 | 1,000, imported after both runs |

- January and February 2025 run (before T5 is imported).

FY2025-Q1 by hand: revenue 8,000 + 1,200 + 4,000 + 500 + 1,000 = 14,700 against 7,200 a year earlier: growth
14,700 / 7,200 − 1 = 1.0417. Discount over sale lines with a list amount: 1 − 13,200 / 15,500 = 0.1484.
Attainment (the February run's Q1 measures): R1 8,000 / 20,000 = 0.40, R2 0.20, R3 1,200 / 20,000 = 0.06.
Earnings: R1 400 (January), R2 200 (February), R3 60 (January) = 660; cost of sales 660 / 14,700 = 0.0449;
earnings are 1,000 × attainment for everyone, so Pearson's r = 1.
Opportunities closed in Q1: O1 won 8,000 (created 2024-12-01, closed 2025-01-10: 40 days), O3 won 1,000 EUR =
1,200 USD (19 days), O2 lost: win rate 2/3, average deal 4,600, cycle 29.5 days; created in Q1: O2, O3, O4, O5, so
velocity = 4 × 2/3 × 4,600 / 29.5 = 415.82 a day. Pipeline closing in Q2: O4 + O5 = 10,000 against 30,000 of Q2
quota: coverage 0.3333.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openspm.access.insights import data_quality_for, kpis_for
from openspm.access.principal import principal_of
from openspm.auth.service import set_passwords
from openspm.core.errors import InvalidInput, NotFound
from openspm.ingest.service import import_file
from openspm.insights.kpis import Filters, compute, pearson, table_csv
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from openspm.store.models import Base
from openspm.web.app import create_app
from tests.conftest import STORES, WriteFile
from tests.test_access import PLAN

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-of-enough-length-0123456789"
Q1 = Filters(period="FY2025-Q1")
USERS = {
    "admin@x.io": ("admin", ""),
    "finance@x.io": ("finance", ""),
    "m1@x.io": ("manager", "M1"),
    "r3@x.io": ("rep", "R3"),
}
FILES = {
    "fx_rates": "from_currency,to_currency,effective_date,rate\nEUR,USD,2024-01-01,1.10\nEUR,USD,2025-01-15,1.20\n",
    "payees": "id,name,pay_currency,region,role\nM1,Mia,USD,NA,Manager\nM2,Max,USD,EMEA,Manager\n"
    "R1,Ann,USD,NA,AE\nR2,Bob,USD,NA,AE\nR3,Cy,USD,EMEA,AE\n",
    "reporting_lines": "payee,manager,effective_from\nR1,M1,2024-01-01\nR2,M1,2024-01-01\nR3,M2,2024-01-01\n",
    "accounts": "id,name,region\nA1,Acme,NA\nA2,Globex,EMEA\nA3,Initech,NA\n",
    "territories": "id,name,region\nT-NA,North America,NA\nT-EU,Europe,EMEA\n",
    "account_territories": "account,territory,effective_from\nA1,T-NA,2024-01-01\nA2,T-EU,2024-01-01\n",
    "products": "id,name,family\nP1,Seat,Platform\nP2,Setup,Services\n",
    "transactions": (
        "id,date,account,product,amount,currency,list_amount,owner\n"
        "T01,2024-01-15,A1,P1,5000,USD,,R1\n"
        "T02,2024-02-01,A2,P2,2000,EUR,,R3\n"
        "T1,2025-01-10,A1,P1,8000,USD,10000,R1\n"
        "T2,2025-01-20,A2,P2,1000,EUR,1250,R3\n"
        "T3,2025-02-03,A1,P1,4000,USD,4000,R2\n"
        "T4,2025-02-10,A3,P2,500,USD,,\n"
    ),
    "opportunities": (
        "id,name,account,owner,stage,probability,amount,currency,close_date,created_date,status,attr.lead_source\n"
        "O1,Acme seats,A1,R1,Closed Won,1,8000,USD,2025-01-10,2024-12-01,won,Inbound\n"
        "O2,Acme more,A1,R1,Closed Lost,0,3000,USD,2025-02-20,2025-01-05,lost,SDR\n"
        "O3,Globex setup,A2,R3,Closed Won,1,1000,EUR,2025-01-20,2025-01-01,won,SDR\n"
        "O4,Acme renewal,A1,R2,Proposal,0.4,5000,USD,2025-04-15,2025-02-01,open,Inbound\n"
        "O5,Acme renewal (copy),A1,R2,Proposal,0.2,5000,USD,2025-04-15,2025-02-01,open,Partner\n"
        "O6,Globex old,A2,R3,Qualification,0.1,700,USD,2025-01-31,2024-06-01,open,Event\n"
    ),
    "quotas": "payee,measure,period,amount,currency\n"
    + "".join(f"{r},bookings,FY2025-Q1,20000,USD\n{r},bookings,FY2025-Q2,10000,USD\n" for r in ("R1", "R2", "R3")),
    "users": "email,name,roles,payee\n" + "".join(f"{e},{e.split('@')[0]},{r},{p}\n" for e, (r, p) in USERS.items()),
}


def build(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2024, 2025], actor="test")
    for kind, body in FILES.items():
        if kind == "quotas":
            add_plan(engine, write("ae.yaml", PLAN), actor="test")
            pa = "payee,plan,effective_from\nR1,ae,2024-01-01\nR2,ae,2024-01-01\nR3,ae,2024-01-01\n"
            assert import_file(engine, "plan_assignments", write("pa.csv", pa), actor="test").rejected == 0
        report = import_file(engine, kind, write(f"{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    set_passwords(engine, PASSWORD, actor="test")
    run_period(engine, "FY2025-M01", actor="test")
    run_period(engine, "FY2025-M02", actor="test")
    late = "id,date,account,product,amount,currency,owner\nT5,2025-01-25,A1,P1,1000,USD,R1\n"
    assert import_file(engine, "transactions", write("late.csv", late), actor="test").inserted == 1
    moved = FILES["opportunities"].splitlines()
    o4 = next(line for line in moved if line.startswith("O4,")).replace("Proposal", "Negotiation")
    changed = "\n".join([moved[0], o4]) + "\n"
    assert import_file(engine, "opportunities", write("o4.csv", changed), actor="test").updated == 1  # audited today
    return engine


@pytest.fixture(scope="module", params=STORES)
def company(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_engine: Engine | None
) -> Iterator[Engine]:
    """The company, built once per store for this module (its tests only read it)."""
    folder = tmp_path_factory.mktemp("insights")

    def write(name: str, content: str) -> Path:
        path = folder / name
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        migrate(engine)
        yield build(engine, write)
        engine.dispose()
        return
    assert pg_engine is not None
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "roles")
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield build(pg_engine, write)


def who(engine: Engine, email: str):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        user_id = session.scalars(select(m.User.id).where(m.User.email == email)).one()
    return principal_of(engine, user_id)


def rows(table) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    key = table.columns[0].name
    return {r[key]: r for r in table.records()}


def test_kpis_of_the_whole_company_match_the_hand_worked_figures(company: Engine) -> None:
    with Session(company) as session:
        k = compute(session, Q1, None)
    h = k.headline
    assert (k.period.name, k.prior.name, k.next and k.next.name, k.currency) == (
        "FY2025-Q1",
        "FY2024-Q1",
        "FY2025-Q2",
        "USD",
    )
    assert h["revenue"] == Decimal("14700.00") and h["revenue_prior"] == Decimal("7200.00")
    assert h["growth"] == Decimal("1.0417") and h["discount"] == Decimal("0.1484")
    assert (h["won"], h["lost"], h["win_rate"]) == (2, 1, Decimal("0.6667"))
    assert h["average_deal"] == Decimal("4600.00") and h["sales_cycle_days"] == Decimal("29.5")
    assert h["opportunities_created"] == 4 and h["velocity_per_day"] == Decimal("415.82")
    assert (k.attainment_period, k.measured_through) == ("FY2025-Q1", "FY2025-M02")
    assert h["attainment_median"] == Decimal("0.2000") and h["at_or_above_quota"] == Decimal("0.0000")
    assert h["earnings"] == Decimal("660.00") and h["cost_of_sales"] == Decimal("0.0449")
    assert h["pay_for_performance_r"] == Decimal("1.0")
    assert (h["pipeline_next"], h["pipeline_next_weighted"], h["remaining_quota"]) == (
        Decimal("10000.00"),
        Decimal("3000.00"),
        Decimal("30000.00"),
    )
    assert h["pipeline_coverage"] == Decimal("0.3333")

    reps = rows(k.tables["by_rep"])
    assert {p: (r["revenue"], r["attainment"], r["earnings"]) for p, r in reps.items()} == {
        "R1": (Decimal("8000.00"), Decimal("0.4000"), Decimal("400.00")),  # T5 came after the runs: not credited
        "R2": (Decimal("4000.00"), Decimal("0.2000"), Decimal("200.00")),
        "R3": (Decimal("1200.00"), Decimal("0.0600"), Decimal("60.00")),
    }
    assert reps["R1"]["win_rate"] == Decimal("0.5000") and reps["R3"]["cycle_days"] == Decimal("19.0")
    assert reps["R1"]["cost_of_sales"] == Decimal("0.0500") and reps["R1"]["manager"] == "M1"
    teams = rows(k.tables["by_team"])
    assert teams["M1"]["revenue"] == Decimal("12000.00") and teams["M1"]["attainment"] == Decimal("0.3000")
    assert teams["M2"]["members"] == 1 and teams["M2"]["earnings"] == Decimal("60.00")
    regions = rows(k.tables["by_region"])
    assert (regions["NA"]["revenue"], regions["NA"]["growth"]) == (Decimal("13500.00"), Decimal("1.7000"))
    assert (regions["EMEA"]["revenue"], regions["EMEA"]["growth"]) == (Decimal("1200.00"), Decimal("-0.4545"))
    products = rows(k.tables["by_product"])
    assert (products["P2"]["revenue"], products["P2"]["growth"]) == (Decimal("1700.00"), Decimal("-0.2273"))
    assert products["P1"]["discount"] == Decimal("0.1429")  # lines with a list amount: 1 − 12,000 / 14,000
    territories = rows(k.tables["by_territory"])
    assert territories["T-NA"]["revenue"] == Decimal("13000.00") and territories["T-EU"]["growth"] == Decimal("-0.4545")
    months = rows(k.tables["by_month"])
    assert months["2025-01"]["revenue"] == Decimal("10200.00") and months["2025-02"]["revenue"] == Decimal("4500.00")
    funnel = rows(k.tables["funnel"])
    assert [funnel["SDR"][c] for c in ("created", "closed", "won", "conversion", "won_amount")] == [
        2,
        2,
        1,
        Decimal("0.5000"),
        Decimal("1200.00"),
    ]
    assert funnel["Inbound"]["open"] == 1 and "Event" not in funnel  # O6 was created before the quarter
    bands = rows(k.tables["attainment"])
    assert bands["0-50%"]["payees"] == 3 and bands["100-125%"]["payees"] == 0

    flags = {(r["kind"], r["name"]): r["reason"] for r in k.tables["flags"].records()}
    assert "revenue -45.5% vs FY2024-Q1 (below -10.0%)" in flags[("region", "EMEA")]
    assert "median attainment" in flags[("region", "EMEA")] and "of pace" in flags[("region", "EMEA")]
    assert flags[("product", "P2")].startswith("revenue -22.7%")
    assert ("product", "P1") not in flags  # growing, and only two products: no quartile
    assert ("territory", "T-EU") in flags


def test_filters_narrow_the_figures(company: Engine) -> None:
    with Session(company) as session:
        emea = compute(session, Filters(period="FY2025-Q1", region="EMEA"), None)
        services = compute(session, Filters(period="FY2025-Q1", product="Services"), None)
        r2 = compute(session, Filters(period="FY2025-Q1", rep="R2"), None)
        team = compute(session, Filters(period="FY2025-Q1", team="M1"), None)
        eur = compute(session, Filters(period="FY2025-M01", currency="eur"), None)
        with pytest.raises(NotFound, match="unknown period"):
            compute(session, Filters(period="FY2031"), None)
        with pytest.raises(InvalidInput, match="ISO 4217"):
            compute(session, Filters(currency="dollars"), None)
    assert emea.headline["revenue"] == Decimal("1200.00") and list(rows(emea.tables["by_rep"])) == ["R3"]
    assert services.headline["revenue"] == Decimal("1700.00")  # T2 and T4 (P2 is the Services family)
    assert r2.headline["revenue"] == Decimal("4000.00") and r2.headline["pipeline_coverage"] == Decimal("1.0000")
    assert list(rows(r2.tables["by_rep"])) == ["R2"]
    assert team.headline["revenue"] == Decimal("12000.00")  # credited to R1 and R2 (T5 was never run)
    assert set(rows(team.tables["by_rep"])) == {"R1", "R2"}
    # only EUR→USD rates exist: in EUR, T2 counts as it is and the USD lines (T01, T1, T5 in the window) are left out
    assert eur.currency == "EUR" and eur.headline["revenue"] == Decimal("1000.00")
    assert eur.notes[0] == "3 transactions have no FX rate to EUR and are left out"


def test_each_role_sees_its_own_numbers_only(company: Engine) -> None:
    manager = kpis_for(company, who(company, "m1@x.io"), Q1)
    assert set(rows(manager.tables["by_rep"])) == {"R1", "R2"} and manager.headline["revenue"] == Decimal("12000.00")
    assert {r["region"] for r in manager.tables["by_region"].records()} == {"NA"}
    rep = kpis_for(company, who(company, "r3@x.io"), Q1)
    assert list(rows(rep.tables["by_rep"])) == ["R3"] and rep.headline["revenue"] == Decimal("1200.00")
    assert rep.headline["earnings"] == Decimal("60.00") and rep.choices["rep"] == [("R3", "Cy (R3)")]
    finance = kpis_for(company, who(company, "finance@x.io"), Q1)
    assert finance.headline["revenue"] == Decimal("14700.00")
    for email, payee in (("r3@x.io", "R1"), ("m1@x.io", "R3")):
        with pytest.raises(NotFound, match="unknown payee"):
            kpis_for(company, who(company, email), Filters(period="FY2025-Q1", rep=payee))
    with pytest.raises(NotFound, match="unknown payee"):
        kpis_for(company, who(company, "m1@x.io"), Filters(period="FY2025-Q1", team="M2"))


def test_data_quality_finds_each_kind_of_problem(company: Engine) -> None:
    admin = data_quality_for(company, who(company, "admin@x.io"), date(2025, 3, 1))
    found = {name: [p.subject for p in c.rows] for name, c in admin.checks.items()}
    assert found == {
        "uncredited": ["T4"],  # February's run: A3 has no owner and T4 none
        "unassigned_accounts": ["A3"],
        "stale_opportunities": ["O6"],
        "duplicate_opportunities": ["O4, O5"],
        "late_data": ["T5"],
    }
    assert admin.run_period == "FY2025-M02"
    stale = admin.checks["stale_opportunities"].rows[0]
    assert "past its close date 2025-01-31 (29 days)" in stale.detail and "273 days" in stale.detail
    assert admin.checks["late_data"].rows[0].detail.endswith("run FY2025-M01 again")
    assert admin.checks["uncredited"].rows[0].view == "/transactions/T4"
    assert admin.checks["unassigned_accounts"].rows[0].fix == "/admin/imports?kind=account_territories"
    # a manager: only the opportunities of the team; the store-wide checks are empty
    manager = data_quality_for(company, who(company, "m1@x.io"), date(2025, 3, 1))
    assert {name: c.count for name, c in manager.checks.items()} == {
        "uncredited": 0,
        "unassigned_accounts": 0,
        "stale_opportunities": 0,
        "duplicate_opportunities": 1,
        "late_data": 0,
    }
    rep = data_quality_for(company, who(company, "r3@x.io"), date(2025, 3, 1))
    assert [p.subject for p in rep.checks["stale_opportunities"].rows] == ["O6"]
    assert rep.checks["duplicate_opportunities"].count == 0
    later = data_quality_for(company, who(company, "admin@x.io"), date(2025, 3, 1), stale_days=365)
    assert "273 days" not in later.checks["stale_opportunities"].rows[0].detail
    # 20 days: O5 has not changed since it was created (28 days); O4 was changed by an import (today, per the audit)
    sooner = data_quality_for(company, who(company, "admin@x.io"), date(2025, 3, 1), stale_days=20)
    ages = {p.subject: p.detail for p in sooner.checks["stale_opportunities"].rows}
    assert set(ages) == {"O5", "O6"} and "no change for 28 days since it was created on 2025-02-01" in ages["O5"]


def signed_in(engine: Engine, email: str) -> TestClient:
    from tests.test_web import csrf_of

    client = TestClient(create_app(engine, secret=SECRET))
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def test_pages_api_and_csv(company: Engine) -> None:
    admin = signed_in(company, "admin@x.io")
    page = admin.get("/insights?period=FY2025-Q1")
    assert page.status_code == 200
    assert 'data-kpi="revenue">14,700.00<' in page.text and 'id="chart-pay"' in page.text
    assert (
        'href="/insights/by_rep.csv?period=FY2025-Q1"' in page.text and '<a href="/insights">Insights</a>' in page.text
    )
    answer = admin.get("/insights/by_rep.csv?period=FY2025-Q1")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["payee"], r["revenue"], r["attainment"]) for r in table] == [
        ("R1", "8000.00", "0.4000"),
        ("R2", "4000.00", "0.2000"),
        ("R3", "1200.00", "0.0600"),
    ]
    for name in ("by_product", "by_region", "by_team", "by_month", "funnel", "attainment", "pay_for_performance",
                 "by_territory", "flags"):  # fmt: skip
        assert admin.get(f"/insights/{name}.csv?period=FY2025-Q1").status_code == 200, name
    assert admin.get("/insights/nothing.csv").status_code == 404
    assert admin.get("/insights?period=FY2031").status_code == 404
    api = admin.get("/api/v1/insights/kpis", params={"period": "FY2025-Q1", "region": "NA"}).json()
    assert api["headline"]["revenue"] == "13500.00" and api["prior"] == "FY2024-Q1"
    assert [r["payee"] for r in api["tables"]["by_rep"]] == ["R1", "R2"]
    dq = admin.get("/insights/data-quality?as_of=2025-03-01")
    assert (
        dq.status_code == 200
        and 'href="/transactions/T4"' in dq.text
        and "/admin/imports?kind=opportunities" in dq.text
    )
    dq_csv = admin.get("/insights/data-quality/late_data.csv?as_of=2025-03-01")
    assert dq_csv.status_code == 200 and dq_csv.text.splitlines()[1].startswith("T5,2025-01-25,")
    dq_api = admin.get("/api/v1/insights/data-quality", params={"as_of": "2025-03-01"}).json()
    assert dq_api["checks"]["duplicate_opportunities"]["items"][0]["subject"] == "O4, O5"
    assert admin.get("/api/v1/insights/data-quality", params={"as_of": "soon"}).status_code == 422

    rep = signed_in(company, "r3@x.io")
    mine = rep.get("/api/v1/insights/kpis", params={"period": "FY2025-Q1"}).json()
    assert mine["headline"]["revenue"] == "1200.00" and [r["payee"] for r in mine["tables"]["by_rep"]] == ["R3"]
    assert rep.get("/api/v1/insights/kpis", params={"period": "FY2025-Q1", "rep": "R1"}).status_code == 404
    assert rep.get("/insights/by_rep.csv?period=FY2025-Q1").text.count("\n") == 2  # header and R3
    assert 'name="team"' not in rep.get("/insights?period=FY2025-Q1").text
    assert TestClient(create_app(company, secret=SECRET)).get("/api/v1/insights/kpis").status_code == 401


def test_csv_and_correlation_helpers() -> None:
    from openspm.insights.kpis import Column, Table

    t = Table("x", "X", [Column("a"), Column("b", "money")], [["one", Decimal("1.50")], ["two, three", None]])
    assert table_csv(t) == 'a,b\none,1.50\n"two, three",\n'
    assert pearson([(1, 2), (2, 4), (3, 6)]) == pytest.approx(1.0)
    assert pearson([(1, 2), (2, 2), (3, 2)]) is None and pearson([(1, 2)]) is None


def test_the_command_line(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from openspm.cli.main import app

    monkeypatch.setenv("OPENSPM_DATABASE_URL", company.url.render_as_string(hide_password=False))
    runner = CliRunner()
    as_json = runner.invoke(app, ["insights", "kpis", "--period", "FY2025-Q1", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["headline"]["revenue"] == "14700.00"
    funnel = runner.invoke(app, ["insights", "kpis", "--period", "FY2025-Q1", "--csv", "--table", "funnel"])
    assert (
        funnel.stdout.splitlines()[0]
        == "lead_source,created,open,closed,won,conversion,win_rate,won_amount,average_deal"
    )
    assert "SDR,2,0,2,1,0.5000,0.5000,1200.00,1200.00" in funnel.stdout.splitlines()
    screen = runner.invoke(app, ["insights", "kpis", "--period", "FY2025-Q1", "--rep", "R3"])
    assert screen.exit_code == 0 and "1200.00" in screen.stdout
    wrong = runner.invoke(app, ["insights", "kpis", "--table", "nope"])
    assert wrong.exit_code != 0 and "unknown table 'nope'" in wrong.output
    dq = runner.invoke(app, ["insights", "data-quality", "--as-of", "2025-03-01", "--csv"])
    assert dq.exit_code == 0 and "late_data,T5,2025-01-25," in dq.stdout
    checks = json.loads(runner.invoke(app, ["insights", "data-quality", "--as-of", "2025-03-01", "--json"]).stdout)
    assert {name: c["count"] for name, c in checks["checks"].items()} == {
        "uncredited": 1,
        "unassigned_accounts": 1,
        "stale_opportunities": 1,
        "duplicate_opportunities": 1,
        "late_data": 1,
    }


def test_kept_figures_follow_a_change_in_the_store(company: Engine, tmp_path: Path) -> None:
    """Runs last: it adds a transaction (the KPIs kept for the page's CSV links must not hide it)."""
    admin = who(company, "admin@x.io")
    before = kpis_for(company, admin, Q1)
    assert kpis_for(company, admin, Q1) is before  # kept
    extra = tmp_path / "extra.csv"
    extra.write_text("id,date,account,product,amount,currency\nT6,2025-03-05,A2,P2,300,USD\n", encoding="utf-8")
    assert import_file(company, "transactions", extra, actor="test").inserted == 1
    after = kpis_for(company, admin, Q1)
    assert after.headline["revenue"] == before.headline["revenue"] + Decimal("300.00")
