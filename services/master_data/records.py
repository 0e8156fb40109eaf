"""The master data entries as validated records: what admin writes and imports carry.

Money is integer minor units; a float (even 100.0) is refused rather than rounded.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.alias_generators import to_camel

from services.common.codes import Code
from services.common.gtin import BadCode, gtin14

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


MasterRecord = Tenant | Store | TaxRule | Item | StorePrice | Barcode
