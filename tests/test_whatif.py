"""Rep what-if: the estimate is what the real runs pay once the deals are imported, to the cent."""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from openspm.access import whatif as access
from openspm.access.principal import Principal, principal_of
from openspm.core.errors import InvalidInput, NotFound
from openspm.demo.service import check_clean, load_demo
from openspm.ingest.service import import_file
from openspm.insights import whatif as w
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from openspm.store.models import Base
from openspm.web.app import create_app
from tests.conftest import STORES

Key = tuple[str, str, str, str]


@pytest.fixture(scope="module", params=STORES)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_engine: Engine | None
) -> Iterator[Engine]:
    """The demo company at scale 0.05 (nothing run), once per store for the module."""
    root = tmp_path_factory.mktemp("whatif")
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{root / 'store.db'}")
        migrate(engine)
    else:
        assert pg_engine is not None
        engine = pg_engine
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "roles")
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    load_demo(engine, root / "demo", seed=5, scale=0.05)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


def _rep_with_2026_deals(engine: Engine) -> tuple[str, list[str]]:
    """An AE with open deals closing in FY2026 (quotas exist there), and those deals."""
    o = m.Opportunity
    with Session(engine) as session:
        rows = session.execute(
            select(m.Payee.external_id, o.external_id)
            .join(o, o.owner_id == m.Payee.id)
            .where(o.status == "open", o.close_date < date(2027, 1, 1), m.Payee.role == "AE")
            .order_by(m.Payee.external_id, o.external_id)
        ).all()
    assert rows, "the demo has slipped open deals in late 2026"
    rep = rows[0][0]
    return rep, [opp for payee, opp in rows if payee == rep]


