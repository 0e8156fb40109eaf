"""Transactions of closed carts, voids and returns, hand-computed."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cart import transactions
from services.cart.cart import Cart
from services.cart.cart_values import Discount, PaymentMethod
from services.cart.discounts import DiscountType
from services.cart.errors import CartError, ErrorCode
from services.cart.transactions import Stamp, Transaction, TransactionType

from .test_cart import EXEMPT, INTERNAL_8, NOW, line, new_cart

DAY = datetime.date(2026, 11, 28)


def stamp(transaction_id: str, receipt_no: int) -> Stamp:
    return Stamp(transaction_id, receipt_no, "R", DAY, NOW)


def billed(cart: Cart, receipt_no: int = 7) -> Transaction:
    cart.bill(NOW)
    cart.receipt_no = receipt_no  # as the store gives it
    return transactions.of_cart(cart, "t-sale", DAY, NOW)


def discounted_sale() -> Transaction:
    cart = new_cart()
    cart.add_lines(
        [line("A", 1000, 3), line("B", 600, 1, INTERNAL_8), line("C", 400, 1, EXEMPT)], "JPY"
    )
    # 101 off a base of 4,000: 75.75, 15.15, 10.1 -> 75, 15, 10 and the one left to line 1
    cart.discount_cart([Discount(type=DiscountType.AMOUNT, value=101)])
    cart.subtotal_now()
    cart.pay(PaymentMethod.CARD, 191)
    cart.pay(PaymentMethod.CASH, 5000)
    return billed(cart)


def test_a_sale_records_each_line_net_of_its_share_and_the_cart_totals() -> None:
    sale = discounted_sale()
    assert (sale.type, sale.receipt_no, sale.business_date) == (TransactionType.SALE, 7, DAY)
    assert [(li.line_no, li.amount, li.discount_amount, li.net_amount) for li in sale.lines] == [
        (1, 3000, 76, 2924),
        (2, 600, 15, 585),
        (3, 400, 10, 390),
    ]
    taxes = [(t.tax_code, t.taxable_amount, t.tax_amount) for t in sale.taxes]
    assert taxes == [("TX00", 390, 0), ("TX08", 585, 43), ("TX10", 2924, 292)]
    assert (sale.subtotal, sale.discount_total, sale.total, sale.change) == (3899, 101, 4191, 1000)


def test_a_void_refunds_each_method_what_it_paid() -> None:
    sale = discounted_sale()
    void = transactions.void_of(sale, stamp("t-void", 8))
    assert (void.type, void.original_transaction_id, void.receipt_no) == (
        TransactionType.VOID, "t-sale", 8,
    )  # fmt: skip
    assert [(p.method, p.amount) for p in void.payments] == [
        (PaymentMethod.CARD, 191),
        (PaymentMethod.CASH, 4000),  # 5,000 less the 1,000 change
    ]
    assert (void.total, void.lines) == (sale.total, sale.lines)
    sale.void_transaction_id = void.transaction_id
    for again in (
        lambda: transactions.void_of(sale, stamp("t-2", 9)),
        lambda: transactions.return_of(sale, {1: 1}, PaymentMethod.CASH, stamp("t-3", 9)),
    ):
        with pytest.raises(CartError) as refused:
            again()
        assert (refused.value.code, refused.value.http_status) == (ErrorCode.INVALID_STATE, 409)


def test_returns_refund_the_net_and_tax_as_sold_in_parts_that_add_up() -> None:
    sale = discounted_sale()
    first = transactions.return_of(sale, {1: 1}, PaymentMethod.CASH, stamp("r1", 8))
    line_1 = first.lines[0]
    assert (line_1.quantity, line_1.amount, line_1.discount_amount, line_1.net_amount) == (
        1,
        1000,
        26,
        974,
    )  # fmt: skip  (2,924 x 1/3 = 974.67)
    assert [(t.tax_code, t.taxable_amount, t.tax_amount) for t in first.taxes] == [
        ("TX10", 974, 97)  # 292 x 974 / 2,924 = 97.3
    ]
    assert (first.total, first.payments[0].amount) == (1071, 1071)
    sale.returned_quantities = transactions.returned_after(sale, {1: 1})
    with pytest.raises(CartError) as voided:
        transactions.void_of(sale, stamp("v", 9))  # a sale with returns is returned, not voided
    assert voided.value.code is ErrorCode.INVALID_STATE

    rest = transactions.return_of(sale, {1: 2, 2: 1, 3: 1}, PaymentMethod.CARD, stamp("r2", 9))
    assert [(li.line_no, li.quantity, li.net_amount) for li in rest.lines] == [
        (1, 2, 1950), (2, 1, 585), (3, 1, 390),
    ]  # fmt: skip
    assert [(t.tax_code, t.taxable_amount, t.tax_amount) for t in rest.taxes] == [
        ("TX00", 390, 0), ("TX08", 585, 43), ("TX10", 1950, 195),
    ]  # fmt: skip
    assert first.total + rest.total == sale.total  # every unit back: every yen back
    sale.returned_quantities = transactions.returned_after(sale, {1: 2, 2: 1, 3: 1})
    with pytest.raises(CartError) as over:
        transactions.return_of(sale, {1: 1}, PaymentMethod.CASH, stamp("r3", 10))
    assert (over.value.code, over.value.http_status) == (ErrorCode.VALIDATION_ERROR, 400)
    assert "0 of 3 left" in over.value.message
    with pytest.raises(CartError) as unknown:
        transactions.return_of(sale, {9: 1}, PaymentMethod.CASH, stamp("r4", 10))
    assert unknown.value.code is ErrorCode.VALIDATION_ERROR


def test_a_cancel_is_recorded_and_cannot_be_reversed() -> None:
    cart = new_cart()
    cart.add_lines([line("A", 100)], "JPY")
    cart.cancel()
    cart.receipt_no = 3
    cancel = transactions.of_cart(cart, "t-cancel", DAY, NOW)
    assert (cancel.type, cancel.receipt_no, cancel.total) == (TransactionType.CANCEL, 3, 110)
    with pytest.raises(CartError) as refused:
        transactions.void_of(cancel, stamp("v", 4))
    assert refused.value.code is ErrorCode.INVALID_STATE


@given(
    st.lists(
        st.tuples(st.integers(1, 5_000), st.integers(1, 9), st.booleans()), min_size=1, max_size=6
    ),
    st.integers(0, 100),
    st.randoms(use_true_random=False),
)
def test_returning_every_unit_in_any_steps_refunds_exactly_the_sale(
    lines: list[tuple[int, int, bool]], percent: int, rng: object
) -> None:
    cart = new_cart()
    cart.add_lines(
        [line("I", price, qty, INTERNAL_8 if internal else None) for price, qty, internal in lines],
        "JPY",
    )
    cart.discount_cart([Discount(type=DiscountType.PERCENT, value=percent)])
    cart.subtotal_now()
    if cart.total:  # 100 % off: nothing to pay, billed as it is
        cart.pay(PaymentMethod.CASH, cart.total)
    sale = billed(cart)
    units = [li.line_no for li in sale.lines for _ in range(li.quantity)]
    rng.shuffle(units)  # type: ignore[attr-defined]
    refunded = taxed = 0
    while units:
        step, units = units[:2], units[2:]
        asked: dict[int, int] = {}
        for line_no in step:
            asked[line_no] = asked.get(line_no, 0) + 1
        back = transactions.return_of(sale, asked, PaymentMethod.CASH, stamp("r", 1))
        refunded += back.total
        taxed += sum(t.tax_amount for t in back.taxes)
        sale.returned_quantities = transactions.returned_after(sale, asked)
    assert refunded == sale.total
    assert taxed == sum(t.tax_amount for t in sale.taxes)
