"""The demo data set: 2 tenants, 3 stores, 300 items per tenant, store overrides, 3 tax rules,
a JAN barcode per item (two for every tenth), the in-store price and weight layouts and an
item sold under each.

Deterministic, so the docs' examples and tests can name codes and prices.
"""

from __future__ import annotations

from typing import Any, Final

from services.common.gtin import with_check_digit
from services.common.instore_codes import Embedded, WeightUnit

from .records import (
    Barcode,
    Item,
    MasterRecord,
    RoundingMethod,
    ScanLayout,
    Store,
    StorePrice,
    TaxRule,
    TaxType,
    Tenant,
)

TENANTS: Final = {"T0001": "Kugel Mart", "T0002": "Kugel Drug"}
STORES: Final = {
    ("T0001", "S001"): "Shibuya",
    ("T0001", "S002"): "Umeda",
    ("T0002", "S001"): "Sapporo",
}
ITEMS_PER_TENANT: Final = 300
_PRODUCTS: Final = [
    "Green tea",
    "Rice ball",
    "Coffee",
    "Sandwich",
    "Chocolate",
    "Noodles",
    "Yogurt",
    "Water",
    "Bread",
    "Juice",
    "Shampoo",
    "Toothpaste",
]
_SIZES: Final = ["S", "M", "L", "XL", "Pack of 6"]
_CATEGORIES: Final = [
    "DRINK",
    "FOOD",
    "DRINK",
    "FOOD",
    "SNACK",
    "FOOD",
    "DAIRY",
    "DRINK",
    "FOOD",
    "DRINK",
    "CARE",
    "CARE",
]


def item_code(n: int) -> str:
    """The code of demo item n (1-based): ITEM0001 ... ITEM0300."""
    return f"ITEM{n:04d}"


def common_price(n: int) -> int:
    """The common price of demo item n, in yen: 100 to 2,090 in steps of 10."""
    return 100 + (n * 37) % 200 * 10


def tax_code(n: int) -> str:
    """Every seventh item is exempt, every third internal 8 %, the rest external 10 %."""
    if n % 7 == 0:
        return "TX00"
    return "TX08" if n % 3 == 0 else "TX10"


def jan(n: int) -> str:
    """The JAN (EAN-13) on demo item n's pack: prefix 45 (GS1 Japan), a made-up company 69951,
    the item's number, its check digit: ITEM0005 is 4569951000058."""
    return with_check_digit(f"4569951{n:05d}")


def old_jan(n: int) -> str:
    """Every tenth item also still has the label of its previous pack size."""
    return with_check_digit(f"4569952{n:05d}")


# Items sold by the label the store's scale prints (`LAYOUTS`): a deli item priced on its label,
# and meat at a price per kg, weighed. Their item digits (00001, 00002) are in their barcodes.
IN_STORE_ITEMS: Final = {
    "DELI0001": ("Croquette (deli, label price)", 100, "02", "00001"),
    "MEAT0001": ("Beef, per kg", 3980, "21", "00002"),
}
LAYOUTS: Final[list[dict[str, Any]]] = [
    # Japan's in-store price marking: 02 + 5-digit item + 5-digit price in yen + check digit
    {"layout_id": "JP-PRICE", "prefix": "02", "item_digits": 5, "embedded": Embedded.PRICE,
     "value_digits": 5},
    # A scale's weight label: 21 + 5-digit item + weight in grams (5 digits) + check digit
    {"layout_id": "WEIGHT-G", "prefix": "21", "item_digits": 5, "embedded": Embedded.WEIGHT,
     "value_digits": 5, "unit": WeightUnit.GRAM},
]  # fmt: skip


def in_store_barcode(prefix: str, item_digits: str) -> str:
    """The barcode an in-store item is registered under: its label with the value zeroed."""
    return with_check_digit(f"{prefix}{item_digits}".ljust(12, "0"))


def _in_store(tenant_id: str) -> list[MasterRecord]:
    out: list[MasterRecord] = [
        ScanLayout.model_validate({"tenant_id": tenant_id, **fields}) for fields in LAYOUTS
    ]
    for code, (name, price, prefix, digits) in IN_STORE_ITEMS.items():
        out.append(Item(tenant_id=tenant_id, item_code=code, item_name=name, unit_price=price,
                        tax_code="TX08", category_code="DELI"))  # fmt: skip
        out.append(Barcode(tenant_id=tenant_id, barcode=in_store_barcode(prefix, digits),
                           item_code=code))  # fmt: skip
    return out


def records() -> list[MasterRecord]:
    """Every demo record in write order."""
    out: list[MasterRecord] = []
    for tenant_id, name in TENANTS.items():
        out.append(Tenant(tenant_id=tenant_id, name=name, currency_code="JPY"))
        out += [
            TaxRule(
                tenant_id=tenant_id,
                tax_code="TX10",
                name="Standard 10%",
                tax_type=TaxType.EXTERNAL,
                rate_basis_points=1000,
                rounding_method=RoundingMethod.FLOOR,
            ),
            TaxRule(
                tenant_id=tenant_id,
                tax_code="TX08",
                name="Reduced 8% (included)",
                tax_type=TaxType.INTERNAL,
                rate_basis_points=800,
                rounding_method=RoundingMethod.HALF_UP,
            ),
            TaxRule(
                tenant_id=tenant_id,
                tax_code="TX00",
                name="Exempt",
                tax_type=TaxType.EXEMPT,
                rate_basis_points=0,
                rounding_method=RoundingMethod.FLOOR,
            ),
        ]
        for n in range(1, ITEMS_PER_TENANT + 1):
            product = _PRODUCTS[n % len(_PRODUCTS)]
            out.append(
                Item(
                    tenant_id=tenant_id,
                    item_code=item_code(n),
                    item_name=f"{product} {_SIZES[n % len(_SIZES)]}",
                    unit_price=common_price(n),
                    tax_code=tax_code(n),
                    category_code=_CATEGORIES[n % len(_CATEGORIES)],
                    is_active=n % 50 != 0,  # ITEM0050, ITEM0100, ... are withdrawn
                    discount_restricted=n % 40 == 0,  # ITEM0040, ITEM0080, ...: never discounted
                )
            )
            labels = [jan(n), old_jan(n)] if n % 10 == 0 else [jan(n)]
            out += [Barcode(tenant_id=tenant_id, barcode=code, item_code=item_code(n))
                    for code in labels]  # fmt: skip
        out += _in_store(tenant_id)
    for (tenant_id, store_code), name in STORES.items():
        out.append(Store(tenant_id=tenant_id, store_code=store_code, name=name))
        step = 5 if store_code == "S001" else 7
        out += [
            StorePrice(
                tenant_id=tenant_id,
                store_code=store_code,
                item_code=item_code(n),
                unit_price=common_price(n) - 20,
            )
            for n in range(step, ITEMS_PER_TENANT + 1, step)
        ]
    return out
