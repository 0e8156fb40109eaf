"""In-store price and weight codes by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.gtin import BadCode, with_check_digit
from services.common.instore_codes import (
    Embedded,
    Layout,
    WeightUnit,
    item_key,
    matching,
    price_check_digit,
    read,
)

JAPAN_PRICE = Layout("jp-price", "02", 5, Embedded.PRICE, 5)
WEIGHT = Layout("weight-g", "21", 5, Embedded.WEIGHT, 5, unit=WeightUnit.GRAM)
UK_PRICE = Layout("uk-price", "20", 5, Embedded.PRICE, 4, decimals=2, price_check_digit=True)


def test_japans_price_layout() -> None:
    # 0 2 1 2 3 4 5 0 0 1 9 8 from the right, weights 3, 1: 24+9+3+0+0+5+12+3+6+1+6+0 = 69 -> 1
    code = "0212345001981"
    assert matching([JAPAN_PRICE, WEIGHT], code) is JAPAN_PRICE
    found = read(JAPAN_PRICE, code)
    assert (found.item_key, found.embedded, found.value, found.decimals) == (
        "0212345000007", Embedded.PRICE, 198, 0,  # 5+12+3+6+1+6 = 33 -> 7
    )  # fmt: skip


def test_a_weight_layout() -> None:
    code = with_check_digit("212000101250")  # item 20001, 1,250 g
    found = read(WEIGHT, code)
    assert (found.value, found.unit, found.item_key) == (
        1250,
        WeightUnit.GRAM,
        item_key(WEIGHT, code),
    )


def test_a_4_digit_price_check_digit_by_hand() -> None:
    # 1234: 2- of 1 = 2, 2- of 2 = 4, 3 of 3 = 9, 5- of 4 = 20 - 2 = 18 -> 8; 23 x 3 = 69 -> 9
    assert price_check_digit("1234") == 9
    code = with_check_digit("20123459" + "1234")  # item 12345, check 9, price 12.34
    assert read(UK_PRICE, code).value == 1234
    wrong = with_check_digit("20123458" + "1234")
    with pytest.raises(BadCode) as refused:
        read(UK_PRICE, wrong)
    assert refused.value.reason == "check_digit"


def test_a_5_digit_price_check_digit_by_hand() -> None:
    # 12345: 5+ 5, 2- 4, 5- 15-1 -> 4, 5+ 20+2 -> 2, 2- 10-1 -> 9; 24 -> 6 wanted; 5- of 8 = 36 -> 6
    assert price_check_digit("12345") == 8


def test_a_code_with_a_bad_check_digit_or_no_value_is_refused() -> None:
    with pytest.raises(BadCode) as bad:
        read(JAPAN_PRICE, "0212345001982")
    assert bad.value.reason == "check_digit"
    with pytest.raises(BadCode) as zero:
        read(JAPAN_PRICE, with_check_digit("021234500000"))
    assert zero.value.reason == "value"


def test_no_layout_for_a_gtin_or_an_unknown_prefix() -> None:
    assert matching([JAPAN_PRICE, WEIGHT], "4901234567894") is None
    assert matching([JAPAN_PRICE], with_check_digit("212000101250")) is None


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (Layout("x", "02", 5, Embedded.PRICE, 4), "12 digits"),
        (Layout("x", "45", 5, Embedded.PRICE, 5), "not for in-store use"),
        (Layout("x", "21", 5, Embedded.WEIGHT, 5), "needs its unit"),
        (Layout("x", "02", 6, Embedded.PRICE, 3, price_check_digit=True), "4- or 5-digit"),
        (
            Layout("x", "21", 4, Embedded.WEIGHT, 5, unit=WeightUnit.GRAM, price_check_digit=True),
            "price check digit",
        ),
    ],
)
def test_an_unsound_layout_says_why(layout: Layout, problem: str) -> None:
    assert any(problem in said for said in layout.problems())


def test_sound_layouts_and_overlaps() -> None:
    assert [JAPAN_PRICE.problems(), WEIGHT.problems(), UK_PRICE.problems()] == [[], [], []]
    assert Layout("y", "2", 6, Embedded.PRICE, 5).overlaps(WEIGHT)
    assert not JAPAN_PRICE.overlaps(WEIGHT)


@given(st.text("0123456789", min_size=5, max_size=5), st.text("0123456789", min_size=5, max_size=5))
def test_any_price_label_reads_back_its_item_and_price(item: str, price: str) -> None:
    code = with_check_digit(f"02{item}{price}")
    if int(price) == 0:
        return
    found = read(JAPAN_PRICE, code)
    assert (found.value, found.item_key[:7]) == (int(price), f"02{item}")
