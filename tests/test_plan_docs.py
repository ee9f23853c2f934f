"""docs/plans.md and docs/plan.schema.json stay in step with the code and the golden scenarios.

- A ```yaml block right after `<!-- scenario: NAME -->` is that scenario's plan.yaml, byte for byte
  (`<!-- scenario: NAME/plans/FILE.yaml -->` for a folder with several plans), so every worked example in the
  guide is a plan that `tests/test_scenarios.py` runs against hand-worked results.
- Every other ```yaml block that is a whole plan (starts with `version: 1`) passes `parse_plan`.
- Every component kind and tier method has a section; every golden scenario is shown.
- The published JSON Schema is exactly what the code generates, and `openspm plan schema` prints it.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openspm.cli.main import app
from openspm.plan.load import parse_plan, plan_json_schema
from openspm.plan.models import Component, TierMethod
from tests.test_plan_errors import DOCUMENTED_MESSAGES

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plans.md"
SCHEMA = ROOT / "docs" / "plan.schema.json"
SCENARIOS = ROOT / "tests" / "scenarios"

MARKER = re.compile(r"^<!-- scenario: (?P<ref>[a-z0-9_]+(?:/[A-Za-z0-9_./-]+\.yaml)?) -->$")


@dataclass(frozen=True)
class Block:
    """A fenced code block of the guide: its language, text, first line number and the line just above it."""

    language: str
    text: str
    line: int
    above: str


def blocks(markdown: str) -> list[Block]:
    found: list[Block] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```"), None)
        assert end is not None, f"docs/plans.md:{i + 1}: a code block is not closed"
        body = "".join(f"{line}\n" for line in lines[i + 1 : end])
        found.append(Block(fence.group(1), body, i + 2, lines[i - 1] if i else ""))
        i = end + 1
    return found


def reference(block: Block) -> str:
    """The `NAME` or `NAME/plans/FILE.yaml` of a worked example's marker."""
    match = MARKER.match(block.above)
    assert match is not None, f"docs/plans.md:{block.line}: not a worked example"
    return match["ref"]


def scenario_path(ref: str) -> Path:
    """`NAME` → tests/scenarios/NAME/plan.yaml; `NAME/plans/FILE.yaml` → that file."""
    return SCENARIOS / ref if ref.endswith(".yaml") else SCENARIOS / ref / "plan.yaml"


GUIDE_TEXT = GUIDE.read_text(encoding="utf-8")
BLOCKS = blocks(GUIDE_TEXT)
EXAMPLES = [b for b in BLOCKS if MARKER.match(b.above)]
OTHER_PLANS = [
    b for b in BLOCKS if b.language == "yaml" and not MARKER.match(b.above) and b.text.lstrip().startswith("version: 1")
]


def test_the_guide_has_worked_examples_and_whole_plans() -> None:
    assert len(EXAMPLES) >= 38
    assert OTHER_PLANS, "the guide should show at least one complete plan"


def test_every_scenario_marker_precedes_a_yaml_block() -> None:
    markers = [(n + 1, line) for n, line in enumerate(GUIDE_TEXT.split("\n")) if line.startswith("<!-- scenario:")]
    assert len(markers) == len(EXAMPLES), "a `<!-- scenario: ... -->` line must sit right above a ```yaml block"
    for number, line in markers:
        assert MARKER.match(line), f"docs/plans.md:{number}: write `<!-- scenario: NAME -->`, not {line!r}"
    for block in EXAMPLES:
        assert block.language == "yaml", f"docs/plans.md:{block.line}: a scenario example is a ```yaml block"


