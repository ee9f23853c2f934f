"""KPI dashboard compute time (`openspm.insights.kpis.compute`), optionally against an older revision of kpis.py.

    OPENSPM_DATA_DIR=data PYTHONPATH=src .venv/bin/python benchmarks/kpis_bench.py [--before REV] [--repeat 3]

Reads the store of `OPENSPM_DATA_DIR` (the demo company: `openspm demo --reset && openspm run --all`) and computes
the KPIs of four filters (the newest year; a manager's team; a rep in the year before; a quarter and a region) with
no payee scope, as the first view of `/insights` does (nothing kept). With `--before REV` the `kpis.py` of that git
revision is loaded beside the current one and the two run alternately in the same process (a loaded machine
slows both alike); the best of `--repeat` runs is shown for each, their ratio, and whether the JSON of the two is
identical (it must be). pandas is imported first: the web app has it loaded already.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas  # noqa: F401 - imported once by the web app anyway; kept out of the timings
from sqlalchemy import select
from sqlalchemy.orm import Session

import openspm.insights.kpis as current
from openspm.cli.common import open_store
from openspm.store import models as m


def _revision(rev: str) -> ModuleType:
    text = subprocess.run(
        ["git", "show", f"{rev}:src/openspm/insights/kpis.py"], check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "kpis_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("kpis_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kpis_before"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision whose kpis.py to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = open_store()
    with Session(engine) as session:
        manager = session.scalar(select(m.ReportingLine.manager_id).limit(1))
        team = session.scalar(select(m.Payee.external_id).where(m.Payee.id == manager))
        rep = session.scalar(select(m.Payee.external_id).where(m.Payee.id.not_in(select(m.ReportingLine.manager_id))))
        region = session.scalar(select(m.Account.region).where(m.Account.region.is_not(None)).limit(1))
    cases: dict[str, dict[str, Any]] = {
        "FY2026": {"period": "FY2026"},
        f"FY2026 team={team}": {"period": "FY2026", "team": team},
        f"FY2025 rep={rep}": {"period": "FY2025", "rep": rep},
        f"FY2026-Q3 region={region}": {"period": "FY2026-Q3", "region": region},
    }
    modules: dict[str, ModuleType] = {"after": current}
    if args.before:
        modules = {"before": _revision(args.before), "after": current}
    for name, filters in cases.items():
        best = dict.fromkeys(modules, float("inf"))
        answers: dict[str, str] = {}
        for _ in range(args.repeat):
            for label, module in modules.items():
                with Session(engine) as session:
                    start = time.perf_counter()
                    found = module.compute(session, module.Filters(**filters), None)
                    best[label] = min(best[label], time.perf_counter() - start)
                answers[label] = json.dumps(module.as_json(found), sort_keys=True)
        line = f"{name:32} " + "  ".join(f"{label} {seconds:.2f}s" for label, seconds in best.items())
        if args.before:
            same = answers["before"] == answers["after"]
            line += f"  ratio {best['before'] / best['after']:.1f}x  identical={same}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
