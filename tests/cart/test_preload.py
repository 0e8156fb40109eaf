"""A preloaded item as the cart keeps it in its database, and as earlier releases kept it."""

from __future__ import annotations

import json

from services.cart.item_master.model import ItemDetail
from services.cart.item_master.preload import document, from_document
from services.cart.tax import Rounding, TaxRule, TaxType

ITEM = ItemDetail(
    item_code="4901234567894",
    item_name='Green tea "Oi"',
    unit_price=150,
    currency_code="JPY",
    tax_code="TX08",
    category_code="DRINK",
    is_active=True,
    tax_rule=TaxRule("TX08", TaxType.INTERNAL, 800, Rounding.HALF_UP),
    discount_restricted=True,
)


def test_an_item_reads_back_as_it_was_kept() -> None:
    assert from_document(document(ITEM)) == ITEM


def test_a_copy_kept_before_the_cart_had_one_tax_rule_still_reads() -> None:
    """Its rule said "rounding_method" and held the rule's name."""
    kept = json.loads(document(ITEM))
    rule = kept["tax_rule"]
    rule["rounding_method"] = rule.pop("rounding")
    rule["name"] = "Reduced rate"
    assert from_document(json.dumps(kept)) == ITEM
