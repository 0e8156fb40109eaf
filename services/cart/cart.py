"""The cart: line items, totals, payments and its states. Pure domain logic, no I/O.

States: initial -> entering_items -> paying -> completed, or cancelled from any open state.
Amounts are integer minor units of the cart's currency.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, cast

from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field
from pydantic.alias_generators import to_camel

from . import discounts as discounting
from .discounts import DiscountTooLarge, DiscountType
from .errors import CartError, ErrorCode
from .tax import Rounding, TaxRuleSnapshot, TaxType, tax_of

MAX_LINES: Final = 500
MAX_QUANTITY: Final = 9_999
MAX_PAYMENTS: Final = 20
# Every amount a cart shows stays an integer a JSON client reads exactly (2^53 - 1).
MAX_AMOUNT: Final = 2**53 - 1


class CartState(StrEnum):
    INITIAL = "initial"
    ENTERING_ITEMS = "entering_items"
    PAYING = "paying"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    CASH = "cash"  # may exceed the balance: the rest is change
    CARD = "card"  # cashless: at most the balance
    QR = "qr"  # cashless: at most the balance


class PriceSource(StrEnum):
    """Where a line's price and tax rule came from at its scan."""

    MASTER_DATA = "master_data"  # master-data's answer, or a cached copy it vouches for
    LAST_KNOWN = "last_known"  # master-data was unreachable: the last copy the cart knew


class CamelModel(BaseModel):
    """camelCase in JSON, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=False,
        # Every field is in every answer: the OpenAPI document says so (a field dropped from
        # an answer is then a breaking change `just breaking` sees).
        json_schema_serialization_defaults_required=True,
    )


class Discount(CamelModel):
    """A discount on a line or on the cart: `amount` is what it takes of its base now."""

    type: DiscountType
    value: int
    reason: str | None = None
    amount: int = 0


def _taken(discounts: list[Discount], base: int, where: str) -> int:
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


class LineItem(CamelModel):
    """One scanned item: the price and tax rule as they were at the scan."""

    line_no: int
    item_code: str
    item_name: str
    category_code: str
    unit_price: int
    quantity: int
    tax_code: str
    tax_type: TaxType
    tax_rate_basis_points: int
    tax_rounding: Rounding
    price_overridden: bool = False
    original_unit_price: int | None = None
    cancelled: bool = False
    price_source: PriceSource = PriceSource.MASTER_DATA
    discount_restricted: bool = False  # as master-data said at the scan
    discounts: list[Discount] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discount_amount(self) -> int:
        """What the line's own discounts take (a share of a cart discount is the cart's)."""
        return sum(d.amount for d in self.discounts) if self.discounts else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_amount(self) -> int:
        return self.unit_price * self.quantity - self.discount_amount

    def tax_rule(self) -> TaxRuleSnapshot:
        return _rule(self.tax_code, self.tax_type, self.tax_rate_basis_points, self.tax_rounding)

    def document(self) -> str:
        """The line as pydantic writes it (a test holds the bytes equal). A line without
        discounts, the scan's, is written here from its item's and its rule's kept parts and
        its numbers: pydantic's own dump cost twice as much."""
        if self.discounts:
            return self.model_dump_json(by_alias=True)
        item, rule = _line_parts(self.item_code, self.item_name, self.category_code,
                                 self.tax_rule())  # fmt: skip
        amount = self.unit_price * self.quantity
        original = "null" if self.original_unit_price is None else self.original_unit_price
        return (
            f'{{"lineNo":{self.line_no},{item},"unitPrice":{self.unit_price},'
            f'"quantity":{self.quantity},{rule},'
            f'"priceOverridden":{_BOOLS[self.price_overridden]},'
            f'"originalUnitPrice":{original},"cancelled":{_BOOLS[self.cancelled]},'
            f'"priceSource":"{self.price_source.value}",'
            f'"discountRestricted":{_BOOLS[self.discount_restricted]},"discounts":[],'
            f'"amount":{amount},"discountAmount":0,"netAmount":{amount}}}'
        )


