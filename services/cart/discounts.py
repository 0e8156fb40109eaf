"""Discounts in integer minor units: what each takes of its base, and how a discount on the
whole cart is shared out over its lines. Pure arithmetic, no floats.

A percent discount takes floor(base x value / 100); an amount discount takes its value. The
discounts of one list are each taken of the same base, and together at most the base.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

MAX_DISCOUNTS: Final = 10  # per line, and on the cart


class DiscountType(StrEnum):
    AMOUNT = "amount"  # minor units off
    PERCENT = "percent"  # whole percent off, 0 to 100


class DiscountTooLarge(ValueError):
    """The discounts come to more than their base."""


def taken(kind: DiscountType, value: int, base: int) -> int:
    """What one discount takes of `base` (base >= 0)."""
    if kind is DiscountType.PERCENT:
        return base * value // 100
    return value


def amounts(discounts: Sequence[tuple[DiscountType, int]], base: int) -> list[int]:
    """What each discount takes of `base`; DiscountTooLarge when they sum to more than it."""
    each = [taken(kind, value, base) for kind, value in discounts]
    if sum(each) > base:
        raise DiscountTooLarge(f"the discounts come to {sum(each)}, more than {base}")
    return each


def allocate(total: int, nets: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Share `total` over lines (line number, net amount) in proportion to their nets by the
    largest-remainder rule: each gets floor(total x net / base), and what is left goes one unit
    each to the lines with the largest remainders, ties to the lower line number. The shares
    sum to `total` exactly and none exceeds its line's net (total <= base). Lines with no
    share are left out."""
    base = sum(net for _, net in nets)
    if total == 0 or base == 0:
        if total:
            raise DiscountTooLarge(f"nothing to take {total} off")
        return {}
    if total > base:
        raise DiscountTooLarge(f"the discounts come to {total}, more than {base}")
    shares: dict[int, int] = {}
    remainders: list[tuple[int, int]] = []
    for line_no, net in nets:
        share, remainder = divmod(total * net, base)
        shares[line_no] = share
        remainders.append((-remainder, line_no))
    left = total - sum(shares.values())
    for _, line_no in sorted(remainders)[:left]:
        shares[line_no] += 1
    return {line_no: share for line_no, share in shares.items() if share}
