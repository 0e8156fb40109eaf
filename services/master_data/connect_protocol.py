"""Wire details of the Connect protocol for unary rpcs (https://connectrpc.com/docs/protocol).

One table from gRPC status to Connect code and HTTP status, as the spec maps them.
"""

from __future__ import annotations

import json
from typing import Final

from grpclib.const import Status
from starlette.responses import Response

# Status -> (Connect code, HTTP status): "Error Codes" in the Connect protocol reference.
CONNECT_CODES: Final[dict[Status, tuple[str, int]]] = {
    Status.CANCELLED: ("canceled", 499),
    Status.UNKNOWN: ("unknown", 500),
    Status.INVALID_ARGUMENT: ("invalid_argument", 400),
    Status.DEADLINE_EXCEEDED: ("deadline_exceeded", 504),
    Status.NOT_FOUND: ("not_found", 404),
    Status.ALREADY_EXISTS: ("already_exists", 409),
    Status.PERMISSION_DENIED: ("permission_denied", 403),
    Status.RESOURCE_EXHAUSTED: ("resource_exhausted", 429),
    Status.FAILED_PRECONDITION: ("failed_precondition", 400),
    Status.ABORTED: ("aborted", 409),
    Status.OUT_OF_RANGE: ("out_of_range", 400),
    Status.UNIMPLEMENTED: ("unimplemented", 501),
    Status.INTERNAL: ("internal", 500),
    Status.UNAVAILABLE: ("unavailable", 503),
    Status.DATA_LOSS: ("data_loss", 500),
    Status.UNAUTHENTICATED: ("unauthenticated", 401),
}

JSON: Final = "application/json"
PROTO: Final = "application/proto"
MAX_TIMEOUT_DIGITS: Final = 10  # Connect-Timeout-Ms: "at most 10 digits"


class ConnectError(Exception):
    """A failed Connect call: its status, a message for the caller, and an HTTP status override."""

    def __init__(
        self,
        status: Status,
        message: str,
        *,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status
        self.headers = headers or {}

    def to_response(self) -> Response:
        code, http_status = CONNECT_CODES.get(self.status, ("unknown", 500))
        body = json.dumps({"code": code, "message": self.message}, ensure_ascii=False)
        return Response(
            body,
            status_code=self.http_status or http_status,
            media_type=JSON,
            headers=self.headers,
        )


def parse_timeout_ms(value: str | None) -> float | None:
    """Seconds from a Connect-Timeout-Ms header, None when absent."""
    if value is None:
        return None
    if not value.isdigit() or len(value) > MAX_TIMEOUT_DIGITS:
        raise ConnectError(
            Status.INVALID_ARGUMENT,
            f"Connect-Timeout-Ms must be a positive integer of at most 10 digits, got {value!r}",
        )
    return int(value) / 1000


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters, lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()
