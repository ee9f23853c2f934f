"""The shared text and choice checks (`openspm.core.text`)."""

from __future__ import annotations

import pytest

from openspm.core.errors import InvalidInput
from openspm.core.text import check_choices, clean_text


def test_clean_text_strips_and_checks() -> None:
    assert clean_text("  hi  ", "the note", 10) == "hi"
    assert clean_text("   ", "the note", 10, required=False) is None
    with pytest.raises(InvalidInput, match="the note is required"):
        clean_text("  ", "the note", 10)
    with pytest.raises(InvalidInput, match="is 11 characters; at most 10"):
        clean_text("x" * 11, "the note", 10)
    assert clean_text("a\x00b", "the note", 10) == "a\x00b"
    with pytest.raises(InvalidInput, match="must not hold a NUL"):
        clean_text("a\x00b", "the note", 10, allow_nul=False)


def test_check_choices_names_the_first_unknown() -> None:
    assert check_choices(("open",), ("open", "closed")) == ["open"]
    assert check_choices([], ("open",)) == []
    with pytest.raises(InvalidInput, match=r"unknown state 'x'; use one of: open, closed"):
        check_choices(["open", "x", "y"], ("open", "closed"))
