"""A cart to test, its lines, and any sequence of changes a terminal may make (hypothesis)."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from services.cart.cart import Cart
from services.cart.cart_values import Discount, LineItem
from services.cart.discounts import DiscountType
from services.cart.tax import Rounding, TaxType

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)


def new_cart() -> Cart:
    return Cart(
        cart_id="c1", tenant_id="T", store_code="S", terminal_id="R", created_at=NOW, updated_at=NOW
    )


def line(
    code: str, price: int, qty: int = 1, tax: tuple[str, TaxType, int, Rounding] | None = None
) -> LineItem:
    tax_code, tax_type, rate, rounding = tax or ("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR)
    return LineItem(
        line_no=0,
        item_code=code,
        item_name=code,
        category_code="C",
        unit_price=price,
        quantity=qty,
        tax_code=tax_code,
        tax_type=tax_type,
        tax_rate_basis_points=rate,
        tax_rounding=rounding,
    )


RULES = [
    ("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR),
    ("TX10", TaxType.INTERNAL, 800, Rounding.HALF_UP),
    ("TX08", TaxType.INTERNAL, 800, Rounding.CEILING),
    ("EX", TaxType.EXEMPT, 0, Rounding.FLOOR),
]
DISCOUNT_LISTS = st.lists(
    st.one_of(
        st.tuples(st.just(DiscountType.PERCENT), st.integers(0, 100)),
        st.tuples(st.just(DiscountType.AMOUNT), st.integers(0, 5_000)),
    ),
    max_size=2,
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.lists(
                st.tuples(st.integers(0, 99_999), st.integers(1, 50), st.sampled_from(RULES)),
                min_size=1,
                max_size=3,
            ),
        ),
        st.tuples(st.just("cancel"), st.integers(1, 12)),
        st.tuples(st.just("quantity"), st.tuples(st.integers(1, 12), st.integers(1, 99))),
        st.tuples(st.just("price"), st.tuples(st.integers(1, 12), st.integers(0, 99_999))),
        st.tuples(st.just("restricted"), st.integers(1, 12)),
        st.tuples(st.just("line discount"), st.tuples(st.integers(1, 12), DISCOUNT_LISTS)),
        st.tuples(st.just("cart discount"), DISCOUNT_LISTS),
    ),
    max_size=25,
)


def apply(cart: Cart, kind: str, argument: Any) -> None:
    """One of OPERATIONS on the cart."""
    if kind == "add":
        cart.add_lines([line("I", p, q, rule) for p, q, rule in argument], "JPY")
    elif kind == "cancel":
        cart.cancel_line(argument)
    elif kind == "quantity":
        cart.change_quantity(*argument)
    elif kind == "price":
        cart.change_unit_price(*argument)
    elif kind == "restricted":  # as if its item had been scanned restricted
        restricted = line("R", 1000)
        restricted.discount_restricted = True
        cart.add_lines([restricted] * (argument % 2), "JPY")
    elif kind == "line discount":
        line_no, discounts = argument
        cart.discount_line(line_no, [Discount(type=t, value=v) for t, v in discounts])
    else:
        cart.discount_cart([Discount(type=t, value=v) for t, v in argument])
