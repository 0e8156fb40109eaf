"""The cart's states, totals and payments, hand-computed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from services.cart import cart_json, cart_saving
from services.cart.cart import Cart
from services.cart.cart_values import (
    MAX_LINES,
    MAX_PAYMENTS,
    CartState,
    PaymentMethod,
)
from services.cart.errors import CartError, ErrorCode
from services.cart.receipt import Receipt
from services.cart.tax import Rounding, TaxType

from .cart_operations import NOW, OPERATIONS, apply, line, new_cart

INTERNAL_8 = ("TX08", TaxType.INTERNAL, 800, Rounding.HALF_UP)
EXEMPT = ("TX00", TaxType.EXEMPT, 0, Rounding.FLOOR)


def test_totals_group_tax_by_code() -> None:
    cart = new_cart()
    # external 10 % floor over 333 * 3 + 101 = 1,100 -> 110 (per line it would be 99 + 10 = 109)
    cart.add_lines(
        [
            line("A", 333, 3),
            line("B", 101),
            line("C", 1210, 1, INTERNAL_8),
            line("D", 500, 2, EXEMPT),
        ],
        "JPY",
    )
    assert [item.line_no for item in cart.line_items] == [1, 2, 3, 4]
    assert cart.subtotal == 999 + 101 + 1210 + 1000
    taxes = {t.tax_code: (t.taxable_amount, t.tax_amount) for t in cart.taxes}
    assert taxes == {"TX10": (1100, 110), "TX08": (1210, 90), "TX00": (1000, 0)}
    assert cart.total == 3310 + 110  # internal tax is already in the price
    assert cart.state is CartState.ENTERING_ITEMS


def test_cancelled_and_changed_lines() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100, 2), line("B", 250)], "JPY")
    cart.cancel_line(1)
    cart.change_quantity(2, 4)
    assert cart.subtotal == 1000
    assert cart.total == 1100
    with pytest.raises(CartError) as raised:
        cart.change_quantity(1, 3)
    assert raised.value.code is ErrorCode.INVALID_STATE
    with pytest.raises(CartError) as raised:
        cart.cancel_line(9)
    assert raised.value.code is ErrorCode.LINE_NOT_FOUND


def test_cash_gives_change_and_bill_completes() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1234)], "JPY")  # total 1,234 + 123 = 1,357
    cart.subtotal_now()
    cart.pay(PaymentMethod.CARD, 357)
    assert cart.balance == 1000
    cart.pay(PaymentMethod.CASH, 2000)
    assert (cart.paid, cart.balance, cart.change) == (2357, 0, 1000)
    cart.bill(NOW)
    cart.receipt_no = 7  # the repository assigns it on save
    receipt = Receipt.of(cart)
    assert (receipt.total, receipt.change, receipt.receipt_no) == (1357, 1000, 7)
    assert cart.state is CartState.COMPLETED


def test_cashless_payment_may_not_exceed_the_balance() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100)], "JPY")
    cart.subtotal_now()
    with pytest.raises(CartError) as raised:
        cart.pay(PaymentMethod.QR, 111)
    assert raised.value.code is ErrorCode.PAYMENT_INVALID
    cart.pay(PaymentMethod.QR, 110)
    with pytest.raises(CartError) as raised:
        cart.pay(PaymentMethod.CASH, 1)
    assert raised.value.code is ErrorCode.INVALID_STATE


def test_bill_with_balance_due_is_refused() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CASH, 50)
    with pytest.raises(CartError) as raised:
        cart.bill(NOW)
    assert raised.value.code is ErrorCode.BALANCE_DUE


@pytest.mark.parametrize(
    ("state", "action"),
    [
        pytest.param(CartState.INITIAL, lambda c: c.subtotal_now(), id="subtotal of an empty cart"),
        pytest.param(
            CartState.INITIAL, lambda c: c.pay(PaymentMethod.CASH, 1), id="pay before subtotal"
        ),
        pytest.param(
            CartState.PAYING, lambda c: c.add_lines([line("B", 1)], "JPY"), id="add while paying"
        ),
        pytest.param(CartState.COMPLETED, lambda c: c.cancel(), id="cancel completed"),
        pytest.param(
            CartState.CANCELLED, lambda c: c.add_lines([line("B", 1)], "JPY"), id="add to cancelled"
        ),
        pytest.param(CartState.CANCELLED, lambda c: c.bill(NOW), id="bill cancelled"),
    ],
)
def test_state_rules_name_the_state(state: CartState, action: object) -> None:
    cart = new_cart()
    if state is not CartState.INITIAL:
        cart.add_lines([line("A", 100)], "JPY")
        cart.subtotal_now()
        cart.pay(PaymentMethod.CASH, 110)
        if state is CartState.COMPLETED:
            cart.bill(NOW)
        elif state is CartState.CANCELLED:
            cart.cancel()
    with pytest.raises(CartError) as raised:
        action(cart)  # type: ignore[operator]
    assert raised.value.http_status == 409
    assert state.value in raised.value.message


def test_currency_and_size_limits() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1)], "JPY")
    with pytest.raises(CartError):
        cart.add_lines([line("B", 1)], "USD")
    with pytest.raises(CartError) as raised:
        cart.add_lines([line("C", 1)] * MAX_LINES, "JPY")
    assert raised.value.code is ErrorCode.CART_FULL


def test_document_round_trip_keeps_everything() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100, 2), line("B", 1210, 1, INTERNAL_8)], "JPY")
    cart.subtotal_now()
    stored = cart.model_dump_json(by_alias=True, exclude_computed_fields=True)
    assert Cart.model_validate_json(stored).model_dump() == cart.model_dump()


# TX10 as master-data had it before and after a rule change between two scans.
TX10_EXTERNAL_10 = ("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR)
TX10_INTERNAL_8 = ("TX10", TaxType.INTERNAL, 800, Rounding.HALF_UP)


def test_a_rule_changed_between_scans_taxes_each_line_by_its_own_rule() -> None:
    cart = new_cart()
    # Scanned under TX10 = external 10 % floor: 505 -> 50 on top.
    cart.add_lines([line("A", 505, tax=TX10_EXTERNAL_10)], "JPY")
    # TX10 became internal 8 % half-up; scanned after: 539 holds 539 * 800 / 10800 = 39.9 -> 40.
    cart.add_lines([line("B", 539, tax=TX10_INTERNAL_8)], "JPY")
    assert [(t.tax_type, t.taxable_amount, t.tax_amount) for t in cart.taxes] == [
        (TaxType.EXTERNAL, 505, 50),
        (TaxType.INTERNAL, 539, 40),
    ]
    assert cart.subtotal == 1044
    assert cart.total == 1044 + 50  # 1,094; one rule for both lines would say 1,044 + 104
    assert {t.tax_code for t in cart.taxes} == {"TX10"}


def test_cancelling_a_line_never_switches_the_rule_of_the_others() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 505, tax=TX10_EXTERNAL_10)], "JPY")
    cart.add_lines([line("B", 539, tax=TX10_INTERNAL_8), line("C", 1000, tax=TX10_INTERNAL_8)],
                   "JPY")  # fmt: skip
    cart.cancel_line(1)
    # Only the internal 8 % lines are left: 1,539 holds 1,539 * 800 / 10800 = 114.0 -> 114.
    assert [(t.tax_type, t.taxable_amount, t.tax_amount) for t in cart.taxes] == [
        (TaxType.INTERNAL, 1539, 114)
    ]
    assert cart.total == 1539
    cart.cancel_line(2)
    cart.cancel_line(3)
    assert cart.taxes == []


def test_a_receipt_has_one_tax_row_per_distinct_rule() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 505, tax=TX10_EXTERNAL_10), line("B", 100, tax=TX10_EXTERNAL_10)],
                   "JPY")  # fmt: skip
    cart.add_lines([line("C", 539, tax=TX10_INTERNAL_8)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CASH, 2000)
    cart.bill(NOW)
    cart.receipt_no = 1
    rows = Receipt.of(cart).taxes
    assert [
        (r.tax_code, r.tax_type, r.rate_basis_points, r.rounding, r.tax_amount) for r in rows
    ] == [
        ("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR, 60),  # 605 -> 60.5 floor
        ("TX10", TaxType.INTERNAL, 800, Rounding.HALF_UP, 40),
    ]


def test_a_cart_takes_a_bounded_number_of_payments() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 10_000)], "JPY")
    cart.subtotal_now()
    for _ in range(MAX_PAYMENTS):
        cart.pay(PaymentMethod.CASH, 1)
    with pytest.raises(CartError) as raised:
        cart.pay(PaymentMethod.CASH, 1)
    assert (raised.value.code, raised.value.details) == (
        ErrorCode.PAYMENT_INVALID,
        [{"field": "payments"}],
    )
    assert len(cart.payments) == MAX_PAYMENTS


@given(OPERATIONS)
def test_totals_kept_across_changes_equal_a_fresh_count(operations: list[tuple[str, Any]]) -> None:
    cart = new_cart()
    for kind, argument in operations:
        before = cart_json.document(cart)
        try:
            apply(cart, kind, argument)
        except CartError:
            cart = Cart.model_validate_json(before)  # a refused change is dropped
            continue
        fresh = Cart.model_validate_json(cart_json.document(cart))  # counts everything anew
        assert (cart.subtotal, cart.taxes, cart.total) == (fresh.subtotal, fresh.taxes, fresh.total)
        active = cart.active_lines()
        assert cart.subtotal + cart.discount_total == sum(li.amount for li in active)
        shares = {s.line_no: s.amount for s in cart.discount_allocations}
        assert sum(shares.values()) == sum(d.amount for d in cart.discounts)
        for li in active:
            assert 0 <= shares.get(li.line_no, 0) <= li.net_amount
            assert not (li.discount_restricted and (li.discounts or li.line_no in shares))


def test_a_unit_price_change_is_an_override_that_keeps_the_scanned_price() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1000, 2), line("B", 500)], "JPY")  # external 10 %, floor
    cart.change_unit_price(1, 800)
    first = cart.line_items[0]
    assert (first.unit_price, first.original_unit_price, first.price_overridden) == (
        800,
        1000,
        True,
    )
    assert (cart.subtotal, cart.total) == (2100, 2310)  # 1,600 + 500, tax 210
    cart.change_unit_price(1, 700)  # again: the scanned price stays the original
    assert (cart.line_items[0].unit_price, cart.line_items[0].original_unit_price) == (700, 1000)
    assert [n for n, _ in cart_saving.lines_to_save(cart)] == [1, 2]  # never saved yet: every line
    cart_saving.saved(cart)
    cart.change_unit_price(2, 0)
    assert [n for n, _ in cart_saving.lines_to_save(cart)] == [2]
    assert cart.subtotal == 1400
    cart.cancel_line(2)
    with pytest.raises(CartError) as cancelled:
        cart.change_unit_price(2, 10)
    assert cancelled.value.code is ErrorCode.INVALID_STATE
    with pytest.raises(CartError) as missing:
        cart.change_unit_price(9, 10)
    assert missing.value.code is ErrorCode.LINE_NOT_FOUND


def test_resuming_item_entry_drops_the_payments() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 1000)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CARD, 500)
    cart.resume_item_entry()
    assert (cart.state, cart.payments, cart.paid, cart.balance) == (
        CartState.ENTERING_ITEMS, [], 0, 1100,
    )  # fmt: skip
    cart.add_lines([line("B", 100)], "JPY")  # scanning again
    with pytest.raises(CartError) as not_paying:
        cart.resume_item_entry()
    assert not_paying.value.code is ErrorCode.INVALID_STATE
