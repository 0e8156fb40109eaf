"""Tax in integer minor units: external, internal and exempt rules, each with its rounding.

Tax is computed per rule over the sum of that rule's lines (not per line), as a receipt shows
it; a rule is its code, type, rate and rounding as recorded at each line's scan. Rates are basis
points: 1000 is 10 %. No floats: every division is exact integer arithmetic with the rule's own
rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BASIS_POINTS = 10_000  # 100 %


class TaxType(StrEnum):
    """How tax relates to the price: the cart's one definition (values are what carts store)."""

    EXTERNAL = "EXTERNAL"  # added on top of the price
    INTERNAL = "INTERNAL"  # already included in the price
    EXEMPT = "EXEMPT"


class Rounding(StrEnum):
    """How a fractional minor unit of tax is rounded."""

    FLOOR = "FLOOR"
    HALF_UP = "HALF_UP"
    CEILING = "CEILING"


def divide(numerator: int, denominator: int, rounding: Rounding) -> int:
    """numerator / denominator rounded as asked; numerator >= 0, denominator > 0."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("tax is computed on non-negative amounts")
    if rounding is Rounding.FLOOR:
        return numerator // denominator
    if rounding is Rounding.CEILING:
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)  # half up


@dataclass(frozen=True, slots=True)
class TaxRule:
    """How to tax an item: master-data's rule as the cart received it, and a line's rule as it
    was when the item was scanned (the cart's one tax rule)."""

    tax_code: str
    tax_type: TaxType
    rate_basis_points: int
    rounding: Rounding

    def sort_key(self) -> tuple[str, str, int, str]:
        # The enums are strs and sort as their values (an enum's `.value` is a slow property).
        return (self.tax_code, self.tax_type, self.rate_basis_points, self.rounding)


def tax_of(amount: int, rule: TaxRule) -> int:
    """The tax in `amount` (internal) or on top of it (external)."""
    if rule.tax_type is TaxType.EXEMPT or rule.rate_basis_points == 0:
        return 0
    if rule.tax_type is TaxType.EXTERNAL:
        return divide(amount * rule.rate_basis_points, BASIS_POINTS, rule.rounding)
    return divide(
        amount * rule.rate_basis_points, BASIS_POINTS + rule.rate_basis_points, rule.rounding
    )
