"""The cart's JSON as the API shows it and the store keeps it, written from the cart's own
values: the same bytes as pydantic's dump of the cart (a property test holds them equal), at a
fraction of its cost. A line's JSON is written once and kept until the line changes, so a scan
writes one line, not every line the cart holds."""

from __future__ import annotations

import datetime
import functools
import json
from typing import Final

from pydantic import TypeAdapter

from .cart import Cart
from .cart_totals import Totals
from .cart_values import Discount, LineItem, LineScan, Payment
from .tax import TaxRule

_BOOLS: Final = {False: "false", True: "true"}
_TIMES: Final = TypeAdapter(datetime.datetime)
# pydantic escapes exactly as json.dumps without ensure_ascii: quote, backslash, C0 controls.
# Cached: a cart's ids and codes are written at every change.
_string: Final = functools.lru_cache(maxsize=4096)(
    functools.partial(json.dumps, ensure_ascii=False)
)


def _optional(value: str | int | None) -> str:
    if value is None:
        return "null"
    return _string(value) if isinstance(value, str) else str(value)


def _time(value: datetime.datetime | None) -> str:
    return "null" if value is None else _TIMES.dump_json(value).decode()


def document(cart: Cart) -> str:
    """The whole cart, totals included: what the API answers."""
    changes = cart.changes
    whole = changes.document
    if whole is None:
        whole = changes.document = _joined(cart, line_documents(cart))
    return whole


def summary(cart: Cart) -> str:
    """The cart with only the lines the last save wrote (`?view=summary`): what a terminal
    needs back from a scan, whatever the basket's size; `lineCount` says how many it has.
    A cart not saved by lines (a repeated request's kept answer) has them all."""
    changes = cart.changes
    kept = line_documents(cart)
    chosen = kept if changes.unsaved is None else [kept[n - 1] for n in changes.saved_lines]
    return f'{_joined(cart, chosen)[:-1]},"lineCount":{len(kept)}}}'


def header(cart: Cart) -> str:
    """The cart without its lines: what the store keeps in the cart's own row."""
    head, tail = _around_lines(cart)
    return f"{{{head},{tail}}}"


def forget(cart: Cart) -> None:
    """The cart's fields were set outside its methods (a save's version, receipt number)."""
    cart.changes.cart_changed()


def _joined(cart: Cart, lines: list[str]) -> str:
    head, tail = _around_lines(cart)
    return f'{{{head},"lineItems":[{",".join(lines)}],{tail}}}'


def _around_lines(cart: Cart) -> tuple[str, str]:
    """The cart's fields before its lines and after them, written once per change."""
    changes = cart.changes
    around = changes.around_lines
    if around is None:
        around = changes.around_lines = (_head(cart), _tail(cart))
    return around


def _head(cart: Cart) -> str:
    return (
        f'"cartId":{_string(cart.cart_id)},"tenantId":{_string(cart.tenant_id)},'
        f'"storeCode":{_string(cart.store_code)},"terminalId":{_string(cart.terminal_id)},'
        f'"state":"{cart.state.value}","version":{cart.version},'
        f'"currencyCode":{_optional(cart.currency_code)}'
    )


def _tail(cart: Cart) -> str:
    totals = cart.totals()
    return (
        f'"payments":[{",".join(map(_payment, cart.payments))}],'
        f'"discounts":[{",".join(map(_discount, cart.discounts))}],'
        f'"receiptNo":{_optional(cart.receipt_no)},'
        f'"transactionId":{_optional(cart.transaction_id)},'
        f'"createdAt":{_time(cart.created_at)},"updatedAt":{_time(cart.updated_at)},'
        f'"completedAt":{_time(cart.completed_at)},{_totals(totals)}'
    )


def _totals(totals: Totals) -> str:
    taxes = ",".join(f'{{{_rule_row(rule)},"taxableAmount":{amount},"taxAmount":{tax}}}'
                     for rule, amount, tax in totals.rows)  # fmt: skip
    shares = ",".join(f'{{"lineNo":{n},"amount":{a}}}' for n, a in totals.shares.items())
    return (
        f'"subtotal":{totals.subtotal},"taxes":[{taxes}],"total":{totals.total},'
        f'"paid":{totals.paid},"balance":{totals.balance},"change":{totals.change},'
        f'"discountTotal":{totals.discount_total},"discountAllocations":[{shares}]'
    )


def _payment(payment: Payment) -> str:
    return (
        f'{{"paymentNo":{payment.payment_no},"method":"{payment.method.value}",'
        f'"amount":{payment.amount}}}'
    )


def _discount(discount: Discount) -> str:
    return (
        f'{{"type":"{discount.type.value}","value":{discount.value},'
        f'"reason":{_optional(discount.reason)},"amount":{discount.amount}}}'
    )


def line_documents(cart: Cart) -> list[str]:
    """Every line's JSON in line order, written where it changed (or whole, when not in step
    with the lines: a cart just read)."""
    changes = cart.changes
    lines = cart.line_items
    kept = changes.line_json
    if len(kept) != len(lines):
        kept = changes.line_json = [None] * len(lines)
    written: list[str] = []
    for at, item in enumerate(lines):
        json_text = kept[at]
        if json_text is None:
            json_text = kept[at] = line(item)
        written.append(json_text)
    return written


def line(item: LineItem) -> str:
    """One line as the API shows it and the store keeps it in the line's row."""
    amount = item.unit_price * item.quantity if item.scan is None else item.amount
    off = item.discount_amount
    original = _optional(item.original_unit_price)
    return (
        f'{{"lineNo":{item.line_no},{_item(item.item_code, item.item_name, item.category_code)},'
        f'"unitPrice":{item.unit_price},"quantity":{item.quantity},{_line_rule(item.tax_rule())},'
        f'"priceOverridden":{_BOOLS[item.price_overridden]},'
        f'"originalUnitPrice":{original},"cancelled":{_BOOLS[item.cancelled]},'
        f'"priceSource":"{item.price_source.value}",'
        f'"discountRestricted":{_BOOLS[item.discount_restricted]},'
        f'"discounts":[{",".join(map(_discount, item.discounts))}],'
        f'"scan":{"null" if item.scan is None else _scan(item.scan)},'
        f'"amount":{amount},"discountAmount":{off},"netAmount":{amount - off}}}'
    )


@functools.lru_cache(maxsize=4096)
def _scan(scan: LineScan) -> str:
    """A line's scan, written by pydantic whole (a frozen value, so written once per scan)."""
    return scan.model_dump_json(by_alias=True)


@functools.lru_cache(maxsize=4096)
def _item(code: str, name: str, category: str) -> str:
    return (
        f'"itemCode":{_string(code)},"itemName":{_string(name)},"categoryCode":{_string(category)}'
    )


@functools.lru_cache(maxsize=1024)
def _line_rule(rule: TaxRule) -> str:
    return (
        f'"taxCode":{_string(rule.tax_code)},"taxType":"{rule.tax_type.value}",'
        f'"taxRateBasisPoints":{rule.rate_basis_points},"taxRounding":"{rule.rounding.value}"'
    )


@functools.lru_cache(maxsize=1024)
def _rule_row(rule: TaxRule) -> str:
    return (
        f'"taxCode":{_string(rule.tax_code)},"taxType":"{rule.tax_type.value}",'
        f'"rateBasisPoints":{rule.rate_basis_points},"rounding":"{rule.rounding.value}"'
    )
