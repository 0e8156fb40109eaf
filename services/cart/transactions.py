"""Transactions: the record of every bill and cancel, and of each void and return of a sale.
Pure domain logic, no I/O.

A transaction's own content never changes once written; a sale's status (its void, the
quantities returned of each line) is kept beside it. Amounts are positive: the type says which
way the money went. A return refunds each line's net amount and each rule's tax as sold,
discounts included, in parts that add up exactly to the sale's when every unit has come back.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import Field

from .cart import Cart
from .cart_values import CamelModel, CartState, Payment, PaymentMethod, TaxSummary
from .errors import CartError, ErrorCode
from .tax import Rounding, TaxType

MAX_PAGE_SIZE: Final = 100


class TransactionType(StrEnum):
    SALE = "sale"
    CANCEL = "cancel"
    VOID = "void"
    RETURN = "return"


class TransactionLine(CamelModel):
    """A line as the transaction moved it: `discountAmount` holds the line's own discounts and
    its share of the cart's; `netAmount` is what it came to."""

    line_no: int
    item_code: str
    item_name: str
    unit_price: int
    quantity: int
    amount: int
    discount_amount: int
    net_amount: int
    tax_code: str
    tax_type: TaxType
    tax_rate_basis_points: int
    tax_rounding: Rounding

    def rule_key(self) -> tuple[str, TaxType, int, Rounding]:
        return (self.tax_code, self.tax_type, self.tax_rate_basis_points, self.tax_rounding)


class ReturnedQuantity(CamelModel):
    line_no: int
    quantity: int


