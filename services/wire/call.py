"""What a handler may know and say about its call beyond messages, the same on gRPC and Connect:
the request's headers and timeout (and a Connect GET's query), the response headers and
trailers it wants sent, and error details.

The edge that runs a handler (`grpc_server._framed`, `ConnectEndpoint`) opens a `CallInfo` for
the call; the handler reads and fills it through `current_call()`. Details travel on
`GRPCError(status, message, details=[message, ...])`, encoded by `details` below: gRPC's
`grpc-status-details-bin` (a google.rpc.Status) and Connect's error `details`.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import betterproto2
from grpclib.const import Status
from grpclib.encoding.base import StatusDetailsCodecBase

TYPE_URL_PREFIX: Final = "type.googleapis.com/"
STATUS_DETAILS_HEADER: Final = "grpc-status-details-bin"


@dataclass
class CallInfo:
    """One call as its handler sees it. Header names are lower case; a name may repeat.

    `headers` is the transport's own mapping (Starlette's Headers, grpclib's metadata), read
    into pairs only when a handler asks: a lookup that never looks costs nothing for it."""

    headers: Any
    timeout_seconds: float | None = None
    get_query: list[tuple[str, str]] | None = None  # a Connect GET's query parameters
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_trailers: list[tuple[str, str]] = field(default_factory=list)
    # Streaming calls: sends the response headers now, before the first message.
    send_headers: Callable[[], Awaitable[None]] | None = None

    @property
    def request_headers(self) -> list[tuple[str, str]]:
        return list(self.headers.items())

    async def headers_now(self) -> None:
        """Send the response headers set so far at once (streaming calls; else a no-op)."""
        if self.send_headers is not None:
            await self.send_headers()


_current: ContextVar[CallInfo | None] = ContextVar("call", default=None)


@contextmanager
def opened(call: CallInfo) -> Iterator[CallInfo]:
    """Make `call` the current one for the handler run inside."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


def current_call() -> CallInfo:
    """The call the running handler serves (a handler outside any call gets an empty one)."""
    call = _current.get()
    if call is None:
        call = CallInfo(headers={})
        _current.set(call)
    return call


def _packed(detail: Any) -> tuple[str, bytes]:
    """A detail's type URL and binary value; a google.protobuf.Any passes as it is."""
    if type_name(detail) == "google.protobuf.Any":
        return str(detail.type_url), bytes(detail.value)
    return TYPE_URL_PREFIX + type_name(detail), bytes(detail)


def type_name(message: betterproto2.Message) -> str:
    """The message's full proto name (generated classes carry their descriptor)."""
    return str(getattr(type(message), "DESCRIPTOR").full_name)  # noqa: B009 - not in its stub


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def status_details_bin(code: int, message: str, details: Sequence[Any]) -> bytes:
    """google.rpc.Status {code = 1; message = 2; repeated google.protobuf.Any details = 3} in
    the binary encoding, for `grpc-status-details-bin`. (Three fields: written here rather than
    taking a dependency on googleapis-common-protos for them.)"""
    out = bytearray()
    if code:
        out += _varint(1 << 3 | 0) + _varint(code)
    if message:
        out += _field(2, message.encode())
    for detail in details:
        type_url, value = _packed(detail)
        out += _field(3, _field(1, type_url.encode()) + _field(2, value))
    return bytes(out)


def connect_details(details: Sequence[Any]) -> list[dict[str, str]]:
    """Connect's error `details`: each message's type and binary value (base64, unpadded)."""
    encoded = []
    for detail in details:
        type_url, value = _packed(detail)
        encoded.append(
            {
                "type": type_url.rpartition("/")[2],
                "value": base64.b64encode(value).decode().rstrip("="),
            }
        )
    return encoded


class StatusDetailsCodec(StatusDetailsCodecBase):
    """grpclib's hook for `grpc-status-details-bin`: GRPCError.details (betterproto2 messages)
    as a google.rpc.Status."""

    def encode(self, status: Status, message: str | None, details: Any) -> bytes:
        return status_details_bin(status.value, message or "", list(details or ()))

    def decode(self, status: Status, message: str | None, data: bytes) -> Any:
        raise NotImplementedError("a server only sends status details")
