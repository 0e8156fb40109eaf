"""The master data entries as validated records: what admin writes and imports carry.

Money is integer minor units; a float (even 100.0) is refused rather than rounded.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"  # pydantic's (Rust) regex: $ is the very end
CODE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # for fullmatch: Python's $ passes a final \n
MAX_UNIT_PRICE = 10**12


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money is integer minor units, not a float")
    return value


Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
MinorUnits = Annotated[int, BeforeValidator(_no_float), Field(ge=0, le=MAX_UNIT_PRICE)]


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


class Record(BaseModel):
    """A master data entry: camelCase in JSON, unknown fields refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Tenant(Record):
    """A tenant: owns one item master; its prices are in one currency."""

    tenant_id: Code
    name: Name
    currency_code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "JPY"


class Store(Record):
    """A store of a tenant: its own prices may override the common ones."""

    tenant_id: Code
    store_code: Code
    name: Name


class TaxRule(Record):
    """A tax rule of a tenant, named by tax_code."""

    tenant_id: Code
    tax_code: Code
    name: Name
    tax_type: TaxType
    rate_basis_points: Annotated[int, BeforeValidator(_no_float), Field(ge=0, le=10_000)]
    rounding_method: RoundingMethod


class Item(Record):
    """An item of the common master of a tenant."""

    tenant_id: Code
    item_code: Code
    item_name: Name
    unit_price: MinorUnits
    tax_code: Code
    category_code: Code
    is_active: bool = True


class StorePrice(Record):
    """A store's own price for an item: overrides Item.unit_price in that store."""

    tenant_id: Code
    store_code: Code
    item_code: Code
    unit_price: MinorUnits


MasterRecord = Tenant | Store | TaxRule | Item | StorePrice
