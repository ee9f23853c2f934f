"""Exact money: Decimal from text, never from float; ISO 4217 currency codes.

`D("12.50")` parses an amount; `parse_decimal` accepts what CRM exports write
(thousands separators, a trailing percent sign when asked) and rejects floats,
NaN and infinities. Rounding is explicit: `round_money(x, scale, mode)`.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}

# ISO 4217 active currency codes.
CURRENCIES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)


def D(text: str | int) -> Decimal:
    """Parse an exact decimal from text (or an int). Floats are refused by type."""
    return Decimal(text)


def parse_decimal(text: str, *, thousands: str = "", percent: bool = False, decimal: str = ".") -> Decimal:
    """Parse a finite decimal from user text.

    `thousands` is a separator to drop ("," for "1,234.50"; "." with `decimal=","`
    for "1.234,50"); with `percent`, a
    trailing "%" divides by 100 ("12.5%" -> 0.125). Raises ValueError with a
    readable reason.
    """
    cleaned = text.strip()
    if thousands:
        cleaned = cleaned.replace(thousands, "")
    if decimal != ".":
        cleaned = cleaned.replace(decimal, ".")
    divide = False
    if percent and cleaned.endswith("%"):
        cleaned = cleaned[:-1].strip()
        divide = True
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        if "," in cleaned and not thousands:
            raise ValueError(
                "not a number (write 1234.50 without separators, or set `thousands` in a mapping)"
            ) from None
        raise ValueError("not a number") from None
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value / 100 if divide else value


def normalize_currency(code: str) -> str:
    """Upper-case a currency code and check it is ISO 4217; ValueError otherwise."""
    cleaned = code.strip().upper()
    if cleaned not in CURRENCIES:
        raise ValueError("unknown currency (expected an ISO 4217 code such as USD, EUR, GBP)")
    return cleaned


def round_money(value: Decimal, scale: int = 2, mode: str = "half_up") -> Decimal:
    """Round to `scale` decimal places with a named mode (half_up, half_even, down, up)."""
    try:
        rounding = ROUNDING_MODES[mode]
    except KeyError:
        raise ValueError(f"unknown rounding mode {mode!r}; use one of {sorted(ROUNDING_MODES)}") from None
    return value.quantize(Decimal(1).scaleb(-scale), rounding=rounding)


def to_text(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros beyond the given scale."""
    return format(value, "f")
