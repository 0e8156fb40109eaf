"""The bodies the cart API accepts, validated by pydantic (camelCase, unknown fields refused)."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from typing import Annotated, Any, Final, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    model_validator,
)
from pydantic.alias_generators import to_camel

from services.common.codes import Code

from .cart_values import MAX_QUANTITY, Discount, PaymentMethod
from .discounts import MAX_DISCOUNTS, DiscountType
from .transactions import MAX_PAGE_SIZE, TransactionType

MAX_LINES_PER_REQUEST: Final = 100  # one batch lookup in master-data
# A reason a person typed: shown in listings and on receipts, so no control characters.
Reason = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
MAX_INT64: Final = 2**63 - 1  # what both storage engines hold in an integer column
MAX_LINE_NO: Final = 999_999_999  # far past a cart's 500 lines: a number, not a row to look up
MAX_PRICE: Final = 10**12


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# The rules of a model validator, in JSON Schema, for the OpenAPI document (a client generator
# and the fuzzer read them there): an override names its price, a price is only an override.
_OVERRIDE_RULES: Final[dict[str, Any]] = {
    "allOf": [
        {"if": {"required": ["priceOverride"], "properties": {"priceOverride": {"const": True}}},
         "then": {"required": ["unitPrice"], "properties": {"unitPrice": {"type": "integer"}}}},
        {"if": {"required": ["unitPrice"], "properties": {"unitPrice": {"type": "integer"}}},
         "then": {"required": ["priceOverride"],
                  "properties": {"priceOverride": {"const": True}}}},
    ]
}  # fmt: skip


class LineItemInput(Body):
    """An item to add, by its code or by what the scanner read (`scan`: a barcode, an in-store
    price or weight label, a GS1 element string). `unitPrice` overrides the price only with
    `priceOverride: true`."""

    model_config = ConfigDict(json_schema_extra=_OVERRIDE_RULES)

    item_code: Code | None = None
    scan: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)] = 1
    unit_price: Annotated[StrictInt, Field(ge=0, le=MAX_PRICE)] | None = None
    price_override: StrictBool = False

    @model_validator(mode="after")
    def _override_is_explicit(self) -> Self:
        if (self.item_code is None) == (self.scan is None):
            raise ValueError("give the itemCode or the scan, one of the two")
        if self.unit_price is not None and not self.price_override:
            raise ValueError("unitPrice overrides the price: set priceOverride to true to do so")
        if self.price_override and self.unit_price is None:
            raise ValueError("priceOverride needs the unitPrice to charge")
        return self


LINE_ITEMS: Final = TypeAdapter(
    Annotated[list[LineItemInput], Field(min_length=1, max_length=MAX_LINES_PER_REQUEST)]
)


class QuantityInput(Body):
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class UnitPriceInput(Body):
    """A line's new unit price (an override: the scanned price stays `originalUnitPrice`)."""

    unit_price: Annotated[StrictInt, Field(ge=0, le=MAX_PRICE)]


class DiscountInput(Body):
    """A discount: `percent` takes floor(base x value / 100), value 0 to 100; `amount` takes
    its value, at most the base."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"type": {"const": "percent"}}},
            "then": {"properties": {"value": {"maximum": 100}}},
        }
    )

    type: DiscountType
    value: Annotated[StrictInt, Field(ge=0, le=MAX_PRICE)]
    reason: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _percent_is_a_percent(self) -> Self:
        if self.type is DiscountType.PERCENT and self.value > 100:
            raise ValueError("a percent discount is 0 to 100")
        return self

    def discount(self) -> Discount:
        return Discount(type=self.type, value=self.value, reason=self.reason)


DISCOUNTS: Final = TypeAdapter(Annotated[list[DiscountInput], Field(max_length=MAX_DISCOUNTS)])


class PaymentInput(Body):
    """A payment: cash may exceed the balance (the rest is change); card and qr may not."""

    method: PaymentMethod
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_PRICE * 10)]


class ReturnedLineInput(Body):
    line_no: Annotated[StrictInt, Field(ge=1, le=MAX_LINE_NO)]
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class ReturnInput(Body):
    """Lines of a sale coming back (a line named twice: its quantities added), refunded by one
    method: by default the sale's own (cash when it took cash); another only with a reason,
    recorded."""

    lines: Annotated[list[ReturnedLineInput], Field(min_length=1, max_length=500)]
    refund_method: PaymentMethod | None = None
    refund_reason: (
        Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = None

    def quantities(self) -> dict[int, int]:
        """How many of each line come back."""
        counted: Counter[int] = Counter()
        for line in self.lines:
            counted[line.line_no] += line.quantity
        return dict(counted)


_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_as(pattern: re.Pattern[str], what: str) -> Any:
    """A query value read only as OpenAPI writes it (no sign, `_`, spaces, `.0`, no number of
    seconds for a date), not as pydantic's lax parsing would."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return BeforeValidator(check)


PLAIN_DIGITS: Final = _written_as(_DIGITS, "an integer in plain digits")
QueryDate = Annotated[datetime.date, _written_as(_ISO_DATE, "a date as YYYY-MM-DD")]


class TransactionListInput(Body):
    """The query of GET /transactions (strings, as a query has them)."""

    business_date: QueryDate | None = None
    receipt_no: Annotated[int, Field(ge=1, le=MAX_INT64), PLAIN_DIGITS] | None = None
    type: TransactionType | None = None
    terminal_id: Code | None = None
    page: Annotated[int, Field(ge=1, le=100_000), PLAIN_DIGITS] = 1
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE), PLAIN_DIGITS] = 20
