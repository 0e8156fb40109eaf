"""GS1 element strings as a 2D or DataBar scanner sends them (GS1 General Specifications 3,
7.8): Application Identifiers, each followed by its data; a variable-length field ends at the
group separator (0x1D) or at the end. A symbology identifier (`]C1` GS1-128, `]e0` DataBar,
`]d2` DataMatrix, `]Q3` QR) may lead. The AIs a till needs are read; any other AI is refused,
as its length is unknown and the rest could not be read safely.

Example: `]e0` `0104901234567894` `3102001250` `39201234` is GTIN 04901234567894, a net
weight of 12.50 kg (AI 3102: the last digit of the AI says two decimals) and a price of 1234 in
the currency's units (AI 3920: no decimals); 392n is variable-length, so it comes last or ends
at a group separator.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from .gtin import BadCode, gtin14

GROUP_SEPARATOR: Final = "\x1d"
SYMBOLOGY_IDENTIFIERS: Final = ("]C1", "]e0", "]d2", "]Q3", "]J1")


@dataclass(frozen=True, slots=True)
class Decimal:
    """An exact decimal: `digits` / 10**`places` (never a float)."""

    digits: int
    places: int


@dataclass(frozen=True, slots=True)
class ElementString:
    """What an element string carried: the GTIN (normalised to GTIN-14), and any of a net weight
    in kg, a price in the currency's units, a lot and an expiry date; `ais` the AIs read, in
    their order."""

    gtin: str
    net_weight_kg: Decimal | None = None
    price: Decimal | None = None
    lot: str | None = None
    expiry: datetime.date | None = None
    ais: tuple[str, ...] = ()


def is_element_string(scan: str) -> bool:
    """Whether a scan is an element string (it starts with a symbology identifier of a GS1
    symbol, a group separator, or AI 01 and is longer than any GTIN)."""
    return (
        scan.startswith(SYMBOLOGY_IDENTIFIERS)
        or scan.startswith(GROUP_SEPARATOR)
        or (scan.startswith("01") and len(scan) > 16)
    )


def parse(scan: str) -> ElementString:
    """The element string's fields; BadCode for an unknown AI, a field too short or too long, a
    bad check digit, an impossible date, or no GTIN."""
    text = scan
    for identifier in SYMBOLOGY_IDENTIFIERS:
        if text.startswith(identifier):
            text = text[len(identifier) :]
            break
    fields: dict[str, str] = {}
    at = 0
    while at < len(text):
        if text[at] == GROUP_SEPARATOR:
            at += 1
            continue
        ai, fixed, longest = _ai_at(text, at)
        start = at + len(ai)
        if fixed:
            value = text[start : start + longest]
            if len(value) != longest or GROUP_SEPARATOR in value:
                raise BadCode("format", f"AI ({ai}) needs {longest} characters")
            at = start + longest
        else:
            end = text.find(GROUP_SEPARATOR, start)
            end = len(text) if end < 0 else end
            value = text[start:end]
            if not 1 <= len(value) <= longest:
                raise BadCode("format", f"AI ({ai}) takes 1 to {longest} characters")
            at = end
        if ai in fields:
            raise BadCode("format", f"AI ({ai}) comes twice")
        fields[ai] = value
    return _read(fields)


# AI prefix -> (AI length, fixed length?, data length or longest): the AIs a till reads.
_AIS: Final = {
    "01": (2, True, 14),  # GTIN
    "10": (2, False, 20),  # batch or lot
    "17": (2, True, 6),  # expiry date YYMMDD
    "310": (4, True, 6),  # net weight, kg, 4th digit: decimals
    "392": (4, False, 15),  # amount payable, single monetary area, 4th digit: decimals
}


def _ai_at(text: str, at: int) -> tuple[str, bool, int]:
    for prefix, (length, fixed, longest) in _AIS.items():
        ai = text[at : at + length]
        if ai.startswith(prefix) and len(ai) == length and ai.isdigit():
            return ai, fixed, longest
    raise BadCode("format", f"AI {text[at : at + 4]!r}... is not one a till reads")


def _read(fields: dict[str, str]) -> ElementString:
    gtin = fields.get("01")
    if gtin is None:
        raise BadCode("format", "an element string without a GTIN (01) names no item")
    weight = price = None
    for ai, value in fields.items():
        if ai.startswith(("310", "392")):
            if not value.isascii() or not value.isdigit():
                raise BadCode("format", f"AI ({ai}) is not all digits")
            places = int(ai[3])
            if ai.startswith("310"):
                if places > 5:
                    raise BadCode("value", f"AI ({ai}): a net weight has at most 5 decimals")
                weight = Decimal(int(value), places)
            else:
                price = Decimal(int(value), places)
    if weight is not None and weight.digits == 0:
        raise BadCode("value", "a net weight of zero")
    lot = fields.get("10")
    expiry = _date(fields["17"]) if "17" in fields else None
    return ElementString(gtin14(gtin), weight, price, lot, expiry, tuple(fields))


def _date(value: str) -> datetime.date:
    """YYMMDD; DD 00 is the month's last day; the century is the one that puts the year
    within 49 years ahead and 50 behind this one (GS1 General Specifications 7.12)."""
    if not value.isascii() or not value.isdigit():
        raise BadCode("format", f"date {value!r} is not YYMMDD")
    yy, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
    this_year = datetime.datetime.now(datetime.UTC).year
    difference = yy - this_year % 100
    century = this_year // 100 + (1 if difference < -50 else -1 if difference > 49 else 0)
    year = century * 100 + yy
    if not 1 <= month <= 12:
        raise BadCode("value", f"date {value} has no month {month}")
    try:
        if day == 0:
            following = datetime.date(year + month // 12, month % 12 + 1, 1)
            return following - datetime.timedelta(days=1)
        return datetime.date(year, month, day)
    except ValueError:
        raise BadCode("value", f"date {value} does not exist") from None
