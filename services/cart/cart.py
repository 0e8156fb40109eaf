"""The cart: its line items, payments and states. Pure domain logic, no I/O.

States: initial -> entering_items -> paying -> completed, or cancelled from any open state.
Amounts are integer minor units of the cart's currency. Its JSON is written by `cart_json`,
its rows saved by way of `cart_saving`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from .cart_changes import CartChanges
from .cart_totals import Tally, Totals, take
from .cart_values import (
    MAX_AMOUNT,
    MAX_LINES,
    MAX_PAYMENTS,
    CamelModel,
    CartState,
    Discount,
    DiscountShare,
    LineItem,
    Payment,
    PaymentMethod,
    TaxSummary,
    computed,
)
from .errors import CartError, ErrorCode


class Cart(CamelModel):
    """A cart of one terminal; `version` grows with every saved change."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    cart_id: str
    tenant_id: str
    store_code: str
    terminal_id: str
    state: CartState = CartState.INITIAL
    version: int = 0
    currency_code: str | None = None
    line_items: list[LineItem] = []
    payments: list[Payment] = []
    discounts: list[Discount] = []  # on the whole cart
    receipt_no: int | None = None
    transaction_id: str | None = None  # of the sale or cancel that closed the cart
    created_at: datetime.datetime
    updated_at: datetime.datetime
    completed_at: datetime.datetime | None = None
    # Kept in process, never written: its totals, and what changed since its last save.
    tally: SkipJsonSchema[Tally] = Field(default_factory=Tally, exclude=True, repr=False)
    changes: SkipJsonSchema[CartChanges] = Field(
        default_factory=CartChanges, exclude=True, repr=False
    )

    # -- totals -------------------------------------------------------------------------------

    def totals(self) -> Totals:
        return self.tally.totals or self.tally.count(self.line_items, self.discounts, self.payments)

    def _changed(self, *, lines: bool = True) -> None:
        """Forget what a change made stale: totals and JSON; the taxable sums if `lines`."""
        self.tally.forget(lines=lines)
        self.changes.cart_changed()

    def _line_changed(self, line_no: int) -> None:
        """A line changed: its discounts taken of its amount anew, saved and written anew."""
        line = self.line_items[line_no - 1]
        if line.discounts:
            take(line.discounts, line.amount, f"line {line_no}")
        self.changes.line_changed(line_no)
        self._changed()

    def active_lines(self) -> list[LineItem]:
        return [line for line in self.line_items if not line.cancelled]

    def _subtotal(self) -> int:
        """The sum of the active lines' amounts less every discount (internal tax included,
        external not): what tax is computed on."""
        return self.totals().subtotal

    def _taxes(self) -> list[TaxSummary]:
        return self.totals().taxes()

    def _total(self) -> int:
        """What the customer pays: subtotal plus external tax."""
        return self.totals().total

    def _paid(self) -> int:
        return self.totals().paid

    def _balance(self) -> int:
        return self.totals().balance

    def _change(self) -> int:
        return self.totals().change

    def _discount_total(self) -> int:
        """Every discount of the active lines and of the cart: subtotal + discountTotal is
        the sum of the active lines' amounts."""
        return self.totals().discount_total

    def _discount_allocations(self) -> list[DiscountShare]:
        """How the cart's own discounts are shared out over its lines."""
        shares = self.totals().shares
        return [DiscountShare.model_construct(line_no=n, amount=a) for n, a in shares.items()]

    subtotal = computed(_subtotal)
    taxes = computed(_taxes)
    total = computed(_total)
    paid = computed(_paid)
    balance = computed(_balance)
    change = computed(_change)
    discount_total = computed(_discount_total)
    discount_allocations = computed(_discount_allocations)

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
        for line in new:
            line.line_no = len(self.line_items) + 1
            self.line_items.append(line)
            self.changes.line_added(line.line_no)
        self.state = CartState.ENTERING_ITEMS
        sums = self.tally.sums
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
        if line.scan is not None and line.scan.net_weight is not None:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"line {line_no} is weighed: its quantity is its weight (cancel it, weigh again)",
                [{"field": "quantity", "lineNo": line_no}],
            )
        line.quantity = quantity
        self._line_changed(line_no)
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
