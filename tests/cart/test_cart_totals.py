"""A cart's totals by hand: tax rows per rule, cart discounts shared out, the kept sums."""

from __future__ import annotations

import pytest

from services.cart.cart_totals import Sums, Tally, Totals, take, with_cart_discounts
from services.cart.cart_values import Discount, Payment, PaymentMethod
from services.cart.discounts import DiscountType
from services.cart.errors import CartError, ErrorCode
from services.cart.tax import Rounding, TaxRule, TaxType

from .cart_operations import line

EXTERNAL_10 = TaxRule("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR)
INTERNAL_8 = TaxRule("TX08", TaxType.INTERNAL, 800, Rounding.HALF_UP)


def test_rows_are_sorted_by_rule_and_external_tax_is_added() -> None:
    totals = Totals.of({EXTERNAL_10: 1005, INTERNAL_8: 1080}, [], 0, {})
    # TX08 sorts first; internal 8 % of 1,080 is 80 (inside), external 10 % floor of 1,005 is 100
    assert [(rule.tax_code, amount, tax) for rule, amount, tax in totals.rows] == [
        ("TX08", 1080, 80),
        ("TX10", 1005, 100),
    ]
    assert (totals.subtotal, totals.total) == (2085, 2185)


def test_balance_and_change() -> None:
    paid = Totals.of({EXTERNAL_10: 1000}, [Payment(payment_no=1, method=PaymentMethod.CASH,
                                                    amount=2000)], 0, {})  # fmt: skip
    assert (paid.total, paid.balance, paid.change) == (1100, 0, 900)


def test_a_cart_discount_is_shared_over_the_lines_it_may_take_from() -> None:
    lines = [line("A", 600), line("B", 400), line("R", 1000)]
    for n, each in enumerate(lines, 1):
        each.line_no = n
    lines[2].discount_restricted = True
    totals = with_cart_discounts(lines, [Discount(type=DiscountType.AMOUNT, value=100)], [])
    # 100 over A 600 and B 400 in proportion: 60 and 40; R keeps its 1,000
    assert totals.shares == {1: 60, 2: 40}
    assert (totals.subtotal, totals.discount_total) == (1900, 100)


def test_discounts_over_their_base_are_refused_naming_the_place() -> None:
    with pytest.raises(CartError) as refused:
        take([Discount(type=DiscountType.AMOUNT, value=501)], 500, "line 3")
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert "line 3" in str(refused.value)


def test_the_tally_keeps_the_sums_a_scan_adds_to() -> None:
    tally = Tally()
    first = [line("A", 100)]
    assert tally.count(first, [], []).subtotal == 100
    kept = tally.sums
    assert isinstance(kept, Sums)
    tally.forget(lines=False)  # a scan: the sums stay, the new line is added to them
    kept.add([line("B", 50)])
    assert tally.count([*first, line("B", 50)], [], []).subtotal == 150
    assert tally.sums is kept
    tally.forget(lines=True)  # a cancel or a change: counted anew
    assert tally.sums is None