_BOOLS: Final = {False: "false", True: "true"}
# One object per rule, shared by its lines: a frozen dataclass is slow to make.
_rule: Final = functools.lru_cache(maxsize=1024)(TaxRuleSnapshot)


@functools.lru_cache(maxsize=4096)
def _line_parts(code: str, name: str, category: str, rule: TaxRuleSnapshot) -> tuple[str, str]:
    """An item's and its rule's part of a line's JSON, cut from pydantic's dump of such a line
    (a key written by pydantic cannot occur unescaped inside a string value)."""
    whole = LineItem(
        line_no=0, item_code=code, item_name=name, category_code=category, unit_price=0,
        quantity=1, tax_code=rule.tax_code, tax_type=rule.tax_type,
        tax_rate_basis_points=rule.rate_basis_points, tax_rounding=rule.rounding,
    ).model_dump_json(by_alias=True)  # fmt: skip
    item = whole[whole.index('"itemCode":') : whole.index(',"unitPrice":')]
    rule_part = whole[whole.index('"taxCode":') : whole.index(',"priceOverridden":')]
    return item, rule_part


class TaxSummary(CamelModel):
    """Tax of one rule (code, type, rate, rounding, as the lines recorded it at their scan) over
    all its active lines: a rule changed in master-data between two scans makes two rows."""

    tax_code: str
    tax_type: TaxType
    rate_basis_points: int
    rounding: Rounding
    taxable_amount: int
    tax_amount: int


class Payment(CamelModel):
    payment_no: int
    method: PaymentMethod
    amount: int


class DiscountShare(CamelModel):
    """The part of the cart's discounts one line takes."""

    line_no: int
    amount: int


@dataclass(frozen=True, slots=True)
class _Totals:
    subtotal: int
    rows: list[tuple[TaxRuleSnapshot, int, int]]  # the tax rows: rule, taxable amount, tax
    total: int
    paid: int
    discount_total: int
    shares: dict[int, int]  # line number -> its share of the cart's discounts

    @classmethod
    def of(
        cls,
        taxable: dict[TaxRuleSnapshot, int],
        payments: list[Payment],
        discount_total: int,
        shares: dict[int, int],
    ) -> _Totals:
        ordered: Iterable[tuple[TaxRuleSnapshot, int]] = taxable.items()
        if len(taxable) > 1:
            ordered = sorted(ordered, key=lambda pair: pair[0].sort_key())
        rows = [(rule, amount, tax_of(amount, rule)) for rule, amount in ordered]
        subtotal = sum(taxable.values())
        external = sum(tax for rule, _, tax in rows if rule.tax_type is TaxType.EXTERNAL)
        paid = sum(p.amount for p in payments)
        return cls(subtotal, rows, subtotal + external, paid, discount_total, shares)

    def taxes(self) -> list[TaxSummary]:
        return [_tax_row(rule, amount) for rule, amount, _ in self.rows]

    def taxes_json(self) -> str:
        """The rows as pydantic writes a list of TaxSummary (a scan's new sum is no new model)."""
        return ",".join(f'{_tax_row_head(rule)}"taxableAmount":{amount},"taxAmount":{tax}}}'
                        for rule, amount, tax in self.rows)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _tax_row(rule: TaxRuleSnapshot, amount: int) -> TaxSummary:
    """One rule's tax row, made once per (rule, amount) and shared (never changed once made)."""
    return TaxSummary(
        tax_code=rule.tax_code,
        tax_type=rule.tax_type,
        rate_basis_points=rule.rate_basis_points,
        rounding=rule.rounding,
        taxable_amount=amount,
        tax_amount=tax_of(amount, rule),
    )


@functools.lru_cache(maxsize=1024)
def _tax_row_head(rule: TaxRuleSnapshot) -> str:
    """A rule's row in JSON up to its amounts, as pydantic writes it (the amounts come last)."""
    whole = _tax_row(rule, 0).model_dump_json(by_alias=True)
    return whole[: whole.rindex('"taxableAmount":')]


