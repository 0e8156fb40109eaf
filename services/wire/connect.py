"""The Connect protocol's wire details, for server and client alike
(https://connectrpc.com/docs/protocol): codes and HTTP statuses both ways, error bodies,
headers, timeouts, media types, and the envelopes of streaming rpcs.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final

from grpclib.const import Status
from starlette.responses import Response

from .codec import MalformedMessage, MessageTooLarge
from .headers import ascii_digits

JSON: Final = "application/json"
PROTO: Final = "application/proto"
CODECS: Final = (JSON, PROTO)
GET_ENCODINGS: Final = {"json": JSON, "proto": PROTO}
PROTOCOL_VERSION_HEADER: Final = "connect-protocol-version"
TIMEOUT_HEADER: Final = "connect-timeout-ms"
MAX_TIMEOUT_DIGITS: Final = 10  # Connect-Timeout-Ms: "at most 10 digits"
TRAILER_PREFIX: Final = "trailer-"  # a unary reply's trailers travel as prefixed headers
# Streaming: each message is an envelope, a flags byte and a 4-byte big-endian length first.
STREAM_JSON: Final = "application/connect+json"
STREAM_PROTO: Final = "application/connect+proto"
STREAM_CODECS: Final = (STREAM_PROTO, STREAM_JSON)
UNARY_OF_STREAM: Final = {STREAM_JSON: JSON, STREAM_PROTO: PROTO}  # a stream's message codec
STREAM_OF_UNARY: Final = {unary: stream for stream, unary in UNARY_OF_STREAM.items()}
# A stream's message compression (unary calls use HTTP's Content-Encoding / Accept-Encoding).
STREAM_CONTENT_ENCODING_HEADER: Final = "connect-content-encoding"
STREAM_ACCEPT_ENCODING_HEADER: Final = "connect-accept-encoding"
ENVELOPE_PREFIX: Final = 5
COMPRESSED: Final = 0x01
END_STREAM: Final = 0x02


def envelope(flags: int, data: bytes) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def envelope_head(prefix: bytes) -> tuple[int, int]:
    """The flags and the length of an envelope's 5-byte prefix."""
    return prefix[0], int.from_bytes(prefix[1:ENVELOPE_PREFIX], "big")


class Code(StrEnum):
    """Connect error codes; each value is the code's wire string."""

    CANCELED = "canceled"
    UNKNOWN = "unknown"
    INVALID_ARGUMENT = "invalid_argument"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    PERMISSION_DENIED = "permission_denied"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    FAILED_PRECONDITION = "failed_precondition"
    ABORTED = "aborted"
    OUT_OF_RANGE = "out_of_range"
    UNIMPLEMENTED = "unimplemented"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    DATA_LOSS = "data_loss"
    UNAUTHENTICATED = "unauthenticated"


_CODE_NAMES: Final = frozenset(code.value for code in Code)

