"""In-store codes: labels a store's scale prints with the item and its price or weight in the
barcode (GS1 prefixes 02 and 20-29 are for in-store use). Their layouts vary by country and
chain, so each tenant's are master data: a prefix, the item's digits, then an embedded price or
weight (its digits, decimals and unit), an optional price check digit, and the EAN-13 check
digit. Japan's common price layout is `02` + 5-digit item + 5-digit price + check digit:
`0212345001981` is item 12345 at 198 (check digit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .gtin import BadCode, check_digit

CODE_LENGTH: Final = 13  # an EAN-13
IN_STORE_PREFIXES: Final = ("02", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29")


class Embedded(StrEnum):
    PRICE = "price"  # in the currency's minor units x 10**-decimals
    WEIGHT = "weight"  # in `unit` x 10**-decimals


class WeightUnit(StrEnum):
    GRAM = "g"
    KILOGRAM = "kg"


@dataclass(frozen=True, slots=True)
class Layout:
    """One tenant's layout of in-store codes starting with `prefix`."""

    layout_id: str
    prefix: str
    item_digits: int
    embedded: Embedded
    value_digits: int
    decimals: int = 0
    unit: WeightUnit | None = None  # a weight's
    price_check_digit: bool = False  # a check digit over a 4- or 5-digit price

    def problems(self) -> list[str]:
        """What makes the layout unusable (empty when it is sound); `2` alone is 20-29."""
        found = []
        if not self.prefix.isascii() or not self.prefix.isdigit():
            found.append(f"prefix {self.prefix!r} is not digits")
        elif self.prefix != "2" and not self.prefix.startswith(IN_STORE_PREFIXES):
            found.append(f"prefix {self.prefix} is not for in-store use (02, 20-29)")
        length = len(self.prefix) + self.item_digits + self.value_digits + 1
        length += 1 if self.price_check_digit else 0
        if length != CODE_LENGTH:
            found.append(f"its parts come to {length} digits, not {CODE_LENGTH}")
        if self.item_digits < 1 or self.value_digits < 1 or self.decimals < 0:
            found.append("the item and the value need a digit each")
        if self.embedded is Embedded.WEIGHT and self.unit is None:
            found.append("a weight needs its unit")
        if self.embedded is Embedded.PRICE and self.unit is not None:
            found.append("a price has no weight unit")
        if self.price_check_digit and (
            self.embedded is not Embedded.PRICE or self.value_digits not in (4, 5)
        ):
            found.append("a price check digit covers a 4- or 5-digit price only")
        return found

    def overlaps(self, other: Layout) -> bool:
        """Whether a code could match both (one prefix starts the other)."""
        return self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class InStoreCode:
    """What an in-store code carried: the item's digits (as the tenant's barcode table names
    them: the code with the value and check digits zeroed, see `item_key`) and the value."""

    layout_id: str
    item_key: str
    embedded: Embedded
    value: int  # digits as printed
    decimals: int
    unit: WeightUnit | None


def matching(layouts: list[Layout], code: str) -> Layout | None:
    """The layout a 13-digit code starting with an in-store prefix falls under, if any."""
    if len(code) != CODE_LENGTH or not code.startswith(IN_STORE_PREFIXES):
        return None
    found = [layout for layout in layouts if code.startswith(layout.prefix)]
    return max(found, key=lambda layout: len(layout.prefix), default=None)


def read(layout: Layout, code: str) -> InStoreCode:
    """The item and value of a code under its layout; BadCode for a wrong check digit (the
    code's or the price's) or a value of zero."""
    if not code.isascii() or not code.isdigit() or len(code) != CODE_LENGTH:
        raise BadCode("format", f"in-store code {code!r} is not {CODE_LENGTH} digits")
    expected = check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise BadCode("check_digit", f"code {code} fails its check digit (it would be {expected})")
    at = len(layout.prefix) + layout.item_digits
    if layout.price_check_digit:
        printed, at = int(code[at]), at + 1
        value_text = code[at : at + layout.value_digits]
        if printed != price_check_digit(value_text):
            raise BadCode("check_digit", f"code {code} fails its price check digit")
    else:
        value_text = code[at : at + layout.value_digits]
    value = int(value_text)
    if value == 0:
        raise BadCode("value", f"code {code} carries a {layout.embedded.value} of zero")
    return InStoreCode(
        layout.layout_id, item_key(layout, code), layout.embedded, value, layout.decimals,
        layout.unit,
    )  # fmt: skip


def item_key(layout: Layout, code: str) -> str:
    """The code with everything after the item's digits zeroed and a check digit made anew:
    the barcode a tenant registers for the item (`0212345000003` for item 12345 of `02`)."""
    head = code[: len(layout.prefix) + layout.item_digits]
    body = head.ljust(CODE_LENGTH - 1, "0")
    return body + str(check_digit(body))


# GS1 General Specifications 7.9.3: weighted products of a price's digits.
def _weighted(digit: int, weight: int, sign: int) -> int:
    product = digit * weight
    return (product + sign * (product // 10)) % 10


def price_check_digit(price: str) -> int:
    """The check digit over a 4-digit (weights 2-, 2-, 3, 5-; the sum times 3, its units) or a
    5-digit price (weights 5+, 2-, 5-, 5+, 2-; the digit whose 5- product completes the sum to a
    multiple of 10)."""
    weights = _PRICE_WEIGHTS.get(len(price))
    if weights is None or not price.isdigit():
        raise ValueError("a price check digit covers 4 or 5 digits")
    total = sum(_weighted(int(d), w, s) for d, (w, s) in zip(price, weights, strict=True))
    if len(price) == 4:
        return total * 3 % 10
    wanted = (10 - total % 10) % 10
    return next(d for d in range(10) if _weighted(d, 5, -1) == wanted)


# (weight, sign): 2- is (2, -1), 5+ is (5, 1), 3 is (3, 0).
_PRICE_WEIGHTS: Final = {
    4: ((2, -1), (2, -1), (3, 0), (5, -1)),
    5: ((5, 1), (2, -1), (5, -1), (5, 1), (2, -1)),
}
