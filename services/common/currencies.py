"""How many digits of a currency are minor units (ISO 4217): 2 unless listed here."""

from __future__ import annotations

from typing import Final

_NONE: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
     "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
_THREE: Final = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_digits(currency_code: str) -> int:
    """0 for JPY (a yen has no minor unit), 3 for KWD, 2 for USD and most others."""
    if currency_code in _NONE:
        return 0
    return 3 if currency_code in _THREE else 2


def in_minor_units(digits: int, decimals: int, currency_code: str) -> int | None:
    """digits x 10^-decimals of the currency's major unit in minor units; None when that is not
    a whole number of minor units (a price of 1.234 euros)."""
    shift = minor_digits(currency_code) - decimals
    if shift >= 0:
        return digits * int(10**shift)
    whole, rest = divmod(digits, int(10 ** (-shift)))
    return None if rest else whole
