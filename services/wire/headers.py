"""Reading numeric HTTP header values strictly: ASCII digits only.

`str.isdigit` accepts "²" and other Unicode digits that `int` then refuses, which turned a
malformed header into a 500; every numeric header goes through `ascii_digits` instead.
"""

from __future__ import annotations


def ascii_digits(value: str | None, max_digits: int = 18) -> int | None:
    """The value of 1 to `max_digits` ASCII digits, or None for anything else (absent too)."""
    if value is None or not 0 < len(value) <= max_digits:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)
