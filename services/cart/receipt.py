"""A completed cart's receipt."""

from __future__ import annotations

import datetime

from .cart import Cart
from .cart_values import (
    CamelModel,
    Discount,
    DiscountShare,
    LineItem,
    Payment,
    PriceSource,
    TaxSummary,
)


class Receipt(CamelModel):
    """What the printer prints for a completed cart."""

    receipt_no: int
    tenant_id: str
    store_code: str
    terminal_id: str
    completed_at: datetime.datetime
    currency_code: str | None
    line_items: list[LineItem]
    discounts: list[Discount]
    discount_total: int
    discount_allocations: list[DiscountShare]
    subtotal: int
    taxes: list[TaxSummary]
    total: int
    payments: list[Payment]
    paid: int
    change: int
    # Lines sold at a last known copy during a master-data outage (for the store's reconciliation).
    last_known_line_nos: list[int]

    @classmethod
    def of(cls, cart: Cart) -> Receipt:
        if cart.receipt_no is None or cart.completed_at is None:
            raise ValueError("only a completed cart has a receipt")
        return cls(
            receipt_no=cart.receipt_no,
            tenant_id=cart.tenant_id,
            store_code=cart.store_code,
            terminal_id=cart.terminal_id,
            completed_at=cart.completed_at,
            currency_code=cart.currency_code,
            line_items=cart.active_lines(),
            discounts=cart.discounts,
            discount_total=cart.discount_total,
            discount_allocations=cart.discount_allocations,
            subtotal=cart.subtotal,
            taxes=cart.taxes,
            total=cart.total,
            payments=cart.payments,
            paid=cart.paid,
            change=cart.change,
            last_known_line_nos=[
                line.line_no
                for line in cart.active_lines()
                if line.price_source is PriceSource.LAST_KNOWN
            ],
        )