# "Error Codes": each code's HTTP status.
HTTP_STATUS: Final[dict[Code, int]] = {
    Code.CANCELED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

# "HTTP to Error Code": what a client makes of an error reply that carries no Connect error
# body (a proxy's page, a refusal before the rpc ran). Every other status is UNKNOWN.
CODE_OF_HTTP_STATUS: Final[dict[int, Code]] = {
    400: Code.INTERNAL,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.UNIMPLEMENTED,
    429: Code.UNAVAILABLE,
    502: Code.UNAVAILABLE,
    503: Code.UNAVAILABLE,
    504: Code.UNAVAILABLE,
}

# Connect codes name the gRPC statuses one to one (CANCELLED is spelt "canceled").
CODE_OF_STATUS: Final[dict[Status, Code]] = {
    status: Code.CANCELED if status is Status.CANCELLED else Code(status.name.lower())
    for status in Status
    if status is not Status.OK
}
STATUS_OF_CODE: Final[dict[Code, Status]] = {
    code: status for status, code in CODE_OF_STATUS.items()
}


class ConnectError(Exception):
    """A failed Connect call: its code, a message for the caller, and error details (each
    `{"type", "value"}`, see services.wire.status_details.connect_details)."""

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or []
        self.metadata: list[tuple[str, str]] = []  # the handler's headers, names may repeat

    @classmethod
    def from_status(
        cls, status: Status, message: str | None, details: list[dict[str, str]] | None = None
    ) -> ConnectError:
        code = CODE_OF_STATUS.get(status, Code.UNKNOWN)
        return cls(code, message or code.value, details=details)

    @property
    def status(self) -> Status:
        return STATUS_OF_CODE[self.code]

    def to_response(self) -> Response:
        error: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            error["details"] = self.details
        body = json.dumps(error, ensure_ascii=False)
        response = Response(
            body, status_code=HTTP_STATUS[self.code], media_type=JSON, headers=self.headers
        )
        for name, value in self.metadata:
            response.headers.append(name, value)
        return response


def end_stream(error: ConnectError | None, trailers: list[tuple[str, str]]) -> bytes:
    """The end-stream message that closes every stream: {"error"?, "metadata"?} as JSON."""
    document: dict[str, Any] = {}
    if error is not None:
        failure: dict[str, Any] = {"code": error.code.value}
        if error.message:
            failure["message"] = error.message
        if error.details:
            failure["details"] = error.details
        document["error"] = failure
    metadata: dict[str, list[str]] = {}
    for name, value in trailers:
        metadata.setdefault(name, []).append(value)
    if metadata:
        document["metadata"] = metadata
    return envelope(END_STREAM, json.dumps(document, ensure_ascii=False).encode())


class MalformedEndStream(ValueError):
    """An end-stream message that is not the JSON object the protocol defines."""


def end_stream_error(message: bytes) -> ConnectError | None:
    """The error an end-stream message carries, None when the stream ended well."""
    return read_end_stream(message)[0]


def read_end_stream(message: bytes) -> tuple[ConnectError | None, list[tuple[str, str]]]:
    """An end-stream message's error (None when the stream ended well) and its metadata, the
    stream's trailers (names lower case, values in order)."""
    try:
        document: Any = json.loads(message or b"{}")
        trailers = [(str(name).lower(), str(value))
                    for name, values in (document.get("metadata") or {}).items()
                    for value in values]  # fmt: skip
        error = document.get("error")
        if not error:
            return None, trailers
        name = error.get("code")
        text = str(error.get("message") or "")
        details = _details(error.get("details"))
    except (ValueError, AttributeError, TypeError) as failure:
        raise MalformedEndStream(f"malformed end-stream message: {failure}") from None
    code = Code(name) if name in _CODE_NAMES else Code.UNKNOWN  # the spec: unknown is UNKNOWN
    return ConnectError(code, text or code.value, details=details), trailers


def _details(found: Any) -> list[dict[str, str]]:
    """An error's details as sent: each an object with a string `type` and `value`."""
    details = []
    for detail in found or ():
        if not isinstance(detail.get("type"), str) or not isinstance(detail.get("value"), str):
            raise ValueError("an error detail without a string type and value")
        details.append({"type": detail["type"], "value": detail["value"]})
    return details


def error_from_reply(http_status: int, body: bytes) -> ConnectError:
    """The error an unsuccessful unary reply carries: its JSON error body when it has one,
    else the code the spec derives from the HTTP status."""
    by_status = CODE_OF_HTTP_STATUS.get(http_status, Code.UNKNOWN)
    try:
        error: Any = json.loads(body)
        name = error.get("code")
        code = Code(name) if name in _CODE_NAMES else by_status  # missing, null or unknown
        message = error.get("message") or code.value
        details = _details(error.get("details"))
    except (ValueError, TypeError, AttributeError):
        return ConnectError(by_status, f"HTTP {http_status}")
    return ConnectError(code, str(message), details=details)


def get_query(message: bytes, gzipped: bool) -> str:
    """The query of a Connect GET carrying `message` (binary protobuf, base64url unpadded)."""
    encoded = base64.urlsafe_b64encode(message).decode().rstrip("=")
    compression = "compression=gzip&" if gzipped else ""  # the spec's order of the parameters
    return f"connect=v1&base64=1&{compression}encoding=proto&message={encoded}"


def parse_timeout_ms(value: str | None) -> float | None:
    """Seconds from a Connect-Timeout-Ms header, None when absent."""
    if value is None:
        return None
    milliseconds = ascii_digits(value, MAX_TIMEOUT_DIGITS)
    if milliseconds is None:
        raise ConnectError(
            Code.INVALID_ARGUMENT,
            "Connect-Timeout-Ms must be a positive integer of at most 10 digits",
        )
    return milliseconds / 1000


def format_timeout_ms(seconds: float) -> str:
    """Connect-Timeout-Ms for a deadline `seconds` away (at least 1 ms: 0 would mean none)."""
    return str(min(max(1, math.floor(seconds * 1000)), 10**MAX_TIMEOUT_DIGITS - 1))


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters, lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_message(body: bytes, decode: Callable[[bytes, Any, int], Any], message_type: Any,
                   limit: int) -> Any:  # fmt: skip
    """A request message decoded by a codec, its failures as the Connect codes for them."""
    try:
        return decode(body, message_type, limit)
    except MessageTooLarge as error:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, str(error)) from None
    except MalformedMessage as error:
        raise ConnectError(Code.INVALID_ARGUMENT, str(error)) from None
