"""The cart's JSON, written from its values, is the bytes pydantic writes of it."""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from services.cart import cart_json
from services.cart.cart import Cart
from services.cart.cart_values import (
    Discount,
    LineItem,
    LineScan,
    NetWeight,
    Payment,
    PaymentMethod,
    PriceSource,
    WeightUnit,
)
from services.cart.discounts import DiscountType
from services.cart.tax import Rounding, TaxType

_Model = TypeVar("_Model", bound=BaseModel)


def model(cls: type[_Model], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[_Model]:
    """Instances of a model from a strategy per field (`st.builds` would see the camelCase
    aliases in the model's signature and draw those fields itself, ignoring these)."""
    return st.fixed_dictionaries(fields).map(lambda drawn: cls(**drawn))


SCANS = model(
    LineScan,
    scan=st.text(max_size=30),
    barcode=st.text("0123456789", min_size=14, max_size=14),
    source=st.sampled_from(["gtin", "in_store", "element_string"]),
    layout_id=st.text(max_size=8),
    label_price=st.none() | st.integers(0, 10**9),
    net_weight=st.none()
    | model(
        NetWeight,
        value=st.integers(1, 10**6),
        decimals=st.integers(0, 5),
        unit=st.sampled_from(WeightUnit),
    ),
    lot=st.text(max_size=20),
    expiry_date=st.just("") | st.just("2027-12-31"),
    weighed_rounding=st.sampled_from(Rounding),
)
LINES = model(
    LineItem,
    line_no=st.integers(1, 500),
    item_code=st.text(max_size=20),
    item_name=st.text(max_size=40),  # quotes, backslashes, control characters, any plane
    category_code=st.text(max_size=8),
    unit_price=st.integers(0, 10**12),
    quantity=st.integers(1, 9_999),
    tax_code=st.text(max_size=8),
    tax_type=st.sampled_from(TaxType),
    tax_rate_basis_points=st.integers(0, 10_000),
    tax_rounding=st.sampled_from(Rounding),
    price_overridden=st.booleans(),
    original_unit_price=st.none() | st.integers(0, 10**12),
    cancelled=st.booleans(),
    price_source=st.sampled_from(PriceSource),
    discount_restricted=st.booleans(),
    discounts=st.lists(
        model(Discount, type=st.sampled_from(DiscountType), value=st.integers(0, 100)),
        max_size=1,
    ),
    scan=st.none() | SCANS,
)


@given(LINES)
def test_a_lines_json_is_pydantics(item: LineItem) -> None:
    assert cart_json.line(item) == item.model_dump_json(by_alias=True)


TEXT = st.text(max_size=12)  # quotes, backslashes, control characters, any plane
TIMES = st.datetimes(
    timezones=st.sampled_from(
        [datetime.UTC, datetime.timezone(datetime.timedelta(hours=9)), datetime.UTC]
    )
)
CARTS = model(
    Cart,
    cart_id=TEXT,
    tenant_id=TEXT,
    store_code=TEXT,
    terminal_id=TEXT,
    version=st.integers(0, 10**6),
    currency_code=st.none() | TEXT,
    line_items=st.lists(LINES, max_size=3),
    payments=st.lists(
        model(
            Payment,
            payment_no=st.integers(1, 20),
            method=st.sampled_from(PaymentMethod),
            amount=st.integers(0, 10**9),
        ),
        max_size=2,
    ),
    receipt_no=st.none() | st.integers(1, 10**6),
    transaction_id=st.none() | TEXT,
    created_at=TIMES,
    updated_at=TIMES,
    completed_at=st.none() | TIMES,
)


@given(CARTS)
def test_a_carts_json_is_pydantics(cart: Cart) -> None:
    """Every field, the totals and each line, with any text in it and any time."""
    assert cart_json.document(cart) == cart.model_dump_json(by_alias=True)
    header = cart.model_dump_json(by_alias=True, exclude={"line_items"})
    assert cart_json.header(cart) == header


def test_a_line_changed_is_written_anew_and_only_it() -> None:
    cart = Cart(cart_id="c", tenant_id="T", store_code="S", terminal_id="R",
                created_at=NOW, updated_at=NOW)  # fmt: skip
    cart.add_lines([_line("A", 100), _line("B", 200)], "JPY")
    before = cart_json.line_documents(cart)
    cart.change_quantity(2, 3)
    after = cart_json.line_documents(cart)
    assert after[0] is before[0]  # kept, not written again
    assert '"quantity":3' in after[1]
    assert cart_json.document(cart) == cart.model_dump_json(by_alias=True)


NOW = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.UTC)


def _line(code: str, price: int) -> LineItem:
    return LineItem(line_no=0, item_code=code, item_name=code, category_code="C",
                    unit_price=price, quantity=1, tax_code="TX10", tax_type=TaxType.EXTERNAL,
                    tax_rate_basis_points=1000, tax_rounding=Rounding.FLOOR)  # fmt: skip
