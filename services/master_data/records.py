"""The master data entries as validated records: what admin writes and imports carry.

Money is integer minor units; a float (even 100.0) is refused rather than rounded.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.alias_generators import to_camel

from services.common.codes import Code
from services.common.gtin import BadCode, gtin14
from services.common.instore_codes import Embedded, Layout, WeightUnit

MAX_UNIT_PRICE = 10**12


def _integer_only(value: Any) -> Any:
    # Strict: a JSON integer, never a float (even 100.0), a string or a boolean.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer (money is integer minor units)")
    return value


# A name is shown on receipts and stored by both engines: no control characters (a NUL is
# refused by PostgreSQL, a newline breaks a receipt line).
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
INTEGER_ONLY = BeforeValidator(_integer_only)
# Bounds before the validator: so the JSON schema (the admin API's OpenAPI document) has them.
MinorUnits = Annotated[int, Field(ge=0, le=MAX_UNIT_PRICE), INTEGER_ONLY]


class TaxType(StrEnum):
    """How tax relates to the price; the names of the contract's TaxType without prefix."""

    EXTERNAL = "EXTERNAL"
    INTERNAL = "INTERNAL"
    EXEMPT = "EXEMPT"


class RoundingMethod(StrEnum):
    """How a fractional minor unit of tax is rounded."""

    FLOOR = "FLOOR"
    HALF_UP = "HALF_UP"
    CEILING = "CEILING"


def _gtin14(value: Any) -> Any:
    # Any GTIN form (EAN-8, UPC-A, EAN-13/JAN, GTIN-14), its check digit verified; kept as GTIN-14.
    if not isinstance(value, str):
        raise ValueError("must be a string of digits")
    try:
        return gtin14(value)
    except BadCode as bad:
        raise ValueError(str(bad)) from None


# The lengths a GTIN comes in (the check digit is checked by the validator, kept as GTIN-14).
Gtin = Annotated[str, Field(pattern=r"^([0-9]{8}|[0-9]{12,14})$"), BeforeValidator(_gtin14)]


class Record(BaseModel):
    """A master data entry: camelCase in JSON, unknown fields refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )
    KEY: ClassVar[tuple[str, ...]] = ()  # the fields that name the entry

    def key(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in self.KEY)


class Tenant(Record):
    """A tenant: owns one item master; its prices are in one currency."""

    KEY = ("tenant_id",)

    tenant_id: Code
    name: Name
    currency_code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "JPY"
    # How a weighed line's amount (price per kg x weight) is rounded to a minor unit.
    weighed_rounding: RoundingMethod = RoundingMethod.HALF_UP


class Store(Record):
    """A store of a tenant: its own prices may override the common ones."""

    KEY = ("tenant_id", "store_code")

    tenant_id: Code
    store_code: Code
    name: Name


class TaxRule(Record):
    """A tax rule of a tenant, named by tax_code."""

    KEY = ("tenant_id", "tax_code")

    tenant_id: Code
    tax_code: Code
    name: Name
    tax_type: TaxType
    rate_basis_points: Annotated[int, Field(ge=0, le=10_000), INTEGER_ONLY]  # 0 to 100 %
    rounding_method: RoundingMethod


class Item(Record):
    """An item of the common master of a tenant."""

    KEY = ("tenant_id", "item_code")

    tenant_id: Code
    item_code: Code
    item_name: Name
    unit_price: MinorUnits
    tax_code: Code
    category_code: Code
    is_active: StrictBool = True
    discount_restricted: StrictBool = False  # the store may not discount it


class StorePrice(Record):
    """A store's own price for an item: overrides Item.unit_price in that store."""

    KEY = ("tenant_id", "store_code", "item_code")

    tenant_id: Code
    store_code: Code
    item_code: Code
    unit_price: MinorUnits


class Barcode(Record):
    """A barcode of an item: an item may have many (pack sizes, old and new labels), a barcode
    belongs to one item of a tenant. Written in any GTIN form, kept as its GTIN-14."""

    KEY = ("tenant_id", "barcode")

    tenant_id: Code
    barcode: Gtin
    item_code: Code


Digits = Annotated[int, Field(ge=1, le=10), INTEGER_ONLY]


class ScanLayout(Record):
    """A tenant's layout of in-store codes (GS1 prefixes 02, 20-29): the prefix, the item's
    digits, an embedded price (minor units x 10**-decimals) or weight (in `unit`), an optional
    price check digit, the EAN-13 check digit; the parts come to 13 digits. A scan under it is
    the item whose barcode is the code with everything after the item's digits zeroed (and its
    check digit made anew). Prefixes of one tenant never overlap (the store refuses it)."""

    KEY = ("tenant_id", "layout_id")

    tenant_id: Code
    layout_id: Code
    prefix: Annotated[str, Field(pattern=r"^(02[0-9]{0,4}|2[0-9]{0,5})$")]
    item_digits: Digits
    embedded: Embedded
    value_digits: Digits
    decimals: Annotated[int, Field(ge=0, le=5), INTEGER_ONLY] = 0
    unit: WeightUnit | None = None  # a weight's: g or kg
    price_check_digit: StrictBool = False

    @model_validator(mode="after")
    def _sound(self) -> ScanLayout:
        if problems := self.layout().problems():
            raise ValueError("; ".join(problems))
        return self

    def layout(self) -> Layout:
        return Layout(self.layout_id, self.prefix, self.item_digits, self.embedded,
                      self.value_digits, self.decimals, self.unit,
                      self.price_check_digit)  # fmt: skip


MasterRecord = Tenant | Store | TaxRule | Item | StorePrice | Barcode | ScanLayout