@dataclass(slots=True)
class _Sums:
    """What a scan adds to: the taxable sum per rule (net of the lines' own discounts) and
    the sum of those discounts."""

    taxable: dict[TaxRuleSnapshot, int]
    line_discounts: int = 0

    def add(self, lines: Iterable[LineItem]) -> None:
        taxable = self.taxable
        for line in lines:
            rule = line.tax_rule()
            off = line.discount_amount
            taxable[rule] = taxable.get(rule, 0) + line.unit_price * line.quantity - off
            self.line_discounts += off


class Cart(CamelModel):
    """A cart of one terminal; `version` grows with every saved change."""

    cart_id: str
    tenant_id: str
    store_code: str
    terminal_id: str
    state: CartState = CartState.INITIAL
    version: int = 0
    currency_code: str | None = None
    line_items: list[LineItem] = []
    payments: list[Payment] = []
    discounts: list[Discount] = []  # on the whole cart (after "payments": see _with_lines)
    receipt_no: int | None = None
    transaction_id: str | None = None  # of the sale or cancel that closed the cart
    created_at: datetime.datetime
    updated_at: datetime.datetime
    completed_at: datetime.datetime | None = None

    # -- totals -------------------------------------------------------------------------------
    # Computed once per change (a cart's JSON asks for them several times): every method that
    # changes lines or payments calls _changed(). The taxable sum per rule is kept across
    # changes: a scan adds its lines to it (the cart stays in process between requests, so a
    # scan costs per rule, not per line); cancelling or changing a line recounts it.

    # The memos are read through __pydantic_private__ directly: pydantic's own attribute path
    # for private attributes (BaseModel.__getattr__) cost ~5 % of a scan's CPU, measured.
    _totals: _Totals | None = PrivateAttr(default=None)
    _json: str | None = PrivateAttr(default=None)
    _header: str | None = PrivateAttr(default=None)  # the JSON without its lines
    _sums: _Sums | None = PrivateAttr(default=None)
    # -- what a save writes: the header, and only the lines changed since the last save -------
    # Each line's JSON is made once and kept (`_fragments`, in line order) until the line
    # changes; the cart's JSON joins them. `_dirty` names the lines to write: None for every
    # line (a cart read from a whole document: today's carts, before lines had rows).
    _fragments: list[str] | None = PrivateAttr(default=None)  # None: not made yet
    _dirty: set[int] | None = PrivateAttr(default=None)
    _saved_lines: list[int] = PrivateAttr(default_factory=list)

    def _changed(self, *, lines: bool = True) -> None:
        """Forget what a change made stale: totals and JSON; the taxable sums if `lines`."""
        private = _memo(self)
        private["_totals"] = private["_json"] = private["_header"] = None
        if lines:
            private["_sums"] = None

    def _line_changed(self, line_no: int) -> None:
        """A line to write at the next save, its discounts taken of its amount anew and its
        JSON made anew."""
        line = self.line_items[line_no - 1]
        if line.discounts:
            _taken(line.discounts, line.amount, f"line {line_no}")
        private = _memo(self)
        dirty: set[int] | None = private["_dirty"]
        if dirty is not None:
            dirty.add(line_no)
        kept: list[str] | None = private["_fragments"]
        if kept is not None:
            kept[line_no - 1] = self.line_items[line_no - 1].document()

    def _kept_sums(self) -> _Sums:
        private = _memo(self)
        sums: _Sums | None = private["_sums"]
        if sums is None:
            sums = private["_sums"] = _Sums({})
            sums.add(self.active_lines())
        return sums

    def document(self) -> str:
        """The cart as the API shows it (JSON, totals included), made once per saved change
        from the header and each line's kept JSON: the same bytes as pydantic's own dump of
        the whole cart (a test holds them equal). `forget_document` before changing the cart."""
        private = _memo(self)
        document: str | None = private["_json"]
        if document is None:
            document = private["_json"] = self._with_lines(self._line_documents())
        return document

    def summary_document(self) -> str:
        """The cart with only the lines the last save wrote (`?view=summary`): what a terminal
        needs back from a scan, whatever the basket's size; `lineCount` says how many it has.
        A cart read from a whole document (a repeated request's kept answer) has them all."""
        private = _memo(self)
        if private["_dirty"] is None:  # read from a whole document (a repeated request's answer)
            numbers: list[int] = list(range(1, len(self.line_items) + 1))
        else:
            numbers = private["_saved_lines"]
        kept = self._line_documents()
        summary = self._with_lines([kept[n - 1] for n in numbers])
        return f'{summary[:-1]},"lineCount":{len(self.line_items)}}}'

    def header_document(self) -> str:
        """The cart's JSON without its lines: what the store keeps in the cart's own row. The
        stored fields come from pydantic, the totals after them are written here (pydantic
        calling back for each computed field took two thirds of the header's cost, measured);
        the bytes are pydantic's own (a test holds the whole document equal to its dump)."""
        private = _memo(self)
        header: str | None = private["_header"]
        if header is None:
            stored = self.model_dump_json(by_alias=True, exclude=_NOT_IN_HEADER_FIELDS)
            header = private["_header"] = f"{stored[:-1]},{self._totals_json()}}}"
        return header

    def _totals_json(self) -> str:
        """The computed fields as pydantic writes them, in their order of definition."""
        totals = self._computed()
        taxes = totals.taxes_json()
        shares = ",".join(f'{{"lineNo":{n},"amount":{a}}}' for n, a in totals.shares.items())
        return (
            f'"subtotal":{totals.subtotal},"taxes":[{taxes}],"total":{totals.total},'
            f'"paid":{totals.paid},"balance":{max(0, totals.total - totals.paid)},'
            f'"change":{max(0, totals.paid - totals.total)},'
            f'"discountTotal":{totals.discount_total},"discountAllocations":[{shares}]'
        )

    def _with_lines(self, lines: list[str]) -> str:
        header = self.header_document()
        # The header's fields come in the model's order and "lineItems" sits before "payments";
        # no value before it can hold a quote (ids, codes, a state, a version, a currency).
        at = header.index(',"payments":')
        return f'{header[:at]},"lineItems":[{",".join(lines)}]{header[at:]}'

    def _line_documents(self) -> list[str]:
        """Every line's JSON, in line order; made once, then kept in step with the lines."""
        private = _memo(self)
        kept: list[str] | None = private["_fragments"]
        if kept is None or len(kept) != len(self.line_items):
            kept = private["_fragments"] = [line.document() for line in self.line_items]
        return kept

    def lines_to_save(self) -> list[tuple[int, str]]:
        """(line number, JSON) of every line changed since the last save: all of them for a
        cart read from a whole document."""
        dirty: set[int] | None = _memo(self)["_dirty"]
        numbers = range(1, len(self.line_items) + 1) if dirty is None else sorted(dirty)
        kept = self._line_documents()
        return [(n, kept[n - 1]) for n in numbers]

    def saved(self) -> None:
        """The store has the cart as it is now: nothing is left to write."""
        private = _memo(self)
        dirty: set[int] | None = private["_dirty"]
        private["_saved_lines"] = (
            list(range(1, len(self.line_items) + 1)) if dirty is None else sorted(dirty)
        )
        private["_dirty"] = set()

    @classmethod
    def from_rows(cls, header: str, lines: Iterable[str]) -> Cart:
        """A cart as the store keeps it: its header row and its line rows, in line order. A
        header that holds lines is a whole document (stored before lines had rows, or written
        over the row by an earlier release): it wins, and the next save writes every line."""
        cart = cls.model_validate_json(header)
        if cart.line_items:
            return cart
        cart.line_items = [LineItem.model_validate_json(line) for line in lines]
        _memo(cart)["_dirty"] = set()
        return cart

    def forget_document(self) -> None:
        private = _memo(self)
        private["_json"] = private["_header"] = None

    def _computed(self) -> _Totals:
        private = _memo(self)
        totals: _Totals | None = private["_totals"]
        if totals is None:
            if self.discounts:
                totals = self._with_cart_discounts()
            else:
                sums = self._kept_sums()
                totals = _Totals.of(sums.taxable, self.payments, sums.line_discounts, {})
            private["_totals"] = totals
        return totals

    def _with_cart_discounts(self) -> _Totals:
        """The totals of a cart with discounts of its own: they are taken of the net of the
        lines that may be discounted and shared out over them (largest remainder), and each
        rule is taxed on its lines' nets less their shares. Per line: a cost only such a cart
        pays."""
        active = self.active_lines()
        eligible = [(line.line_no, line.net_amount) for line in active
                    if not line.discount_restricted]  # fmt: skip
        cart_off = _taken(self.discounts, sum(net for _, net in eligible), "the cart")
        shares = discounting.allocate(cart_off, eligible)
        taxable: dict[TaxRuleSnapshot, int] = {}
        line_off = 0
        for line in active:
            rule = line.tax_rule()
            net = line.net_amount
            taxable[rule] = taxable.get(rule, 0) + net - shares.get(line.line_no, 0)
            line_off += line.amount - net
        return _Totals.of(taxable, self.payments, line_off + cart_off, shares)

    def active_lines(self) -> list[LineItem]:
        return [line for line in self.line_items if not line.cancelled]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subtotal(self) -> int:
        """The sum of the active lines' amounts less every discount (internal tax included,
        external not): what tax is computed on."""
        return self._computed().subtotal

    @computed_field  # type: ignore[prop-decorator]
    @property
    def taxes(self) -> list[TaxSummary]:
        return self._computed().taxes()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        """What the customer pays: subtotal plus external tax."""
        return self._computed().total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paid(self) -> int:
        return self._computed().paid

    @computed_field  # type: ignore[prop-decorator]
    @property
    def balance(self) -> int:
        return max(0, self.total - self.paid)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def change(self) -> int:
        return max(0, self.paid - self.total)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discount_total(self) -> int:
        """Every discount of the active lines and of the cart: subtotal + discountTotal is
        the sum of the active lines' amounts."""
        return self._computed().discount_total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discount_allocations(self) -> list[DiscountShare]:
        """How the cart's own discounts are shared out over its lines."""
        shares = self._computed().shares
        return [DiscountShare.model_construct(line_no=n, amount=a) for n, a in shares.items()]

    # -- transitions --------------------------------------------------------------------------

    def _require(self, action: str, *states: CartState) -> None:
        if self.state not in states:
            raise CartError(
                ErrorCode.INVALID_STATE, f"cannot {action}: the cart is {self.state.value}"
            )

    def add_lines(self, lines: Iterable[LineItem], currency_code: str) -> None:
        """Append lines (numbered here); the first item fixes the cart's currency."""
        self._require("add line items", CartState.INITIAL, CartState.ENTERING_ITEMS)
        new = list(lines)
        if len(self.line_items) + len(new) > MAX_LINES:
            raise CartError(ErrorCode.CART_FULL, f"a cart holds at most {MAX_LINES} line items")
        if self.currency_code is None:
            self.currency_code = currency_code
        elif currency_code != self.currency_code:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"the cart is in {self.currency_code}, not {currency_code}",
            )
        private = _memo(self)
        dirty: set[int] | None = private["_dirty"]
        kept: list[str] | None = private["_fragments"]
        for line in new:
            line.line_no = len(self.line_items) + 1
            self.line_items.append(line)
            if dirty is not None:
                dirty.add(line.line_no)
            if kept is not None and len(kept) == line.line_no - 1:
                kept.append(line.document())
        self.state = CartState.ENTERING_ITEMS
        sums: _Sums | None = private["_sums"]
        self._changed(lines=sums is None)
        if sums is not None:
            sums.add(new)
        self._check_amounts(new)

    def _line(self, line_no: int) -> LineItem:
        if not 1 <= line_no <= len(self.line_items):
            raise CartError(ErrorCode.LINE_NOT_FOUND, f"line {line_no} not found")
        line = self.line_items[line_no - 1]
        if line.cancelled:
            raise CartError(ErrorCode.INVALID_STATE, f"line {line_no} is cancelled")
        return line

    def cancel_line(self, line_no: int) -> None:
        self._require("cancel a line item", CartState.ENTERING_ITEMS)
        self._line(line_no).cancelled = True
        self._line_changed(line_no)
        self._changed()
        self._check_amounts([])  # the cart's discounts may now exceed what is left

    def discount_line(self, line_no: int, discounts: list[Discount]) -> None:
        """Replace a line's discounts (each taken of the line's amount)."""
        self._require("discount a line", CartState.ENTERING_ITEMS)
        line = self._line(line_no)
        if line.discount_restricted and discounts:
            raise CartError(
                ErrorCode.DISCOUNT_RESTRICTED,
                f"line {line_no} ({line.item_code}) may not be discounted",
                [{"field": "discounts", "lineNo": line_no}],
            )
        line.discounts = discounts
        self._line_changed(line_no)
        self._changed()
        self._check_amounts([line])

    def discount_cart(self, discounts: list[Discount]) -> None:
        """Replace the cart's own discounts, taken of the net of the lines that may be
        discounted; while paying, only if the card and QR payments still fit the total."""
        self._require("discount the cart", CartState.ENTERING_ITEMS, CartState.PAYING)
        self.discounts = discounts
        self._changed(lines=False)
        self._check_amounts([])
        cashless = sum(p.amount for p in self.payments if p.method is not PaymentMethod.CASH)
        if cashless > self.total:
            raise CartError(
                ErrorCode.INVALID_STATE,
                f"the card and QR payments ({cashless}) would exceed the total: resume item"
                " entry first",
            )

    def change_quantity(self, line_no: int, quantity: int) -> None:
        self._require("change a quantity", CartState.ENTERING_ITEMS)
        line = self._line(line_no)
        line.quantity = quantity
        self._line_changed(line_no)
        self._changed()
        self._check_amounts([line])

    def change_unit_price(self, line_no: int, unit_price: int) -> None:
        """Charge another unit price for a line: an override, as at the scan (the price it was
        scanned at stays `originalUnitPrice`)."""
        self._require("change a unit price", CartState.ENTERING_ITEMS)
        line = self._line(line_no)
        master_price = line.original_unit_price if line.price_overridden else line.unit_price
        if line.discount_restricted and unit_price < (master_price or 0):
            raise CartError(
                ErrorCode.DISCOUNT_RESTRICTED,
                f"line {line_no} may not be discounted: its unit price stays at least "
                f"{master_price}",
            )
        if not line.price_overridden:
            line.original_unit_price = line.unit_price
            line.price_overridden = True
        line.unit_price = unit_price
        self._line_changed(line_no)
        self._changed()
        self._check_amounts([line])

    def resume_item_entry(self) -> None:
        """Back from paying to entering items: the payments taken so far are dropped."""
        self._require("resume item entry", CartState.PAYING)
        self.payments = []
        self.state = CartState.ENTERING_ITEMS
        self._changed(lines=False)

    def _check_amounts(self, changed: Iterable[LineItem]) -> None:
        """Refuse a change that takes a changed line, the subtotal or the total past MAX_AMOUNT
        (the caller drops the changed cart: nothing is saved)."""
        for line in changed:
            if line.amount > MAX_AMOUNT:
                raise CartError(
                    ErrorCode.VALIDATION_ERROR,
                    f"line {line.line_no} would come to more than {MAX_AMOUNT}",
                    [{"field": "quantity", "lineNo": line.line_no}],
                )
        if self.total > MAX_AMOUNT:  # computes the totals: refuses a discount over its base
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"the cart total would come to more than {MAX_AMOUNT}",
                [{"field": "total"}],
            )

    def subtotal_now(self) -> None:
        """Close item entry and start paying."""
        self._require("take the subtotal", CartState.ENTERING_ITEMS)
        if not self.active_lines():
            raise CartError(
                ErrorCode.INVALID_STATE, "cannot take the subtotal: no active line items"
            )
        self.state = CartState.PAYING

    def pay(self, method: PaymentMethod, amount: int) -> None:
        self._require("add a payment", CartState.PAYING)
        if self.balance == 0:
            raise CartError(ErrorCode.INVALID_STATE, "cannot add a payment: nothing is due")
        if len(self.payments) >= MAX_PAYMENTS:
            raise CartError(
                ErrorCode.PAYMENT_INVALID,
                f"a cart takes at most {MAX_PAYMENTS} payments",
                [{"field": "payments"}],
            )
        if method is not PaymentMethod.CASH and amount > self.balance:
            raise CartError(
                ErrorCode.PAYMENT_INVALID,
                f"a {method.value} payment may not exceed the balance of {self.balance}",
            )
        self.payments.append(
            Payment(payment_no=len(self.payments) + 1, method=method, amount=amount)
        )
        self._changed(lines=False)

    def bill(self, now: datetime.datetime) -> None:
        """Complete the transaction; saving it takes the terminal's next receipt number."""
        self._require("bill", CartState.PAYING)
        if self.balance > 0:
            raise CartError(ErrorCode.BALANCE_DUE, f"cannot bill: {self.balance} is still due")
        self.state = CartState.COMPLETED
        self.completed_at = now

    def closes(self) -> bool:
        """Completed or cancelled and not yet saved so: its save takes a receipt number and
        writes its transaction."""
        return self.state in (CartState.COMPLETED, CartState.CANCELLED) and self.receipt_no is None

    def cancel(self) -> None:
        self._require(
            "cancel the cart", CartState.INITIAL, CartState.ENTERING_ITEMS, CartState.PAYING
        )
        self.state = CartState.CANCELLED


