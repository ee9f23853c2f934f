"""Golden scenarios: each folder's plan and inputs must give exactly its expected CSVs (worked by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openspm.scenarios.service import test_scenario as check_scenario

SCENARIOS = sorted(p.parent for p in (Path(__file__).parent / "scenarios").glob("*/scenario.yaml"))


def test_there_are_golden_scenarios() -> None:
    assert len(SCENARIOS) >= 13


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_golden_scenario(folder: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    check = check_scenario(folder, out=tmp_path / "actual", update=update)
    assert check.passed, "\n".join(check.differences.values())
