"""GS1 element strings by hand: weight and price, with and without the group separator and the
symbology identifier."""

from __future__ import annotations

import datetime

import pytest

from services.common.element_strings import Decimal, is_element_string, parse
from services.common.gtin import BadCode

GTIN = "04901234567894"
GS = "\x1d"


@pytest.mark.parametrize(
    "scan",
    [
        f"]e001{GTIN}3102001250",  # DataBar: GTIN, 12.50 kg
        f"01{GTIN}3102001250",  # no symbology identifier
        f"]d201{GTIN}{GS}3102001250",  # a needless group separator is skipped
    ],
)
def test_a_weight_element_string(scan: str) -> None:
    read = parse(scan)
    assert (read.gtin, read.net_weight_kg, read.price) == (GTIN, Decimal(1250, 2), None)
    assert read.ais == ("01", "3102")
    assert is_element_string(scan)


def test_a_price_and_a_lot_end_at_the_group_separator() -> None:
    read = parse(f"]C101{GTIN}10LOT-7{GS}3922012345{GS}17261231")
    assert read.lot == "LOT-7"
    assert read.price == Decimal(12345, 2)  # 123.45 in the currency
    assert read.expiry == datetime.date(2026, 12, 31)
    assert read.ais == ("01", "10", "3922", "17")


def test_the_last_variable_field_needs_no_separator() -> None:
    read = parse(f"01{GTIN}17270200{GS}39201980")
    assert read.price == Decimal(1980, 0)
    assert read.expiry == datetime.date(2027, 2, 28)  # day 00: the month's last day


def test_weight_with_three_and_five_decimals() -> None:
    assert parse(f"01{GTIN}3103000450").net_weight_kg == Decimal(450, 3)  # 0.450 kg
    assert parse(f"01{GTIN}3105123456").net_weight_kg == Decimal(123456, 5)  # 1.23456 kg


@pytest.mark.parametrize(
    ("scan", "reason"),
    [
        (f"01{GTIN[:-1]}53102001250", "check_digit"),  # the GTIN's check digit
        ("]e03102001250", "format"),  # no GTIN
        (f"01{GTIN}3102", "format"),  # a weight short of its six digits
        (f"01{GTIN}3102000000", "value"),  # nothing weighs nothing
        (f"01{GTIN}3106001250", "value"),  # six decimals: no such AI value
        (f"01{GTIN}21SERIAL", "format"),  # an AI a till does not read: its length is unknown
        (f"01{GTIN}17261332", "value"),  # 13th month
        (f"01{GTIN}17260230", "value"),  # 30 February
        (f"01{GTIN}01{GTIN}", "format"),  # an AI twice
        (f"01{GTIN}10{GS}", "format"),  # an empty lot
        (f"01{GTIN}10{'L' * 21}", "format"),  # a lot of 21 characters
    ],
)
def test_a_bad_element_string_is_refused(scan: str, reason: str) -> None:
    with pytest.raises(BadCode) as refused:
        parse(scan)
    assert refused.value.reason == reason


def test_a_gtin_alone_is_no_element_string() -> None:
    assert not is_element_string("4901234567894")
    assert not is_element_string(f"01{GTIN}")  # 16 characters: could be read either way