@pytest.mark.parametrize("block", EXAMPLES, ids=[reference(b) for b in EXAMPLES])
def test_worked_example_is_the_golden_scenario_plan(block: Block) -> None:
    path = scenario_path(reference(block))
    assert path.is_file(), f"docs/plans.md:{block.line}: no scenario plan at {path.relative_to(ROOT)}"
    assert (path.parent if path.name == "plan.yaml" else path.parent.parent).joinpath("scenario.yaml").is_file()
    assert block.text == path.read_text(encoding="utf-8"), (
        f"docs/plans.md:{block.line} differs from {path.relative_to(ROOT)}: copy the plan file verbatim"
    )


@pytest.mark.parametrize("block", OTHER_PLANS, ids=[f"line {b.line}" for b in OTHER_PLANS])
def test_every_other_whole_plan_in_the_guide_is_valid(block: Block) -> None:
    parse_plan(block.text, f"docs/plans.md:{block.line}")


def test_every_golden_scenario_is_shown_in_the_guide() -> None:
    shown = {reference(b).split("/")[0] for b in EXAMPLES}
    scenarios = {p.parent.name for p in SCENARIOS.glob("*/scenario.yaml")}
    assert scenarios, "no golden scenarios found"
    missing = sorted(scenarios - shown)
    assert not missing, f"docs/plans.md shows no worked example of: {', '.join(missing)}"


def _headings() -> list[str]:
    return [line for line in GUIDE_TEXT.split("\n") if line.startswith("#")]


def _component_kinds() -> list[str]:
    union = typing.get_args(typing.get_args(Component)[0])
    return [typing.get_args(model.model_fields["kind"].annotation)[0] for model in union]


@pytest.mark.parametrize("kind", _component_kinds())
def test_every_component_kind_has_a_section(kind: str) -> None:
    assert f"### Component `{kind}`" in _headings(), f"docs/plans.md needs a section `### Component `{kind}``"


@pytest.mark.parametrize("method", [m.value for m in TierMethod])
def test_every_tier_method_has_a_section(method: str) -> None:
    assert f"#### Tier method `{method}`" in _headings(), f"docs/plans.md needs `#### Tier method `{method}``"


def test_rule_sections_are_present() -> None:
    wanted = [
        "## Crediting",
        "### Direct sources and their precedence",
        "### Splits and the 100% rule",
        "### Partial credit",
        "### Roll-ups",
        "### Overlays",
        "### Returns and cancellations",
        "## Measures",
        "## Quotas",
        "### Seasonality and proration by months",
        "### Proration by days",
        "### Ramp for new hires",
        "## Components",
        "#### Per transaction or aggregate",
        "#### Boundary",
        "#### Rate adjustments by discount",
        "## Multipliers: accelerators and decelerators",
        "## Gates (thresholds)",
        "## Caps",
        "## Payout timing",
        "## Measurement period and payout period",
        "## Currencies and rounding",
        "## The expression language",
        "## Order of evaluation",
        "## The command line",
        "## Scenario folders",
    ]
    headings = _headings()
    assert [w for w in wanted if w not in headings] == []


def test_documented_error_messages_are_the_tested_ones() -> None:
    section = GUIDE_TEXT.split("## Mistakes and their messages", 1)[1].split("\n## ", 1)[0]
    listing = next(b for b in blocks(section) if b.language == "")
    shown = [line for line in listing.text.splitlines() if line.strip()]
    assert len(shown) >= 12
    untested = [line for line in shown if line not in DOCUMENTED_MESSAGES]
    assert untested == [], "messages shown in docs/plans.md must be asserted in tests/test_plan_errors.py"


def test_published_schema_matches_the_code() -> None:
    expected = json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA.read_text(encoding="utf-8") == expected, (
        "docs/plan.schema.json is out of date; regenerate it with: .venv/bin/python -c 'import json; "
        "from openspm.plan.load import plan_json_schema; "
        "print(json.dumps(plan_json_schema(), indent=2, sort_keys=True))' > docs/plan.schema.json"
    )


def test_cli_prints_the_published_schema() -> None:
    result = CliRunner().invoke(app, ["plan", "schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(SCHEMA.read_text(encoding="utf-8"))
