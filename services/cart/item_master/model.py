"""What the cart knows of an item, and the one error type every lookup raises."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gen.kugel.item.v1 import BatchGetItemDetailsResponse, Item, ScannedItem, ScanSource
from gen.kugel.item.v1 import RoundingMethod as WireRounding
from gen.kugel.item.v1 import TaxType as WireTaxType
from gen.kugel.item.v1 import WeightUnit as WireWeightUnit

from ..tax import BASIS_POINTS, Rounding, TaxRule, TaxType

_TAX_TYPES = {
    WireTaxType.EXTERNAL: TaxType.EXTERNAL,
    WireTaxType.INTERNAL: TaxType.INTERNAL,
    WireTaxType.EXEMPT: TaxType.EXEMPT,
}
_ROUNDINGS = {
    WireRounding.FLOOR: Rounding.FLOOR,
    WireRounding.HALF_UP: Rounding.HALF_UP,
    WireRounding.CEILING: Rounding.CEILING,
}


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
    discount_restricted: bool = False  # the store may not discount it

    @classmethod
    def from_message(cls, item: Item) -> ItemDetail:
        rule = item.tax_rule
        if rule is None:
            raise ItemLookupError(
                LookupFailure.FAILED, f"item {item.item_code} came without its tax rule"
            )
        tax_type = _TAX_TYPES.get(rule.tax_type)
        rounding = _ROUNDINGS.get(rule.rounding_method)
        if not 0 <= rule.rate_basis_points <= BASIS_POINTS:
            raise ItemLookupError(
                LookupFailure.FAILED,
                f"item {item.item_code}: tax rule {rule.tax_code} has a rate outside 0-100 %",
            )
        if tax_type is None or rounding is None:
            # UNSPECIFIED, or a value added to the contract after this cart was built.
            raise ItemLookupError(
                LookupFailure.FAILED,
                f"item {item.item_code}: tax rule {rule.tax_code} has a tax type or rounding"
                " this cart does not know",
            )
        return cls(
            item_code=item.item_code,
            item_name=item.item_name,
            unit_price=item.unit_price,
            currency_code=item.currency_code,
            tax_code=item.tax_code,
            category_code=item.category_code,
            is_active=item.is_active,
            discount_restricted=item.discount_restricted,
            tax_rule=TaxRule(
                tax_code=rule.tax_code,
                tax_type=tax_type,
                rate_basis_points=rule.rate_basis_points,
                rounding=rounding,
            ),
        )


_SOURCES = {
    ScanSource.GTIN: "gtin",
    ScanSource.IN_STORE: "in_store",
    ScanSource.ELEMENT_STRING: "element_string",
}
_UNITS = {WireWeightUnit.GRAM: "g", WireWeightUnit.KILOGRAM: "kg"}


@dataclass(frozen=True, slots=True)
class ScanAnswer:
    """What master-data made of a scan: the item it names and what the scan carried (a weight
    as value x 10^-decimals of unit). The item's price comes from the item lookup, so a price
    change reaches a known scan as it reaches the item."""

    item_code: str
    barcode: str
    source: str
    layout_id: str
    label_price: int | None
    net_weight: tuple[int, int, str] | None  # value, decimals, unit (g or kg)
    lot: str
    expiry_date: str
    weighed_rounding: Rounding

    @classmethod
    def from_message(cls, scanned: ScannedItem) -> ScanAnswer:
        if scanned.item is None:
            raise ItemLookupError(LookupFailure.FAILED, "a scan came back without its item")
        weight = scanned.net_weight
        unit = None if weight is None else _UNITS.get(weight.unit)
        rounding = _ROUNDINGS.get(scanned.weighed_rounding)
        source = _SOURCES.get(scanned.source)
        if (weight is not None and (unit is None or weight.value <= 0)) or rounding is None \
                or source is None:  # fmt: skip
            raise ItemLookupError(
                LookupFailure.FAILED, f"scan of {scanned.barcode}: a value this cart does not know"
            )
        return cls(
            item_code=scanned.item.item_code,
            barcode=scanned.barcode,
            source=source,
            layout_id=scanned.layout_id,
            label_price=scanned.label_price,
            net_weight=None
            if weight is None or unit is None
            else (weight.value, weight.decimals, unit),
            lot=scanned.lot,
            expiry_date=scanned.expiry_date,
            weighed_rounding=rounding,
        )


@dataclass(frozen=True, slots=True)
class ScanRefusal:
    """A scan master-data refused (`invalid`: a check digit, a format, an impossible value) or
    found no item for (`not_found`, naming the barcode's GTIN-14)."""

    kind: str
    message: str
    barcode: str = ""


class LookupFailure(enum.Enum):
    """Why a lookup failed. Only UNAVAILABLE makes the client try the other transport."""

    NOT_FOUND = "not_found"  # the item does not exist
    TENANT_NOT_FOUND = "tenant_not_found"  # master-data has no such tenant
    STORE_NOT_FOUND = "store_not_found"  # the tenant has no such store
    INVALID = "invalid"  # the request was malformed (a bad code, too many codes)
    REJECTED = "rejected"  # master-data refused our token
    UNAVAILABLE = "unavailable"  # unreachable, overloaded, or out of time
    FAILED = "failed"  # master-data failed (INTERNAL): not the transport's fault


class ItemLookupError(Exception):
    """A lookup failed, whatever the transport; `failure` says why, `timed_out` whether its
    deadline ran out (UNAVAILABLE only)."""

    def __init__(self, failure: LookupFailure, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message
        self.timed_out = timed_out


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The items found, by code, and the codes master-data does not know; `last_known` names
    the codes answered from a last known copy while master-data was unreachable."""

    found: dict[str, ItemDetail]
    not_found: list[str]
    last_known: frozenset[str] = frozenset()

    @classmethod
    def from_reply(cls, reply: BatchGetItemDetailsResponse) -> BatchResult:
        return cls(
            found={i.item_code: ItemDetail.from_message(i) for i in reply.items},
            not_found=list(reply.not_found_item_codes),
        )