class Transaction(CamelModel):
    """One transaction; for a sale, `voidTransactionId` and `returnedQuantities` say what has
    been reversed of it so far."""

    transaction_id: str
    type: TransactionType
    tenant_id: str
    store_code: str
    terminal_id: str
    cart_id: str
    receipt_no: int
    business_date: datetime.date
    created_at: datetime.datetime
    currency_code: str | None
    original_transaction_id: str | None = None  # the sale a void or return reverses
    lines: list[TransactionLine]
    subtotal: int
    discount_total: int
    taxes: list[TaxSummary]
    total: int
    payments: list[Payment]  # taken (sale), or refunded (void, return)
    change: int = 0
    void_transaction_id: str | None = None
    returned_quantities: list[ReturnedQuantity] = Field(default_factory=list)
    # A return refunded by a tender the sale did not take: why (the till policy asks for one).
    refund_reason: str | None = None

    def returned(self) -> dict[int, int]:
        return {r.line_no: r.quantity for r in self.returned_quantities}


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a new void or return is stamped with: its id, the receipt number its terminal
    gave it, the terminal, its business date and time."""

    transaction_id: str
    receipt_no: int
    terminal_id: str
    business_date: datetime.date
    now: datetime.datetime


def _rule_key(tax: TaxSummary) -> tuple[str, TaxType, int, Rounding]:
    return (tax.tax_code, tax.tax_type, tax.rate_basis_points, tax.rounding)


def of_cart(
    cart: Cart, transaction_id: str, business_date: datetime.date, now: datetime.datetime
) -> Transaction:
    """The sale a completed cart made, or the cancel of a cancelled one (it has a receipt
    number by now: the store gave it in the same database transaction)."""
    if cart.receipt_no is None or cart.state not in (CartState.COMPLETED, CartState.CANCELLED):
        raise ValueError("only a closed cart with its receipt number makes a transaction")
    shares = {s.line_no: s.amount for s in cart.discount_allocations}
    lines = [
        TransactionLine(
            line_no=line.line_no,
            item_code=line.item_code,
            item_name=line.item_name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            amount=line.amount,
            discount_amount=line.discount_amount + shares.get(line.line_no, 0),
            net_amount=line.net_amount - shares.get(line.line_no, 0),
            tax_code=line.tax_code,
            tax_type=line.tax_type,
            tax_rate_basis_points=line.tax_rate_basis_points,
            tax_rounding=line.tax_rounding,
        )
        for line in cart.active_lines()
    ]
    return Transaction(
        transaction_id=transaction_id,
        type=TransactionType.SALE if cart.state is CartState.COMPLETED else TransactionType.CANCEL,
        tenant_id=cart.tenant_id,
        store_code=cart.store_code,
        terminal_id=cart.terminal_id,
        cart_id=cart.cart_id,
        receipt_no=cart.receipt_no,
        business_date=business_date,
        created_at=now,
        currency_code=cart.currency_code,
        lines=lines,
        subtotal=cart.subtotal,
        discount_total=cart.discount_total,
        taxes=cart.taxes,
        total=cart.total,
        payments=cart.payments,
        change=cart.change,
    )


def _reversible(sale: Transaction) -> None:
    if sale.type is not TransactionType.SALE:
        raise CartError(
            ErrorCode.INVALID_STATE, f"only a sale can be reversed, not a {sale.type.value}"
        )
    if sale.void_transaction_id is not None:
        raise CartError(
            ErrorCode.INVALID_STATE,
            f"transaction {sale.transaction_id} is voided already (by {sale.void_transaction_id})",
        )


def _reversal(sale: Transaction, kind: TransactionType, stamp: Stamp) -> Transaction:
    return sale.model_copy(
        update={
            "transaction_id": stamp.transaction_id,
            "type": kind,
            "terminal_id": stamp.terminal_id,
            "receipt_no": stamp.receipt_no,
            "business_date": stamp.business_date,
            "created_at": stamp.now,
            "original_transaction_id": sale.transaction_id,
            "change": 0,
            "void_transaction_id": None,
            "returned_quantities": [],
        }
    )


def check_void(sale: Transaction) -> None:
    """Refuse a void of anything but a sale, of a voided one, or of one with returns."""
    _reversible(sale)
    if sale.returned_quantities:
        raise CartError(
            ErrorCode.INVALID_STATE,
            f"transaction {sale.transaction_id} has returns: return the rest instead",
        )


def void_of(sale: Transaction, stamp: Stamp) -> Transaction:
    """The void of a whole sale: every line back, each payment method refunded what it paid
    (cash less the change given)."""
    check_void(sale)
    refunds: dict[PaymentMethod, int] = {}
    for payment in sale.payments:
        refunds[payment.method] = refunds.get(payment.method, 0) + payment.amount
    if sale.change:
        refunds[PaymentMethod.CASH] -= sale.change
    void = _reversal(sale, TransactionType.VOID, stamp)
    void.payments = [
        Payment(payment_no=n, method=method, amount=amount)
        for n, (method, amount) in enumerate(refunds.items(), start=1)
        if amount
    ]
    return void


def check_return(sale: Transaction, asked: Mapping[int, int]) -> None:
    """Refuse a return the sale cannot take: voided, an unknown line, or more than is left."""
    _reversible(sale)
    sold = {line.line_no: line.quantity for line in sale.lines}
    already = sale.returned()
    for line_no, quantity in asked.items():
        if line_no not in sold:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"transaction {sale.transaction_id} has no line {line_no}",
                [{"field": "lines", "lineNo": line_no}],
            )
        left = sold[line_no] - already.get(line_no, 0)
        if quantity > left:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"line {line_no}: {left} of {sold[line_no]} left to return, not {quantity}",
                [{"field": "lines", "lineNo": line_no}],
            )


def _part(whole: int, before: int, after: int, of: int) -> int:
    """The part of `whole` that units before+1 .. after of `of` carry: the parts of every
    unit sum to `whole` exactly."""
    return whole * after // of - whole * before // of


def refund_tender(
    sale: Transaction, asked: PaymentMethod | None, reason: str | None
) -> PaymentMethod:
    """Who a return refunds: the tender asked for when the sale took it; by default the sale's
    own (cash when it took cash, else its first tender); another tender only with a reason."""
    taken = [payment.method for payment in sale.payments]
    if asked is None:
        return PaymentMethod.CASH if PaymentMethod.CASH in taken or not taken else taken[0]
    if asked in taken or reason:
        return asked
    tenders = ", ".join(sorted({method.value for method in taken}))
    raise CartError(
        ErrorCode.VALIDATION_ERROR,
        f"the sale was paid by {tenders}, not {asked.value}: give a refundReason to refund by it",
    )


def return_of(
    sale: Transaction, asked: Mapping[int, int], refund_method: PaymentMethod, stamp: Stamp
) -> Transaction:
    """The return of `asked` (line number -> quantity): each line's net and each rule's tax
    as sold, in the part these units carry, all refunded by `refund_method`."""
    check_return(sale, asked)
    already = sale.returned()
    lines: list[TransactionLine] = []
    before_by_rule: dict[tuple[str, TaxType, int, Rounding], int] = {}
    after_by_rule: dict[tuple[str, TaxType, int, Rounding], int] = {}
    for line in sale.lines:
        before = already.get(line.line_no, 0)
        after = before + asked.get(line.line_no, 0)
        key = line.rule_key()
        before_by_rule[key] = before_by_rule.get(key, 0) + line.net_amount * before // line.quantity
        after_by_rule[key] = after_by_rule.get(key, 0) + line.net_amount * after // line.quantity
        if after == before:
            continue
        amount = _part(line.amount, before, after, line.quantity)
        net = _part(line.net_amount, before, after, line.quantity)
        lines.append(
            line.model_copy(
                update={
                    "quantity": after - before,
                    "amount": amount,
                    "discount_amount": amount - net,
                    "net_amount": net,
                }
            )
        )
    taxes = []
    for tax in sale.taxes:
        key = _rule_key(tax)
        before, after = before_by_rule.get(key, 0), after_by_rule.get(key, 0)
        if after > before:  # then the rule's taxable amount is at least `after`: never 0
            part = _part(tax.tax_amount, before, after, tax.taxable_amount)
            taxes.append(tax.model_copy(update={"taxable_amount": after - before,
                                                "tax_amount": part}))  # fmt: skip
    subtotal = sum(line.net_amount for line in lines)
    external = sum(t.tax_amount for t in taxes if t.tax_type is TaxType.EXTERNAL)
    refund = _reversal(sale, TransactionType.RETURN, stamp)
    refund.lines = lines
    refund.taxes = taxes
    refund.subtotal = subtotal
    refund.discount_total = sum(line.discount_amount for line in lines)
    refund.total = subtotal + external
    refund.payments = [Payment(payment_no=1, method=refund_method, amount=subtotal + external)]
    return refund


def returned_after(sale: Transaction, asked: Mapping[int, int]) -> list[ReturnedQuantity]:
    """The sale's returned quantities once `asked` has come back too, in line order."""
    total = sale.returned()
    for line_no, quantity in asked.items():
        total[line_no] = total.get(line_no, 0) + quantity
    return [ReturnedQuantity(line_no=n, quantity=q) for n, q in sorted(total.items())]
