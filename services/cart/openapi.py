"""The OpenAPI 3.1 description of the cart API, built from the pydantic models it uses."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .api_models import (
    DISCOUNTS,
    LINE_ITEMS,
    DiscountInput,
    LineItemInput,
    PaymentInput,
    QuantityInput,
    ReturnInput,
    UnitPriceInput,
)
from .cart import Cart, Receipt
from .transactions import MAX_PAGE_SIZE, Transaction, TransactionType

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "stable error code, e.g. invalid_state"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}


VIEW_PARAMETER = {
    "name": "view",
    "in": "query",
    "required": False,
    "description": "full (the default): the whole cart; summary: the cart with only the lines "
    "this request changed in lineItems, and lineCount",
    "schema": {"type": "string", "enum": ["full", "summary"], "default": "full"},
}


def ref_to(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


LIST_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("businessDate", {"type": "string", "format": "date"}),
        ("receiptNo", {"type": "integer", "minimum": 1}),
        ("type", {"type": "string", "enum": [t.value for t in TransactionType]}),
        ("terminalId", {"type": "string"}),
        ("page", {"type": "integer", "minimum": 1, "default": 1}),
        ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20}),
    )
]


def _operation(
    summary: str, ok: int, body: dict[str, Any] | None, response: str, errors: list[int]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {
                "description": f"the {response}",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}
                },
            },
            **{
                str(status): {
                    "description": "error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for status in [401, *errors]
            },
        },
    }
    if response == "Cart":
        operation["parameters"] = [VIEW_PARAMETER]
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def openapi_document() -> dict[str, Any]:
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
    components["Error"] = ERROR_SCHEMA
    components["TransactionPage"] = {
        "type": "object",
        "required": ["transactions"],
        "properties": {
            "transactions": {"type": "array", "items": ref_to("Transaction")},
            "nextPage": {"type": "integer", "description": "absent on the last page"},
        },
    }
    components["BilledCart"] = {
        "allOf": [
            {"$ref": "#/components/schemas/Cart"},
            {"type": "object", "properties": {"receipt": {"$ref": "#/components/schemas/Receipt"}}},
        ]
    }
    line_items = LINE_ITEMS.json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    line_items.pop("$defs", None)
    discounts = DISCOUNTS.json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    discounts.pop("$defs", None)
    ref = {"$ref": "#/components/schemas/{}"}
    cart = "/api/v1/carts/{cartId}"
    line = cart + "/lineItems/{lineNo}"
    paths: dict[str, Any] = {
        "/api/v1/carts": {"post": _operation("Create a cart", 201, None, "Cart", [])},
        cart: {"get": _operation("Get a cart", 200, None, "Cart", [404])},
        cart + "/lineItems": {
            "post": _operation(
                "Add line items (one batch lookup)",
                200,
                line_items,
                "Cart",
                [400, 404, 409, 413, 502, 503],
            )
        },
        line + "/cancel": {"post": _operation("Cancel a line item", 200, None, "Cart", [404, 409])},
        line + "/quantity": {
            "patch": _operation(
                "Change a line's quantity",
                200,
                {"$ref": ref["$ref"].format("QuantityInput")},
                "Cart",
                [400, 404, 409],
            )
        },
        line + "/unitPrice": {
            "patch": _operation(
                "Change a line's unit price (an override)",
                200,
                {"$ref": ref["$ref"].format("UnitPriceInput")},
                "Cart",
                [400, 404, 409],
            )
        },
        line + "/discounts": {
            "post": _operation(
                "Replace a line's discounts (400 discount_restricted for an item that may not be"
                " discounted)",
                200,
                discounts,
                "Cart",
                [400, 404, 409],
            )
        },
        cart + "/discounts": {
            "post": _operation(
                "Replace the cart's discounts (shared out over its lines by largest remainder)",
                200,
                discounts,
                "Cart",
                [400, 404, 409],
            )
        },
        cart + "/resume-item-entry": {
            "post": _operation(
                "Back from paying to item entry (the payments are dropped)",
                200,
                None,
                "Cart",
                [404, 409],
            )
        },
        cart + "/subtotal": {
            "post": _operation("Take the subtotal: start paying", 200, None, "Cart", [404, 409])
        },
        cart + "/payments": {
            "post": _operation(
                "Add a payment",
                200,
                {"$ref": ref["$ref"].format("PaymentInput")},
                "Cart",
                [400, 404, 409],
            )
        },
        cart + "/bill": {
            "post": _operation("Complete the transaction", 200, None, "BilledCart", [404, 409])
        },
        cart + "/cancel": {
            "post": _operation(
                "Cancel the cart (a cancel transaction with a receipt number)",
                200,
                None,
                "Cart",
                [404, 409],
            )
        },
        "/api/v1/transactions": {
            "get": _operation(
                "The store's transactions, newest first", 200, None, "TransactionPage", [400]
            )
        },
        "/api/v1/transactions/{transactionId}": {
            "get": _operation("A transaction", 200, None, "Transaction", [404])
        },
        "/api/v1/transactions/{transactionId}/void": {
            "post": _operation(
                "Void a sale (once: 409 after), its payments refunded by method",
                201,
                None,
                "Transaction",
                [404, 409],
            )
        },
        "/api/v1/transactions/{transactionId}/return": {
            "post": _operation(
                "Return lines of a sale (never more than sold over every return)",
                201,
                {"$ref": ref["$ref"].format("ReturnInput")},
                "Transaction",
                [400, 404, 409],
            )
        },
    }
    paths["/api/v1/transactions"]["get"]["parameters"] = LIST_PARAMETERS
    for path, item in paths.items():
        parameters = [
            {"name": "X-API-KEY", "in": "header", "required": True, "schema": {"type": "string"}}
        ]
        if "{cartId}" in path:
            parameters.append(
                {"name": "cartId", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if "{transactionId}" in path:
            parameters.append(
                {
                    "name": "transactionId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            )
        if "{lineNo}" in path:
            parameters.append(
                {
                    "name": "lineNo",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            )
        for operation in item.values():
            operation["parameters"] = [*parameters, *operation.get("parameters", [])]
    return {
        "openapi": "3.1.0",
        "info": {"title": "kugel cart API", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": components},
    }
