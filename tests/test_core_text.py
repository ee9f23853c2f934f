"""The shared text and choice checks (`openspm.core.text`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openspm.core.errors import InvalidInput
from openspm.core.text import check_choices, clean_text, optional_decimal, required_decimal


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


def test_decimals_from_user_text() -> None:
    assert optional_decimal(" 1,250.50 ", "amount") == Decimal("1250.50")
    assert optional_decimal("  ", "amount") is None
    assert required_decimal("-3", "amount") == Decimal(-3)
    with pytest.raises(InvalidInput, match=r"amount 'abc' is not a number, e\.g\. 250\.00"):
        optional_decimal("abc", "amount")
    with pytest.raises(InvalidInput, match=r"amount 'NaN' is not a number, e\.g\. -250\.00"):
        required_decimal("NaN", "amount", "-250.00")
    with pytest.raises(InvalidInput, match=r"amount '' is not a number"):
        required_decimal("", "amount")
