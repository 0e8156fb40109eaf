"""The betterproto2 seam at the pinned version: a generated message's field classes."""

from __future__ import annotations

from gen.kugel.item.v1 import GetItemDetailResponse, Item, TaxRule, TaxType
from services.wire.betterproto2_seams import field_classes


def test_the_classes_of_a_messages_fields() -> None:
    assert field_classes(GetItemDetailResponse)["item"] is Item
    assert field_classes(Item)["tax_rule"] is TaxRule
    assert field_classes(TaxRule)["tax_type"] is TaxType