def _stored(engine: Engine, run_ids: list[int], payee: str) -> dict[Key, Decimal]:
    e = m.RunEarning
    with Session(engine) as session:
        rows = session.execute(
            select(e.period, e.plan, e.component, e.measure_period, e.amount).where(
                e.run_id.in_(run_ids), e.payee == payee
            )
        ).all()
    return {(r[0], r[1], r[2], r[3]): Decimal(r[4]) for r in rows}


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_estimate_equals_the_real_runs_after_importing_the_deals(
    demo: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Must-show: estimate → import the same deals as transactions → run_period → the same change, exactly."""
    rep, opportunities = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = [d for d in w.open_deals(session, rep) if d.key in opportunities]
        # a typed-in deal on one of the rep's accounts, a month later, with a discount
        extra = w.hypothetical_deal(
            session,
            account=deals[0].account,
            product="ANL-ADV",  # Analytics: the kicker's measure changes too
            amount="24000",
            close_date=date(2026, 11, 20),
            discount="12.5",
        )
        chosen = [*deals, extra]
        estimate = w.what_if(session, rep, chosen)
    assert estimate.months[-1] == "FY2026-M12", "a year bonus makes every later month of the year change"
    assert any(c.payee == rep for c in estimate.credits), "the deals credit the rep through the territory"
    change = {(x.month, x.plan, x.component, x.measure_period): x.delta for x in estimate.lines if x.delta}
    assert change, "closing the deals changes the rep's earnings"
    assert estimate.total("discount_cost")[estimate.lines[0].currency] > 0, "the discount costs the rep money"

    before = [run_period(demo, month, actor="test").run_id for month in estimate.months]
    path = _write_csv(tmp_path_factory.mktemp("deals") / "deals.csv", w.transaction_rows(chosen))
    check_clean(import_file(demo, "transactions", path, actor="test"))
    after = [run_period(demo, month, actor="test").run_id for month in estimate.months]

    old, new = _stored(demo, before, rep), _stored(demo, after, rep)
    real = {k: new.get(k, Decimal(0)) - old.get(k, Decimal(0)) for k in set(old) | set(new)}
    assert {k: v for k, v in real.items() if v} == change
    for line in estimate.lines:  # before and after agree one by one, not only their difference
        key = (line.month, line.plan, line.component, line.measure_period)
        assert (old.get(key, Decimal(0)), new.get(key, Decimal(0))) == (line.before, line.after)

    # the imported lines are the ones the what-if adds: no explicit owner, amount net of the discount
    with Session(demo) as session:
        t = m.Transaction
        stored = session.execute(
            select(t.amount, t.list_amount, t.owner_id).where(t.external_id.like("WHATIF-%")).order_by(t.external_id)
        ).all()
        assert len(stored) == len(chosen)
        assert all(owner is None for _, _, owner in stored)
        assert sorted(Decimal(a) for a, _, _ in stored) == sorted(d.net_amount for d in chosen)
        assert extra.net_amount == Decimal("21000.00")
        # clean up: the rest of the module sees the demo as loaded
        session.execute(
            m.Transaction.__table__.delete().where(t.external_id.like("WHATIF-%"))  # type: ignore[attr-defined]
        )
        session.commit()


def test_ranking_by_expected_earnings_uses_the_marginal_payout(demo: Engine) -> None:
    """Expected = probability × (marginal + renewal); marginal is the what-if of the deal alone."""
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = w.open_deals(session, rep, close_on=date(2026, 12, 15))
        chosen = {d.opportunity: Decimal("0.25") for d in deals if d.opportunity}
        first = next(iter(chosen))
        chosen[first] = Decimal("0.9")
        ranked = w.rank_open_deals(session, rep, chosen, close_on=date(2026, 12, 15))
        assert [r.deal.key for r in ranked] and {r.deal.key for r in ranked} == {d.key for d in deals}
        assert [r.expected for r in ranked] == sorted((r.expected for r in ranked), reverse=True)
        top = next(r for r in ranked if r.deal.key == first)
        alone = w.what_if(session, rep, [top.deal])
        assert top.marginal == sum(alone.total().values(), Decimal(0))
        assert top.probability == Decimal("0.9")
        assert top.expected == (Decimal("0.9") * (top.marginal + top.renewal_value)).quantize(Decimal("0.01"))
        stored = w.rank_open_deals(session, rep, None, close_on=date(2026, 12, 15))
        assert all(r.probability == (r.deal.probability or 0) for r in stored)


def test_batched_scenarios_equal_one_run_each(demo: Engine) -> None:
    """Clones of the rep in one engine run give what separate runs give, line by line."""
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = [replace(d, discount=Decimal("7.5")) for d in w.open_deals(session, rep, close_on=date(2026, 12, 3))]
        batched, single = w.what_if(session, rep, deals), w.what_if(session, rep, deals, batch=False)
        assert batched.lines == single.lines and batched.credits == single.credits
        assert any(line.delta for line in batched.lines)
        ranked = w.rank_open_deals(session, rep, close_on=date(2026, 12, 1))
        assert ranked == w.rank_open_deals(session, rep, close_on=date(2026, 12, 1), batch=False)


def test_bad_deals_are_refused(demo: Engine) -> None:
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        account = session.scalar(select(m.Account.external_id).order_by(m.Account.external_id).limit(1))
        product = session.scalar(select(m.Product.external_id).order_by(m.Product.external_id).limit(1))
        assert account is not None and product is not None
        with pytest.raises(NotFound):
            w.hypothetical_deal(session, account="NOPE", product=product, amount="1", close_date=date(2026, 5, 1))
        with pytest.raises(NotFound):
            w.hypothetical_deal(session, account=account, product="NOPE", amount="1", close_date=date(2026, 5, 1))
        with pytest.raises(InvalidInput):
            w.hypothetical_deal(session, account=account, product=product, amount="-5", close_date=date(2026, 5, 1))
        with pytest.raises(InvalidInput):
            w.hypothetical_deal(
                session, account=account, product=product, amount="5", close_date=date(2026, 5, 1), discount="100"
            )
        with pytest.raises(InvalidInput):
            w.what_if(session, rep, [])
        with pytest.raises(NotFound):
            w.what_if(session, "NOBODY", w.open_deals(session, rep)[:1])
        assert session.scalar(select(func.count()).select_from(m.Run)) is not None


def test_horizon_follows_the_plans_periods() -> None:
    """The months a deal can change: to the end of the longest period the plan accumulates over."""
    from openspm.calc.context import PlanInForce
    from openspm.core.period import Period, PeriodKind
    from openspm.plan.load import load_plan

    plans = Path(w.__file__).resolve().parents[1] / "demo" / "plans"
    ae = PlanInForce("ae-commission", 1, load_plan(plans / "ae_commission.yaml"))
    sdr = PlanInForce("sdr-meetings", 1, load_plan(plans / "sdr_meetings.yaml"))
    periods = [
        Period("FY2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1), 2026),
        Period("FY2026-Q2", PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 7, 1), 2026),
        *(Period(f"FY2026-M{i:02d}", PeriodKind.MONTH, date(2026, i, 1), date(2026 + i // 12, i % 12 + 1, 1), 2026)
          for i in range(1, 13)),
    ]  # fmt: skip
    assert w.horizon(periods, [], date(2026, 5, 3)).name == "FY2026-M05"
    assert w.horizon(periods, [sdr], date(2026, 5, 3)).name == "FY2026-M05"  # monthly components only
    assert w.horizon(periods, [ae], date(2026, 5, 3)).name == "FY2026"  # the annual bonus
    deal = w.Deal("x", "A", "P", Decimal(1), "USD", date(2026, 5, 3))
    assert [p.name for p in w.affected_months(periods, [sdr], [deal])] == ["FY2026-M05"]
    assert [p.name for p in w.affected_months(periods, [ae], [deal])][::7] == ["FY2026-M05", "FY2026-M12"]
    ytd = ae.document.model_copy(
        update={
            "components": [c for c in ae.document.components if c.period.value == "month"],
            "measures": [x.model_copy(update={"accumulate": "ytd"}) for x in ae.document.measures],
        }
    )
    assert w.horizon(periods, [PlanInForce("ae", 1, ytd)], date(2026, 5, 3)).name == "FY2026"


def _principal(engine: Engine, email: str) -> Principal:
    with Session(engine) as session:
        user_id = session.scalar(select(m.User.id).where(m.User.email == email))
    assert user_id is not None, email
    return principal_of(engine, user_id)


def _people(engine: Engine) -> tuple[str, str, str, str]:
    """(a rep user with open deals, their manager's user, a manager user outside their team, another rep id)."""
    today = date.today()
    with Session(engine) as session:
        reps = session.execute(
            select(m.User.email, m.Payee.id, m.Payee.external_id)
            .join(m.Payee, m.Payee.id == m.User.payee_id)
            .join(m.Opportunity, m.Opportunity.owner_id == m.Payee.id)
            .where(m.Opportunity.status == "open", m.Payee.role == "AE")
            .order_by(m.User.email)
        ).all()
        for email, payee_id, _ in reps:
            line = m.ReportingLine
            boss = session.scalar(
                select(m.User.email)
                .join(line, line.manager_id == m.User.payee_id)
                .where(line.payee_id == payee_id, line.effective_from <= today)
                .where((line.effective_to.is_(None)) | (line.effective_to > today))
            )
            if boss is None:
                continue
            others = session.scalars(
                select(m.User.email)
                .join(m.Payee, m.Payee.id == m.User.payee_id)
                .where(m.Payee.role == "Manager", m.User.email != boss)
                .order_by(m.User.email)
            ).all()
            other_rep = session.scalar(
                select(m.Payee.external_id).where(m.Payee.role == "AE", m.Payee.id != payee_id).order_by(m.Payee.id)
            )
            assert other_rep is not None
            return email, boss, others[0], other_rep
    raise AssertionError("no rep with open deals and a manager user")


def test_who_may_run_a_what_if(demo: Engine) -> None:
    """A rep for themselves, a manager for their team, admin for anyone; everyone else's payees are unknown."""
    rep_email, boss_email, other_boss_email, other_rep = _people(demo)
    rep, boss, other_boss = (_principal(demo, e) for e in (rep_email, boss_email, other_boss_email))
    admin = _principal(demo, "admin@demo.openspm.io")
    assert rep.payee is not None
    name, deals = access.open_deals_for(demo, rep, None)
    assert name == rep.payee and deals
    with pytest.raises(NotFound):
        access.open_deals_for(demo, rep, other_rep)
    assert access.open_deals_for(demo, boss, rep.payee)[0] == rep.payee
    with pytest.raises(NotFound):
        access.open_deals_for(demo, other_boss, rep.payee)
    assert access.open_deals_for(demo, admin, rep.payee)[0] == rep.payee
    team = {p for p, _ in access.payees_for(demo, boss)}
    everyone = {p for p, _ in access.payees_for(demo, admin)}
    assert rep.payee in team and team < everyone
    assert rep.payee not in {p for p, _ in access.payees_for(demo, other_boss)}
    with pytest.raises(InvalidInput):
        access.open_deals_for(demo, admin, None)  # admin is no payee: name one
    with Session(demo) as session:  # an opportunity that is not the payee's open one
        theirs = session.scalar(
            select(m.Opportunity.external_id)
            .join(m.Payee, m.Payee.id == m.Opportunity.owner_id)
            .where(m.Payee.external_id != rep.payee)
        )
        assert theirs is not None
        with pytest.raises(NotFound):
            access.deals_of(session, rep.payee, [theirs], [])


def _client(engine: Engine, email: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(engine, secret="what-if-tests-" + "x" * 32))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"email": email, "password": "openspm-demo", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/what-if")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and found is not None
    return client, found.group(1)


def test_the_page_and_the_api(demo: Engine) -> None:
    rep_email, _, other_boss_email, _ = _people(demo)
    client, csrf = _client(demo, rep_email)
    page = client.get("/what-if")
    opportunity = re.findall(r'name="opportunity" value="([^"]+)"', page.text)[0]
    assert client.post("/what-if/run", data={"opportunity": opportunity}).status_code == 403  # no CSRF token
    body = {"opportunities": [opportunity], "close_on": "2026-12-10", "discount": "5"}
    answer = client.post("/api/v1/what-if", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["months"] == ["FY2026-M12"] and data["deals"][0]["discount"] == "5"
    assert sum(Decimal(x["delta"]) for x in data["lines"]) == sum(Decimal(v) for v in data["total"].values())
    html = client.post(
        "/what-if/run",
        data={"opportunity": opportunity, "close_on": "2026-12-10", "discount": "5", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert html.status_code == 200 and "Change in earnings" in html.text
    for total in data["total"].values():
        assert f"{Decimal(total):+,.2f}" in html.text
    deals = client.get("/api/v1/what-if/deals").json()
    assert opportunity in [d["key"] for d in deals["deals"]]

    job = client.post("/api/v1/what-if/ranking", json={"close_on": "2026-12-10"}, headers={"X-CSRF-Token": csrf})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    deadline = time.monotonic() + 300
    while (state := client.get(f"/api/v1/what-if/ranking/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["state"] == "succeeded", state
    assert opportunity in [d["key"] for d in state["result"]["deals"]]
    outsider, _ = _client(demo, other_boss_email)
    assert outsider.get(f"/api/v1/what-if/ranking/{job_id}").status_code == 404
