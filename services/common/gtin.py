"""GTINs as a scanner sends them (GS1 General Specifications 3.3.2, 7.9.1): EAN-13/JAN,
UPC-A, EAN-8, UPC-E and GTIN-14, each with its mod-10 check digit, and each stored and looked up
as the GTIN-14 it stands for (left-padded with zeros; UPC-E expanded to its UPC-A first)."""

from __future__ import annotations

from typing import Final

GTIN_LENGTHS: Final = (8, 12, 13, 14)


class BadCode(ValueError):
    """A scan or a code that cannot stand for anything: `reason` says which rule it broke
    (`format`, `check_digit` or `value`), the message says how, in words a till can show."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_digit(body: str) -> int:
    """The mod-10 check digit of `body` (every digit but the check digit): weights 3 and 1
    alternate from the right, starting with 3; the check digit makes the sum a multiple of 10."""
    total = sum(int(digit) * (3 if at % 2 == 0 else 1) for at, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _digits(code: str, what: str) -> str:
    if not code.isascii() or not code.isdigit():
        raise BadCode("format", f"{what} {code!r} is not all digits")
    return code


def gtin14(code: str) -> str:
    """The GTIN-14 of an EAN-8, UPC-A (12), EAN-13/JAN or GTIN-14 code; BadCode for another
    length or a wrong check digit (a misread must never sell anything)."""
    _digits(code, "GTIN")
    if len(code) not in GTIN_LENGTHS:
        raise BadCode("format", f"GTIN {code!r} has {len(code)} digits, not 8, 12, 13 or 14")
    expected = check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise BadCode("check_digit", f"GTIN {code} fails its check digit (it would be {expected})")
    return code.zfill(14)


def upc_e_to_upc_a(code: str) -> str:
    """The UPC-A a UPC-E code (8 digits: number system 0 or 1, six digits, check digit) stands
    for; its check digit is the UPC-A's. BadCode where it is no UPC-E."""
    _digits(code, "UPC-E")
    if len(code) != 8 or code[0] not in "01":
        raise BadCode("format", f"UPC-E {code!r} is not 8 digits with number system 0 or 1")
    system, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = f"{d[0]}{d[1]}{last}0000{d[2]}{d[3]}{d[4]}"
    elif last == "3":
        body = f"{d[0]}{d[1]}{d[2]}00000{d[3]}{d[4]}"
    elif last == "4":
        body = f"{d[0]}{d[1]}{d[2]}{d[3]}00000{d[4]}"
    else:
        body = f"{d[0]}{d[1]}{d[2]}{d[3]}{d[4]}0000{last}"
    upc_a = f"{system}{body}{check}"
    gtin14(upc_a)  # its check digit, or BadCode
    return upc_a


def with_check_digit(body: str) -> str:
    """`body` and its check digit: a GTIN made from its digits (the demo catalog's, tests')."""
    return body + str(check_digit(_digits(body, "GTIN body")))
