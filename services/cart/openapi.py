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
    UnitPriceInput,
)
from .cart import Cart, Receipt

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


def _operation(
    summary: str, ok: int, body: dict[str, Any] | None, response: str, errors: list[int]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {
                "description": "the cart",
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
        [(m, "serialization") for m in (Cart, Receipt)]
        + [
            (m, "validation")
            for m in (LineItemInput, QuantityInput, UnitPriceInput, PaymentInput, DiscountInput)
        ],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    components = dict(schemas.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA
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
        cart + "/cancel": {"post": _operation("Cancel the cart", 200, None, "Cart", [404, 409])},
    }
    for path, item in paths.items():
        parameters = [
            {"name": "X-API-KEY", "in": "header", "required": True, "schema": {"type": "string"}}
        ]
        if "{cartId}" in path:
            parameters.append(
                {"name": "cartId", "in": "path", "required": True, "schema": {"type": "string"}}
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
