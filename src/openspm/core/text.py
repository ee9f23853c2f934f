"""Checks of free text and of choices a user gave, shared by the services that take comments and filters.

- `clean_text(value, what, limit)`: the value stripped; blank is an error when `required` (else None); longer
  than `limit` characters is an error; a NUL character is an error unless `allow_nul`.
- `check_choices(values, allowed, what)`: every value must be one of `allowed`; the first that is not is the
  error ("unknown state 'x'; use one of: open, closed").
- `optional_decimal(text, what)` / `required_decimal(text, what)`: an amount typed in a form or on the command
  line ("1,250.00" → 1250.00; thousands commas dropped); not a finite number is an error naming it with an
  example ("amount 'abc' is not a number, e.g. 250.00"); blank is None, or that error when required.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from openspm.core.errors import InvalidInput


def clean_text(
    value: str | None, what: str, limit: int, *, required: bool = True, allow_nul: bool = True
) -> str | None:
    """`value` stripped (None when blank and not `required`); InvalidInput when blank and required, longer
    than `limit` characters, or holding a NUL character when not `allow_nul`."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    if not allow_nul and "\x00" in text:
        raise InvalidInput(f"{what} must not hold a NUL character")
    if len(text) > limit:
        raise InvalidInput(f"{what} is {len(text)} characters; at most {limit}")
    return text


def check_choices(values: Iterable[str], allowed: Iterable[str], what: str = "state") -> list[str]:
    """The values as a list; InvalidInput naming the first that is not one of `allowed`."""
    wanted, choices = list(values), list(allowed)
    unknown = [v for v in wanted if v not in choices]
    if unknown:
        raise InvalidInput(f"unknown {what} {unknown[0]!r}; use one of: {', '.join(choices)}")
    return wanted


def optional_decimal(text: str, what: str, example: str = "250.00") -> Decimal | None:
    """A finite Decimal from user text (thousands commas dropped); None when blank; InvalidInput otherwise."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number, e.g. {example}") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number, e.g. {example}")
    return value


def required_decimal(text: str, what: str, example: str = "250.00") -> Decimal:
    """As `optional_decimal`, and blank is the same error as any other text that is not a number."""
    value = optional_decimal(text, what, example)
    if value is None:
        raise InvalidInput(f"{what} {text!r} is not a number, e.g. {example}")
    return value
