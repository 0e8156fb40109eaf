"""The cart's one error vocabulary: a stable code per failure, mapped once to an HTTP status."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes of the cart API (clients may switch on them)."""

    VALIDATION_ERROR = "validation_error"
    ITEM_INACTIVE = "item_inactive"
    PAYMENT_INVALID = "payment_invalid"
    CART_FULL = "cart_full"
    DISCOUNT_RESTRICTED = "discount_restricted"
    UNAUTHENTICATED = "unauthenticated"
    CART_NOT_FOUND = "cart_not_found"
    TRANSACTION_NOT_FOUND = "transaction_not_found"
    ITEM_NOT_FOUND = "item_not_found"
    TENANT_NOT_FOUND = "tenant_not_found"  # master-data has no tenant of the terminal's
    STORE_NOT_FOUND = "store_not_found"  # ... or no store of the terminal's
    LINE_NOT_FOUND = "line_not_found"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INVALID_STATE = "invalid_state"
    VERSION_CONFLICT = "version_conflict"
    BALANCE_DUE = "balance_due"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    TOO_MANY_OPEN_CARTS = "too_many_open_carts"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    MASTER_DATA_REJECTED = "master_data_rejected"
    MASTER_DATA_FAILED = "master_data_failed"
    MASTER_DATA_UNAVAILABLE = "master_data_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.ITEM_INACTIVE: 400,
    ErrorCode.PAYMENT_INVALID: 400,
    ErrorCode.CART_FULL: 400,
    ErrorCode.DISCOUNT_RESTRICTED: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.CART_NOT_FOUND: 404,
    ErrorCode.TRANSACTION_NOT_FOUND: 404,
    ErrorCode.ITEM_NOT_FOUND: 404,
    ErrorCode.TENANT_NOT_FOUND: 404,
    ErrorCode.STORE_NOT_FOUND: 404,
    ErrorCode.LINE_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.VERSION_CONFLICT: 409,
    ErrorCode.BALANCE_DUE: 409,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.TOO_MANY_OPEN_CARTS: 409,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.MASTER_DATA_REJECTED: 502,
    ErrorCode.MASTER_DATA_FAILED: 502,
    ErrorCode.MASTER_DATA_UNAVAILABLE: 503,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
}


class CartError(Exception):
    """An expected failure; message and details are safe to show the caller."""

    def __init__(
        self, code: ErrorCode, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body
