"""The OpenAPI 3.1 description of the cart API, built from the pydantic models it uses and one
table of its operations: an operationId and a tag each (what a client generator names its
modules and functions after), the terminal key as a security scheme, every header a route reads,
and every status a route answers with the error codes it may carry. The document is committed
(`contracts/openapi/cart.json`, written by `just gen`) and guarded by `just breaking`.

    python -m services.cart.openapi FILE    # write the document
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Final

from pydantic.json_schema import models_json_schema

from services.common.openapi_parts import (
    document,
    error_responses,
    error_schema,
    json_body,
    ref,
    write_document,
)

from .api_models import (
    DISCOUNTS,
    LINE_ITEMS,
    DiscountInput,
    LineItemInput,
    PaymentInput,
    QuantityInput,
    ReturnInput,
    TransactionListInput,
    UnitPriceInput,
)
from .cart import Cart
from .errors import HTTP_STATUS, ErrorCode
from .receipt import Receipt
from .transactions import Transaction

E = ErrorCode
# What every route may answer: no key, too many requests, the cart store away.
EVERY_ROUTE: Final = (E.UNAUTHENTICATED, E.RATE_LIMITED, E.STORAGE_UNAVAILABLE)
A_BODY: Final = (E.VALIDATION_ERROR, E.BODY_TOO_LARGE, E.UNSUPPORTED_MEDIA_TYPE)
A_CHANGE: Final = (
    E.VALIDATION_ERROR,
    E.IDEMPOTENCY_KEY_REUSED,
    E.INVALID_STATE,
    E.VERSION_CONFLICT,
)
A_CART: Final = (E.CART_NOT_FOUND, E.VALIDATION_ERROR)  # the id, or an encoded / in it
A_LINE: Final = (*A_CART, E.LINE_NOT_FOUND)
A_TRANSACTION: Final = (E.TRANSACTION_NOT_FOUND, E.VALIDATION_ERROR)


@dataclass(frozen=True, slots=True)
class Operation:
    """One route of the API as the document describes it."""

    operation_id: str
    tag: str
    method: str
    path: str
    summary: str
    ok: int
    reply: str  # a schema in components
    errors: tuple[ErrorCode, ...]
    body: dict[str, Any] | None = None
    example: Any = None
    changes: bool = True  # takes an Idempotency-Key
    view: bool = True  # takes ?view=summary


CARTS = "/api/v1/carts"
CART = CARTS + "/{cartId}"
LINE = CART + "/lineItems/{lineNo}"
TRANSACTIONS = "/api/v1/transactions"
TRANSACTION = TRANSACTIONS + "/{transactionId}"
ID: Final = {"type": "string", "minLength": 1, "maxLength": 64}


def _header(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": schema,
            "description": description}  # fmt: skip


PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "cartId": {"name": "cartId", "in": "path", "required": True, "schema": ID},
    "lineNo": {"name": "lineNo", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1}},
    "transactionId": {"name": "transactionId", "in": "path", "required": True, "schema": ID},
    "view": {"name": "view", "in": "query", "required": False, "schema": ref("CartView")},
    "Idempotency-Key": _header(
        "Idempotency-Key", {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
        "a key of the caller's choosing (IETF httpapi draft): the same request sent again with"
        " it gets the first answer, never a second change; with another body, 422"),
    "X-Request-Timeout-Ms": _header(
        "X-Request-Timeout-Ms", {"type": "string", "pattern": "^[0-9]{1,9}$"},
        "the caller's time left: the master-data lookups of this request end within it"),
    "traceparent": _header(
        "traceparent", {"type": "string"},
        "W3C trace context (docs/tracing.md): continued when valid, ignored when not"),
    "tracestate": _header("tracestate", {"type": "string"}, "W3C trace context, with traceparent"),
}  # fmt: skip
DISCOUNT_EXAMPLE: Final = [{"type": "percent", "value": 10, "reason": "staff"}]

OPERATIONS: Final = (
    Operation("createCart", "carts", "post", CARTS, "Create a cart", 201, "Cart",
              (E.TOO_MANY_OPEN_CARTS, E.VALIDATION_ERROR, E.IDEMPOTENCY_KEY_REUSED)),
    Operation("getCart", "carts", "get", CART, "Get a cart", 200, "Cart", A_CART,
              changes=False),
    Operation("addLineItems", "line-items", "post", CART + "/lineItems",
              "Add line items (one batch lookup in master-data)", 200, "Cart",
              (*A_CART, *A_BODY, *A_CHANGE, E.ITEM_NOT_FOUND, E.ITEM_INACTIVE, E.CART_FULL,
               E.TENANT_NOT_FOUND, E.STORE_NOT_FOUND, E.MASTER_DATA_REJECTED,
               E.MASTER_DATA_FAILED, E.MASTER_DATA_UNAVAILABLE),
              body=ref("LineItemsInput"), example=[{"itemCode": "ITEM0001", "quantity": 2}]),
    Operation("cancelLineItem", "line-items", "post", LINE + "/cancel", "Cancel a line item",
              200, "Cart", (*A_LINE, *A_CHANGE)),
    Operation("changeLineQuantity", "line-items", "patch", LINE + "/quantity",
              "Change a line's quantity", 200, "Cart",
              (*A_LINE, *A_BODY, *A_CHANGE, E.CART_FULL),
              body=ref("QuantityInput"), example={"quantity": 3}),
    Operation("changeLineUnitPrice", "line-items", "patch", LINE + "/unitPrice",
              "Change a line's unit price (an override; never below the master price of an item"
              " that may not be discounted)", 200, "Cart",
              (*A_LINE, *A_BODY, *A_CHANGE, E.DISCOUNT_RESTRICTED),
              body=ref("UnitPriceInput"), example={"unitPrice": 980}),
    Operation("setLineDiscounts", "line-items", "post", LINE + "/discounts",
              "Replace a line's discounts", 200, "Cart",
              (*A_LINE, *A_BODY, *A_CHANGE, E.DISCOUNT_RESTRICTED),
              body=ref("DiscountsInput"), example=DISCOUNT_EXAMPLE),
    Operation("setCartDiscounts", "carts", "post", CART + "/discounts",
              "Replace the cart's discounts (shared out over its lines by largest remainder)",
              200, "Cart", (*A_CART, *A_BODY, *A_CHANGE, E.DISCOUNT_RESTRICTED),
              body=ref("DiscountsInput"), example=DISCOUNT_EXAMPLE),
    Operation("resumeItemEntry", "carts", "post", CART + "/resume-item-entry",
              "Back from paying to item entry (the payments are dropped)", 200, "Cart",
              (*A_CART, *A_CHANGE)),
    Operation("takeSubtotal", "carts", "post", CART + "/subtotal",
              "Take the subtotal: start paying", 200, "Cart", (*A_CART, *A_CHANGE)),
    Operation("addPayment", "carts", "post", CART + "/payments", "Add a payment", 200, "Cart",
              (*A_CART, *A_BODY, *A_CHANGE, E.PAYMENT_INVALID),
              body=ref("PaymentInput"), example={"method": "cash", "amount": 2000}),
    Operation("billCart", "carts", "post", CART + "/bill",
              "Complete the transaction: the cart with its receipt", 200, "BilledCart",
              (*A_CART, *A_CHANGE, E.BALANCE_DUE), view=False),
    Operation("cancelCart", "carts", "post", CART + "/cancel",
              "Cancel the cart (a cancel transaction with a receipt number)", 200, "Cart",
              (*A_CART, *A_CHANGE)),
    Operation("listTransactions", "transactions", "get", TRANSACTIONS,
              "The store's transactions, newest first", 200, "TransactionPage",
              (E.VALIDATION_ERROR,), changes=False, view=False),
    Operation("getTransaction", "transactions", "get", TRANSACTION, "A transaction", 200,
              "Transaction", A_TRANSACTION, changes=False, view=False),
    Operation("voidTransaction", "transactions", "post", TRANSACTION + "/void",
              "Void a sale (once: 409 after), its payments refunded by method", 201,
              "Transaction", (*A_TRANSACTION, *A_CHANGE), view=False),
    Operation("returnLines", "transactions", "post", TRANSACTION + "/return",
              "Return lines of a sale (never more than sold over every return), refunded to the"
              " sale's own tender unless a refundReason is given", 201, "Transaction",
              (*A_TRANSACTION, *A_BODY, *A_CHANGE),
              body=ref("ReturnInput"), example={"lines": [{"lineNo": 1, "quantity": 1}]},
              view=False),
)  # fmt: skip


# Where an answer leads (OpenAPI links): a generated client's docs and a stateful fuzzer follow
# them from a new cart to its lines, its bill, and the sale's void and return.
CART_ID: Final = {"cartId": "$response.body#/cartId"}
FIRST_LINE: Final = {**CART_ID, "lineNo": "$response.body#/lineItems/0/lineNo"}
SALE: Final = {"transactionId": "$response.body#/transactionId"}
LINKS: Final[dict[str, list[tuple[str, dict[str, str]]]]] = {
    "createCart": [(op, CART_ID) for op in ("getCart", "addLineItems", "setCartDiscounts",
                                             "takeSubtotal", "cancelCart")],
    "addLineItems": [*((op, FIRST_LINE) for op in ("cancelLineItem", "changeLineQuantity",
                                                    "changeLineUnitPrice", "setLineDiscounts")),
                     ("takeSubtotal", CART_ID)],
    "takeSubtotal": [("addPayment", CART_ID), ("resumeItemEntry", CART_ID)],
    "addPayment": [("billCart", CART_ID)],
    "billCart": [(op, SALE) for op in ("getTransaction", "voidTransaction", "returnLines")],
}  # fmt: skip


def _schemas() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "serialization") for m in (Cart, Receipt, Transaction)]
        + [
            (m, "validation")
            for m in (
                LineItemInput,
                QuantityInput,
                UnitPriceInput,
                PaymentInput,
                DiscountInput,
                ReturnInput,
            )
        ],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    components = dict(schemas.get("$defs", {}))
    for name, adapter in (("LineItemsInput", LINE_ITEMS), ("DiscountsInput", DISCOUNTS)):
        schema = adapter.json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        components[name] = schema
    components["Error"] = error_schema(ErrorCode)
    components["CartView"] = {
        "type": "string",
        "enum": ["full", "summary"],
        "default": "full",
        "description": "full: the whole cart; summary: the cart with only the lines this"
        " request changed in lineItems, and lineCount",
    }
    components["TransactionPage"] = {
        "type": "object",
        "required": ["transactions"],
        "properties": {
            "transactions": {"type": "array", "items": ref("Transaction")},
            "nextPage": {"type": "integer", "description": "absent on the last page"},
        },
    }
    components["BilledCart"] = {
        "allOf": [ref("Cart"), {"type": "object", "properties": {"receipt": ref("Receipt")}}]
    }
    return components


def _list_parameters() -> list[dict[str, Any]]:
    """The query of GET /transactions, from the model that reads it."""
    schema = TransactionListInput.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    parameters = []
    for name, given in schema["properties"].items():
        field = {k: v for k, v in given.items() if k not in ("title", "anyOf")}
        if "anyOf" in given:  # optional: `X | None`, absent rather than null in a query
            field = next(s for s in given["anyOf"] if s.get("type") != "null") | field
            field.pop("default", None)
        parameters.append({"name": name, "in": "query", "required": False, "schema": field})
    return parameters


def _operation(op: Operation) -> dict[str, Any]:
    names = [n for n in ("cartId", "lineNo", "transactionId") if "{" + n + "}" in op.path]
    if op.view:
        names.append("view")
    if op.changes:
        names.append("Idempotency-Key")
    if op.operation_id == "addLineItems":
        names.append("X-Request-Timeout-Ms")
    names += ["traceparent", "tracestate"]
    parameters = [PARAMETERS[n] for n in names]
    if op.operation_id == "listTransactions":
        parameters += _list_parameters()
    errors = tuple(dict.fromkeys((*EVERY_ROUTE, *op.errors)))
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": parameters,
        "responses": {
            str(op.ok): json_body(f"the {op.reply}", ref(op.reply)),
            **error_responses(errors, HTTP_STATUS),
        },
    }
    if op.operation_id in LINKS:
        operation["responses"][str(op.ok)]["links"] = {
            target: {"operationId": target, "parameters": parameters}
            for target, parameters in LINKS[op.operation_id]
        }
    if op.body is not None:
        operation["requestBody"] = json_body("", op.body, op.example) | {"required": True}
    return operation


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return document(
        "kugel cart API",
        "The till's API: carts, their lines, payments and transactions (docs/cart.md). Money"
        " is integer minor units of the tenant's currency.",
        {
            "carts": "a cart from creation to its bill or cancel",
            "line-items": "the lines of a cart",
            "transactions": "completed sales, voids and returns",
        },
        ("terminalKey", {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                         "description": "the terminal's key (`cart terminals add`)"}),
        paths=paths,
        schemas=_schemas(),
    )  # fmt: skip


if __name__ == "__main__":
    write_document(openapi_document(), sys.argv[1])
