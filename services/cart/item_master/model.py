"""What the cart knows of an item, and the one error type every lookup raises."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gen.kugel.item.v1 import BatchGetItemDetailsResponse, Item


@dataclass(frozen=True, slots=True)
class TaxRule:
    """How to tax a line of the item: type and rounding by name, rate in basis points."""

    tax_code: str
    tax_type: str  # EXTERNAL, INTERNAL, EXEMPT
    rate_basis_points: int
    rounding_method: str  # FLOOR, HALF_UP, CEILING
    name: str


@dataclass(frozen=True, slots=True)
class ItemDetail:
    """One item as a store sells it; money in integer minor units of currency_code."""

    item_code: str
    item_name: str
    unit_price: int
    currency_code: str
    tax_code: str
    category_code: str
    is_active: bool
    tax_rule: TaxRule

    @classmethod
    def from_message(cls, item: Item) -> ItemDetail:
        rule = item.tax_rule
        if rule is None:
            raise ItemLookupError(
                LookupFailure.FAILED, f"item {item.item_code} came without its tax rule"
            )
        return cls(
            item_code=item.item_code,
            item_name=item.item_name,
            unit_price=item.unit_price,
            currency_code=item.currency_code,
            tax_code=item.tax_code,
            category_code=item.category_code,
            is_active=item.is_active,
            tax_rule=TaxRule(
                tax_code=rule.tax_code,
                tax_type=rule.tax_type.name,
                rate_basis_points=rule.rate_basis_points,
                rounding_method=rule.rounding_method.name,
                name=rule.name,
            ),
        )


class LookupFailure(enum.Enum):
    """Why a lookup failed. Only UNAVAILABLE makes the client try the other transport."""

    NOT_FOUND = "not_found"  # the tenant, store or item does not exist
    INVALID = "invalid"  # the request was malformed (a bad code, too many codes)
    REJECTED = "rejected"  # master-data refused our token
    UNAVAILABLE = "unavailable"  # unreachable, overloaded, or out of time
    FAILED = "failed"  # master-data failed (INTERNAL): not the transport's fault


class ItemLookupError(Exception):
    """A lookup failed, whatever the transport; `failure` says why."""

    def __init__(self, failure: LookupFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The items found, by code, and the codes master-data does not know."""

    found: dict[str, ItemDetail]
    not_found: list[str]

    @classmethod
    def from_reply(cls, reply: BatchGetItemDetailsResponse) -> BatchResult:
        return cls(
            found={i.item_code: ItemDetail.from_message(i) for i in reply.items},
            not_found=list(reply.not_found_item_codes),
        )
