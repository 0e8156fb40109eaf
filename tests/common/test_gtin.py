"""GTINs by hand (GS1 General Specifications 7.9.1), and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.gtin import BadCode, check_digit, gtin14, upc_e_to_upc_a, with_check_digit


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # EAN-13/JAN: 4x1 + 9x3 + 0 + 1x3 + 2 + 3x3 + 4 + 5x3 + 6 + 7x3 + 8 + 9x3 = 126 -> 4
        ("4901234567894", "04901234567894"),
        ("036000291452", "00036000291452"),  # UPC-A: a leading zero makes its EAN-13
        ("0036000291452", "00036000291452"),  # ... which is the same item
        ("96385074", "00000096385074"),  # EAN-8
        ("10012345678902", "10012345678902"),  # GTIN-14 of a case (indicator 1)
    ],
)
def test_each_form_normalises_to_its_gtin14(code: str, expected: str) -> None:
    assert gtin14(code) == expected


def test_the_check_digit_by_hand() -> None:
    # 4 9 0 1 2 3 4 5 6 7 8 9 from the right: 9x3 8x1 7x3 6x1 5x3 4x1 3x3 2x1 1x3 0x1 9x3 4x1
    # = 27 + 8 + 21 + 6 + 15 + 4 + 9 + 2 + 3 + 0 + 27 + 4 = 126; 130 - 126 = 4
    assert check_digit("490123456789") == 4
    assert check_digit("9638507") == 4


@pytest.mark.parametrize(
    ("upc_e", "upc_a"),
    [
        ("04252614", "042100005264"),  # last digit 0-2: manufacturer d1 d2 d6 00, item 00 d3-d5
        ("01234531", "012300000451"),  # 3: d1-d3 00000 d4 d5
        ("01234543", "012340000053"),  # 4: d1-d4 00000 d5
        ("01234572", "012345000072"),  # 5-9: d1-d5 0000 d6 (hand: 48 -> 2)
    ],
)
def test_upc_e_expands_to_its_upc_a(upc_e: str, upc_a: str) -> None:
    assert upc_e_to_upc_a(upc_e) == upc_a
    assert gtin14(upc_a) == upc_a.zfill(14)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("4901234567895", "check_digit"),  # one digit off
        ("4901234567984", "check_digit"),  # two neighbours swapped
        ("490123456789", "check_digit"),  # a JAN short of its last digit
        ("49012345678", "format"),  # 11 digits: no GTIN
        ("49O1234567894", "format"),  # a letter O
        ("\uff14\uff19\uff10\uff11", "format"),  # full-width digits (a JAN keyboard)
        ("", "format"),
    ],
)
def test_a_bad_code_is_refused_with_its_reason(code: str, reason: str) -> None:
    with pytest.raises(BadCode) as refused:
        gtin14(code)
    assert refused.value.reason == reason


def test_a_upc_e_with_a_wrong_check_digit_or_system_is_refused() -> None:
    with pytest.raises(BadCode) as wrong:
        upc_e_to_upc_a("04252615")
    assert wrong.value.reason == "check_digit"
    with pytest.raises(BadCode):
        upc_e_to_upc_a("24252614")


BODIES = st.integers(7, 13).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))


@given(BODIES)
def test_any_valid_gtin_round_trips(body: str) -> None:
    code = with_check_digit(body)
    if len(code) in (8, 12, 13, 14):
        normalised = gtin14(code)
        assert len(normalised) == 14
        assert normalised.lstrip("0") == code.lstrip("0")
        assert gtin14(normalised) == normalised  # a GTIN-14 is its own normal form


@given(BODIES, st.integers(1, 9), st.data())
def test_no_code_with_a_wrong_check_digit_is_ever_taken(
    body: str, off: int, data: st.DataObject
) -> None:
    code = with_check_digit(body)
    wrong = code[:-1] + str((int(code[-1]) + off) % 10)
    with pytest.raises(BadCode):
        gtin14(wrong)
    # Any single digit changed anywhere is caught by the check digit as well.
    at = data.draw(st.integers(0, len(code) - 1))
    changed = code[:at] + str((int(code[at]) + off) % 10) + code[at + 1 :]
    with pytest.raises(BadCode):
        gtin14(changed)
