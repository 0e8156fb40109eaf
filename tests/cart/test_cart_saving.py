"""What a save writes (the header and the changed lines) reads back as the same cart."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from services.cart import cart_json, cart_saving
from services.cart.errors import CartError

from .cart_operations import OPERATIONS, apply, new_cart


@given(OPERATIONS)
def test_the_joined_document_and_the_saved_rows_equal_a_whole_dump(
    operations: list[tuple[str, Any]],
) -> None:
    """The cart's JSON, joined from each line's kept JSON, is the bytes pydantic makes of the
    whole cart; what a save writes (the header, the changed lines) reads back as the same cart;
    the summary holds exactly the lines the save wrote."""
    cart = new_cart()
    header, rows = cart_json.header(cart), dict[int, str]()
    for kind, argument in operations:
        try:
            apply(cart, kind, argument)
        except CartError:
            cart = cart_saving.from_rows(header, [rows[n] for n in sorted(rows)])
            continue  # a refused change is dropped, the cart read back as the store has it
        written = cart_saving.lines_to_save(cart)
        rows.update(written)
        header = cart_json.header(cart)
        cart_saving.saved(cart)
        assert cart_json.document(cart) == cart.model_dump_json(by_alias=True)
        read_back = cart_saving.from_rows(cart_json.header(cart), [rows[n] for n in sorted(rows)])
        assert cart_json.document(read_back) == cart_json.document(cart)
        summary = json.loads(cart_json.summary(cart))
        assert [li["lineNo"] for li in summary["lineItems"]] == [n for n, _ in written]
        assert summary["lineCount"] == len(cart.line_items)
