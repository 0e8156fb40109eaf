"""master-data's one error vocabulary: a code per failure, and one table per edge that shows it
(gRPC status for ItemService, hence its Connect code; HTTP status for the admin API)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from grpclib.const import Status


class ErrorCode(StrEnum):
    """Why a request failed, independent of the edge that carried it."""

    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"  # an item, or a record the admin API names
    TENANT_NOT_FOUND = "tenant_not_found"  # a lookup's tenant_id is no tenant's
    STORE_NOT_FOUND = "store_not_found"  # the tenant has no store of a lookup's store_code
    UNAUTHENTICATED = "unauthenticated"
    ADMIN_DISABLED = "admin_disabled"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_JSON = "invalid_json"
    INVALID_FIELD = "invalid_field"
    VALIDATION_ERROR = "validation_error"
    INVALID_MASTER_FILE = "invalid_master_file"
    UNKNOWN_REFERENCE = "unknown_reference"
    IN_USE = "in_use"  # still named by other entries; or a barcode another item has
    UNAVAILABLE = "unavailable"  # the item store cannot be reached: try again later
    TOO_MANY_WATCHES = "too_many_watches"  # a connection's or a token's watches, at the cap


# ItemService (gRPC, and Connect through services.wire.connect.CODE_OF_STATUS).
GRPC_STATUS: Final[dict[ErrorCode, Status]] = {
    ErrorCode.INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
    ErrorCode.NOT_FOUND: Status.NOT_FOUND,
    ErrorCode.TENANT_NOT_FOUND: Status.NOT_FOUND,
    ErrorCode.STORE_NOT_FOUND: Status.NOT_FOUND,
    ErrorCode.UNAUTHENTICATED: Status.UNAUTHENTICATED,
    ErrorCode.UNAVAILABLE: Status.UNAVAILABLE,
    ErrorCode.TOO_MANY_WATCHES: Status.RESOURCE_EXHAUSTED,
}

# The admin API.
HTTP_STATUS: Final[dict[ErrorCode, int]] = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_FIELD: 400,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.INVALID_MASTER_FILE: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.ADMIN_DISABLED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.TENANT_NOT_FOUND: 404,
    ErrorCode.STORE_NOT_FOUND: 404,
    ErrorCode.UNKNOWN_REFERENCE: 409,
    ErrorCode.IN_USE: 409,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNAVAILABLE: 503,
}


class CatalogError(Exception):
    """An expected failure; message and details are safe to show the caller."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        subject: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.subject = subject  # the code that was not found, for a NOT_FOUND's detail

    def body(self) -> dict[str, Any]:
        """The error shape of the admin API: {"code", "message", "details"?}."""
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body
