"""The values a cart is made of: its lines, their discounts, its payments and tax rows, as the
API shows them and the store keeps them (camelCase in JSON). Amounts are integer minor units."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final, TypeVar, cast

from pydantic import BaseModel, ConfigDict, computed_field
from pydantic.alias_generators import to_camel

from .discounts import DiscountType
from .tax import Rounding, TaxRule, TaxType, divide

MAX_LINES: Final = 500
MAX_QUANTITY: Final = 9_999
MAX_PAYMENTS: Final = 20
# Every amount a cart shows stays an integer a JSON client reads exactly (2^53 - 1).
MAX_AMOUNT: Final = 2**53 - 1

_Value = TypeVar("_Value")


def computed(getter: Callable[[Any], _Value]) -> _Value:
    """A field pydantic computes from others when it writes the model, typed as its value for
    mypy (pydantic's decorator stacked on a property is untyped to it)."""
    return cast(_Value, computed_field(property(getter)))


class CartState(StrEnum):
    INITIAL = "initial"
    ENTERING_ITEMS = "entering_items"
    PAYING = "paying"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    CASH = "cash"  # may exceed the balance: the rest is change
    CARD = "card"  # cashless: at most the balance
    QR = "qr"  # cashless: at most the balance


class PriceSource(StrEnum):
    """Where a line's price and tax rule came from at its scan."""

    MASTER_DATA = "master_data"  # master-data's answer, or a cached copy it vouches for
    LAST_KNOWN = "last_known"  # master-data was unreachable: the last copy the cart knew


class CamelModel(BaseModel):
    """camelCase in JSON, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=False,
        # Every field is in every answer: the OpenAPI document says so (a field dropped from
        # an answer is then a breaking change `just breaking` sees).
        json_schema_serialization_defaults_required=True,
    )


class Discount(CamelModel):
    """A discount on a line or on the cart: `amount` is what it takes of its base now."""

    type: DiscountType
    value: int
    reason: str | None = None
    amount: int = 0


class WeightUnit(StrEnum):
    GRAM = "g"
    KILOGRAM = "kg"


class NetWeight(CamelModel):
    """An exact weight: value x 10^-decimals of unit (never a float)."""

    model_config = ConfigDict(frozen=True)

    value: int
    decimals: int
    unit: WeightUnit

    def per_kilogram(self) -> int:
        """The denominator that turns value into kilograms."""
        return int(10**self.decimals) * (1000 if self.unit is WeightUnit.GRAM else 1)


class LineScan(CamelModel):
    """What was scanned for a line and what the scan carried: the barcode (GTIN-14) the item
    was found by, the in-store layout or Application Identifiers that matched, a label price
    (the line's price, from the label), a net weight (the line is weighed: its amount is the
    unit price per kg times the weight, rounded by `weighedRounding`), a lot and an expiry."""

    # Never changed once made: one object (and its JSON) serves every line of the same scan.
    model_config = ConfigDict(frozen=True)

    scan: str
    barcode: str
    source: str  # gtin, in_store or element_string
    layout_id: str = ""
    label_price: int | None = None
    net_weight: NetWeight | None = None
    lot: str = ""
    expiry_date: str = ""
    weighed_rounding: Rounding = Rounding.HALF_UP


class LineItem(CamelModel):
    """One scanned item: the price and tax rule as they were at the scan."""

    line_no: int
    item_code: str
    item_name: str
    category_code: str
    unit_price: int
    quantity: int
    tax_code: str
    tax_type: TaxType
    tax_rate_basis_points: int
    tax_rounding: Rounding
    price_overridden: bool = False
    original_unit_price: int | None = None
    cancelled: bool = False
    price_source: PriceSource = PriceSource.MASTER_DATA
    discount_restricted: bool = False  # as master-data said at the scan
    discounts: list[Discount] = []
    scan: LineScan | None = None  # a line added by what was scanned

    def _amount(self) -> int:
        scan = self.scan
        if scan is not None and scan.net_weight is not None:  # weighed: price per kg x weight
            weight = scan.net_weight
            return divide(self.unit_price * weight.value, weight.per_kilogram(),
                          scan.weighed_rounding)  # fmt: skip
        return self.unit_price * self.quantity

    def _discount_amount(self) -> int:
        """What the line's own discounts take (a share of a cart discount is the cart's)."""
        return sum(d.amount for d in self.discounts) if self.discounts else 0

    def _net_amount(self) -> int:
        return self.amount - self.discount_amount

    amount = computed(_amount)
    discount_amount = computed(_discount_amount)
    net_amount = computed(_net_amount)

    def tax_rule(self) -> TaxRule:
        return _rule(self.tax_code, self.tax_type, self.tax_rate_basis_points, self.tax_rounding)


# One object per rule, shared by its lines: a frozen dataclass is slow to make.
_rule: Final = functools.lru_cache(maxsize=1024)(TaxRule)


class TaxSummary(CamelModel):
    """Tax of one rule (code, type, rate, rounding, as the lines recorded it at their scan) over
    all its active lines: a rule changed in master-data between two scans makes two rows."""

    tax_code: str
    tax_type: TaxType
    rate_basis_points: int
    rounding: Rounding
    taxable_amount: int
    tax_amount: int


class Payment(CamelModel):
    payment_no: int
    method: PaymentMethod
    amount: int


class DiscountShare(CamelModel):
    """The part of the cart's discounts one line takes."""

    line_no: int
    amount: int