# What the header leaves out: the lines, and the computed fields it writes itself.
_NOT_IN_HEADER_FIELDS: Final = {"line_items", *Cart.model_computed_fields}


def _memo(cart: Cart) -> dict[str, Any]:
    return cast(dict[str, Any], cart.__pydantic_private__)


class Receipt(CamelModel):
    """What the printer prints for a completed cart."""

    receipt_no: int
    tenant_id: str
    store_code: str
    terminal_id: str
    completed_at: datetime.datetime
    currency_code: str | None
    line_items: list[LineItem]
    discounts: list[Discount]
    discount_total: int
    discount_allocations: list[DiscountShare]
    subtotal: int
    taxes: list[TaxSummary]
    total: int
    payments: list[Payment]
    paid: int
    change: int
    # Lines sold at a last known copy during a master-data outage (for the store's reconciliation).
    last_known_line_nos: list[int]

    @classmethod
    def of(cls, cart: Cart) -> Receipt:
        if cart.receipt_no is None or cart.completed_at is None:
            raise ValueError("only a completed cart has a receipt")
        return cls(
            receipt_no=cart.receipt_no,
            tenant_id=cart.tenant_id,
            store_code=cart.store_code,
            terminal_id=cart.terminal_id,
            completed_at=cart.completed_at,
            currency_code=cart.currency_code,
            line_items=cart.active_lines(),
            discounts=cart.discounts,
            discount_total=cart.discount_total,
            discount_allocations=cart.discount_allocations,
            subtotal=cart.subtotal,
            taxes=cart.taxes,
            total=cart.total,
            payments=cart.payments,
            paid=cart.paid,
            change=cart.change,
            last_known_line_nos=[
                line.line_no
                for line in cart.active_lines()
                if line.price_source is PriceSource.LAST_KNOWN
            ],
        )
