"""Rep what-if timings on a demo store: a what-if of a rep's open deals and the ranking of them, with several
scenarios batched into one engine run (clones of the payee) and with one engine run per scenario.

    python benchmarks/whatif_bench.py --url sqlite:///data/openspm.db [--payee EMP-1009] [--close-on 2026-10-05]

Without `--payee`, the AE with the most open deals. Prints seconds and engine runs; the batched and single results
are compared and must be equal.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openspm.insights import whatif as w
from openspm.store import models as m
from openspm.store.db import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--payee")
    parser.add_argument("--close-on", default="2026-10-05", help="close every open deal on this day (quotas exist)")
    args = parser.parse_args()
    engine = make_engine(args.url)
    close_on = date.fromisoformat(args.close_on) if args.close_on else None
    with Session(engine) as session:
        payee = args.payee or session.scalar(
            select(m.Payee.external_id)
            .join(m.Opportunity, m.Opportunity.owner_id == m.Payee.id)
            .where(m.Opportunity.status == "open", m.Payee.role == "AE")
            .group_by(m.Payee.external_id)
            .order_by(func.count().desc(), m.Payee.external_id)
            .limit(1)
        )
        assert payee is not None, "no AE with open deals"
        deals = w.open_deals(session, payee, close_on)
        print(f"{payee}: {len(deals)} open deals, closing on {close_on or 'their own dates'}")
        for batch in (True, False):
            clock = time.perf_counter()
            result = w.what_if(session, payee, deals, batch=batch)
            what_if_s = time.perf_counter() - clock
            clock = time.perf_counter()
            ranked = w.rank_open_deals(session, payee, close_on=close_on, batch=batch)
            rank_s = time.perf_counter() - clock
            label = "batched" if batch else "one run per scenario"
            print(f"  {label:22} what-if {what_if_s:6.1f} s over {len(result.months)} months ({result.total()}); "
                  f"ranking {rank_s:6.1f} s, top {ranked[0].deal.key if ranked else '-'}")  # fmt: skip
            if batch:
                first, first_ranked = result, ranked
            else:
                assert result.lines == first.lines and ranked == first_ranked, "batched and single runs differ"


if __name__ == "__main__":
    main()
