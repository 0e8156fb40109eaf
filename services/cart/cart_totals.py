"""A cart's totals: its tax rows, subtotal, total, paid and discounts, and the taxable sums a
scan adds to. Pure arithmetic over the cart's values, no I/O."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import discounts as discounting
from .cart_values import Discount, LineItem, Payment, TaxSummary
from .discounts import DiscountTooLarge
from .errors import CartError, ErrorCode
from .tax import TaxRule, TaxType, tax_of


def take(discounts: list[Discount], base: int, where: str) -> int:
    """Set each discount's amount of `base`, and return their sum; refused when it is more."""
    try:
        each = discounting.amounts([(d.type, d.value) for d in discounts], base)
    except DiscountTooLarge as too_large:
        raise CartError(
            ErrorCode.VALIDATION_ERROR, f"{where}: {too_large}", [{"field": "discounts"}]
        ) from None
    for discount, amount in zip(discounts, each, strict=True):
        discount.amount = amount
    return sum(each)


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    rows: list[tuple[TaxRule, int, int]]  # the tax rows: rule, taxable amount, tax
    total: int
    paid: int
    discount_total: int
    shares: dict[int, int]  # line number -> its share of the cart's discounts

    @classmethod
    def of(
        cls,
        taxable: dict[TaxRule, int],
        payments: list[Payment],
        discount_total: int,
        shares: dict[int, int],
    ) -> Totals:
        ordered: Iterable[tuple[TaxRule, int]] = taxable.items()
        if len(taxable) > 1:
            ordered = sorted(ordered, key=lambda pair: pair[0].sort_key())
        rows = [(rule, amount, tax_of(amount, rule)) for rule, amount in ordered]
        subtotal = sum(taxable.values())
        external = sum(tax for rule, _, tax in rows if rule.tax_type is TaxType.EXTERNAL)
        paid = sum(p.amount for p in payments)
        return cls(subtotal, rows, subtotal + external, paid, discount_total, shares)

    @property
    def balance(self) -> int:
        return max(0, self.total - self.paid)

    @property
    def change(self) -> int:
        return max(0, self.paid - self.total)

    def taxes(self) -> list[TaxSummary]:
        return [_tax_row(rule, amount) for rule, amount, _ in self.rows]


@functools.lru_cache(maxsize=4096)
def _tax_row(rule: TaxRule, amount: int) -> TaxSummary:
    """One rule's tax row, made once per (rule, amount) and shared (never changed once made)."""
    return TaxSummary(
        tax_code=rule.tax_code,
        tax_type=rule.tax_type,
        rate_basis_points=rule.rate_basis_points,
        rounding=rule.rounding,
        taxable_amount=amount,
        tax_amount=tax_of(amount, rule),
    )


@dataclass(slots=True)
class Sums:
    """What a scan adds to: the taxable sum per rule (net of the lines' own discounts) and
    the sum of those discounts."""

    taxable: dict[TaxRule, int] = field(default_factory=dict)
    line_discounts: int = 0

    def add(self, lines: Iterable[LineItem]) -> None:
        taxable = self.taxable
        for line in lines:
            rule = line.tax_rule()
            off = line.discount_amount
            amount = line.unit_price * line.quantity if line.scan is None else line.amount
            taxable[rule] = taxable.get(rule, 0) + amount - off
            self.line_discounts += off


def with_cart_discounts(
    active: list[LineItem], discounts: list[Discount], payments: list[Payment]
) -> Totals:
    """The totals of a cart with discounts of its own: they are taken of the net of the lines
    that may be discounted and shared out over them (largest remainder), and each rule is taxed
    on its lines' nets less their shares. Per line: a cost only such a cart pays."""
    eligible = [(line.line_no, line.net_amount) for line in active
                if not line.discount_restricted]  # fmt: skip
    cart_off = take(discounts, sum(net for _, net in eligible), "the cart")
    shares = discounting.allocate(cart_off, eligible)
    taxable: dict[TaxRule, int] = {}
    line_off = 0
    for line in active:
        rule = line.tax_rule()
        net = line.net_amount
        taxable[rule] = taxable.get(rule, 0) + net - shares.get(line.line_no, 0)
        line_off += line.amount - net
    return Totals.of(taxable, payments, line_off + cart_off, shares)


def _active(lines: list[LineItem]) -> list[LineItem]:
    return [line for line in lines if not line.cancelled]


class Tally:
    """A cart's totals, counted once per change (its JSON asks for them several times), and
    its taxable sums, kept across scans: a scan adds its lines (the cart stays in process
    between requests, so a scan costs per rule, not per line); any other change of a line
    counts them anew. Not part of the cart's value: any two tallies are equal."""

    __slots__ = ("sums", "totals")

    def __init__(self) -> None:
        self.totals: Totals | None = None
        self.sums: Sums | None = None

    def count(
        self, lines: list[LineItem], discounts: list[Discount], payments: list[Payment]
    ) -> Totals:
        if discounts:
            totals = with_cart_discounts(_active(lines), discounts, payments)
        else:
            sums = self.sums
            if sums is None:
                sums = self.sums = Sums()
                sums.add(_active(lines))
            totals = Totals.of(sums.taxable, payments, sums.line_discounts, {})
        self.totals = totals
        return totals

    def forget(self, *, lines: bool) -> None:
        """The totals are stale; the taxable sums too if `lines` changed but for new ones."""
        self.totals = None
        if lines:
            self.sums = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tally)

    def __hash__(self) -> int:
        return 0  # equal to any other
