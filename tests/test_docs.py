"""Generated references stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from openspm.ingest.docs import render

ROOT = Path(__file__).resolve().parents[1]


def test_import_reference_matches_the_code() -> None:
    checked_in = (ROOT / "docs" / "import.md").read_text(encoding="utf-8")
    assert checked_in == render(), "docs/import.md is out of date: run `make docs`"


def test_every_example_mapping_is_valid() -> None:
    from openspm.ingest.kinds import KINDS
    from openspm.ingest.mapping import load_mapping

    mappings = sorted((ROOT / "examples" / "mappings").glob("*.yaml"))
    assert mappings
    for path in mappings:
        mapping = load_mapping(path)
        assert mapping.kind in KINDS, path
        known = {f.name for f in KINDS[mapping.kind].fields}
        assert set(mapping.columns) <= known, path
