"""Discounts on lines and on the cart, hand-computed; the cart discount's allocation held by a
property test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cart import cart_json, cart_saving
from services.cart.cart import Cart
from services.cart.cart_values import Discount, LineItem, PaymentMethod
from services.cart.discounts import DiscountTooLarge, DiscountType, allocate
from services.cart.errors import CartError, ErrorCode

from .test_cart import EXEMPT, INTERNAL_8, line, new_cart

PERCENT, AMOUNT = DiscountType.PERCENT, DiscountType.AMOUNT


def off(kind: DiscountType, value: int, reason: str | None = None) -> Discount:
    return Discount(type=kind, value=value, reason=reason)


def restricted(code: str, price: int) -> LineItem:
    item = line(code, price)
    item.discount_restricted = True
    return item


def shares(cart: Cart) -> dict[int, int]:
    return {share.line_no: share.amount for share in cart.discount_allocations}


def taxes(cart: Cart) -> dict[str, tuple[int, int]]:
    return {t.tax_code: (t.taxable_amount, t.tax_amount) for t in cart.taxes}


def test_a_percent_line_discount_takes_the_floor_of_its_share() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 333), line("B", 1000, 3)], "JPY")  # external 10 %, floor
    cart.discount_line(1, [off(PERCENT, 15, "damaged")])  # 333 x 15 / 100 = 49.95
    cart.discount_line(2, [off(PERCENT, 10)])  # 3,000 -> 300
    first, second = cart.line_items
    assert (first.discount_amount, first.net_amount, first.discounts[0].amount) == (49, 284, 49)
    assert (second.discount_amount, second.net_amount) == (300, 2700)
    assert (cart.subtotal, cart.discount_total) == (2984, 349)
    assert taxes(cart) == {"TX10": (2984, 298)}
    assert cart.total == 3282


def test_an_amount_line_discount_is_at_most_the_line_and_follows_its_changes() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 500, 2)], "JPY")
    cart.discount_line(1, [off(AMOUNT, 120), off(PERCENT, 50)])  # each of the same base
    assert cart.line_items[0].discount_amount == 120 + 500
    assert cart.subtotal == 380
    with pytest.raises(CartError) as too_much:
        cart.discount_line(1, [off(AMOUNT, 600), off(PERCENT, 50)])
    assert (too_much.value.code, too_much.value.details) == (
        ErrorCode.VALIDATION_ERROR,
        [{"field": "discounts"}],
    )
    fresh = new_cart()
    fresh.add_lines([line("A", 500, 2)], "JPY")
    fresh.discount_line(1, [off(AMOUNT, 600)])
    with pytest.raises(CartError) as shrunk:  # 500 left is less than the 600 off
        fresh.change_quantity(1, 1)
    assert shrunk.value.code is ErrorCode.VALIDATION_ERROR
    percent = new_cart()
    percent.add_lines([line("A", 500, 2)], "JPY")
    percent.discount_line(1, [off(PERCENT, 10)])
    percent.change_quantity(1, 3)  # a percent follows the line: 1,500 -> 150
    assert percent.line_items[0].discount_amount == 150
    percent.discount_line(1, [])  # an empty list takes them all off
    assert (percent.line_items[0].discount_amount, percent.subtotal) == (0, 1500)


def test_a_cart_discount_over_three_rules_places_its_remainder() -> None:
    cart = new_cart()
    cart.add_lines(
        [line("A", 1000), line("B", 600, 1, INTERNAL_8), line("C", 400, 1, EXEMPT)], "JPY"
    )
    cart.discount_cart([off(AMOUNT, 101, "member")])
    # 101 x 1000/2000 = 50.5, x 600/2000 = 30.3, x 400/2000 = 20.2: one left, to line 1
    assert shares(cart) == {1: 51, 2: 30, 3: 20}
    assert taxes(cart) == {
        "TX10": (949, 94),  # external 10 %, floor of 94.9
        "TX08": (570, 42),  # internal 8 %: 570 x 800 / 10,800 = 42.2, half up
        "TX00": (380, 0),
    }
    assert (cart.subtotal, cart.discount_total, cart.total) == (1899, 101, 1993)
    assert cart.discounts[0].amount == 101


def test_a_tie_for_the_remainder_goes_to_the_lower_line() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100), line("B", 100), line("C", 100)], "JPY")
    cart.discount_cart([off(AMOUNT, 100)])
    assert shares(cart) == {1: 34, 2: 33, 3: 33}


def test_a_restricted_line_takes_no_discount() -> None:
    cart = new_cart()
    cart.add_lines([restricted("A", 1000), line("B", 1000)], "JPY")
    with pytest.raises(CartError) as refused:
        cart.discount_line(1, [off(PERCENT, 10)])
    assert (refused.value.code, refused.value.http_status) == (ErrorCode.DISCOUNT_RESTRICTED, 400)
    cart.discount_line(1, [])  # nothing to refuse
    cart.discount_cart([off(PERCENT, 10)])  # of B only: 100
    assert shares(cart) == {2: 100}
    assert (cart.subtotal, taxes(cart), cart.total) == (1900, {"TX10": (1900, 190)}, 2090)
    only_restricted = new_cart()
    only_restricted.add_lines([restricted("A", 1000)], "JPY")
    only_restricted.discount_cart([off(PERCENT, 10)])  # nothing to take it of: 0
    assert (only_restricted.discount_total, shares(only_restricted)) == (0, {})
    with pytest.raises(CartError):
        only_restricted.discount_cart([off(AMOUNT, 1)])


def test_a_cart_discount_is_taken_of_the_nets_and_reallocated_by_every_change() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1000), line("B", 1000)], "JPY")
    cart.discount_line(1, [off(AMOUNT, 200)])  # nets 800 and 1,000
    cart.discount_cart([off(PERCENT, 10)])  # of 1,800: 180
    assert shares(cart) == {1: 80, 2: 100}
    assert (cart.subtotal, cart.discount_total) == (1620, 380)
    cart.add_lines([line("C", 200)], "JPY")  # base 2,000: 200
    assert shares(cart) == {1: 80, 2: 100, 3: 20}
    cart.cancel_line(2)  # base 1,000: 100
    assert shares(cart) == {1: 80, 3: 20}
    cart.discount_cart([off(AMOUNT, 900)])
    with pytest.raises(CartError) as over:  # 900 off of the 800 that would be left
        cart.cancel_line(3)
    assert over.value.code is ErrorCode.VALIDATION_ERROR


def test_a_cart_discount_while_paying_keeps_the_cashless_payments_within_the_total() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1000)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CARD, 1000)
    cart.discount_cart([off(AMOUNT, 50)])  # total 1,045 (tax on 950): 45 still due
    assert (cart.total, cart.balance) == (1045, 45)
    cart.pay(PaymentMethod.CASH, 100)
    assert (cart.balance, cart.change) == (0, 55)
    with pytest.raises(CartError) as entering:
        cart.discount_line(1, [off(PERCENT, 5)])  # a line discount is for item entry
    assert entering.value.code is ErrorCode.INVALID_STATE
    with pytest.raises(CartError) as refused:  # (a refused change is dropped by the caller)
        cart.discount_cart([off(AMOUNT, 200)])  # total 880 < the card's 1,000
    assert refused.value.code is ErrorCode.INVALID_STATE


def test_a_discounted_cart_reads_back_as_it_was_saved() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 999), line("B", 501, 2, INTERNAL_8)], "JPY")
    cart.discount_line(2, [off(PERCENT, 7, "bruised")])
    cart.discount_cart([off(AMOUNT, 77)])
    again = cart_saving.from_rows(
        cart_json.header(cart), [doc for _, doc in cart_saving.lines_to_save(cart)]
    )
    assert cart_json.document(again) == cart_json.document(cart)
    assert again.model_dump() == cart.model_dump()


@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=40),
    st.integers(0, 10**12),
)
def test_an_allocation_sums_exactly_and_never_exceeds_a_net(nets: list[int], wanted: int) -> None:
    base = sum(nets)
    total = wanted % (base + 1)
    numbered = list(enumerate(nets, start=1))
    placed = allocate(total, numbered)
    assert sum(placed.values()) == total
    for line_no, net in numbered:
        share = placed.get(line_no, 0)
        assert 0 <= share <= net
        assert total * net // base <= share <= total * net // base + 1 if base else share == 0


def test_an_allocation_over_nothing_is_refused() -> None:
    with pytest.raises(DiscountTooLarge):
        allocate(1, [(1, 0)])
    with pytest.raises(DiscountTooLarge):
        allocate(11, [(1, 10)])
    assert allocate(0, []) == {}
