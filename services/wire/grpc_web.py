"""The gRPC-Web protocol (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md) as
bytes: its content types, the grpc-timeout header, a request's one message frame, the
trailers frame (flag 0x80) that ends every reply, and the text mode (`grpc-web-text`: the same
bytes in base64, what Google's grpc-web JavaScript client sends by default). The RPC layer
serves it from the same handlers as Connect and gRPC."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from grpclib.metadata import decode_timeout, encode_grpc_message

from .compression import InflatesTooLarge, NotGzip, gzip_bytes, inflate_gzip, worth_compressing
from .connect import JSON, PROTO, Code, ConnectError
from .status_details import TYPE_URL_PREFIX, detail_value, status_bin_of_packed

TEXT_CONTENT_TYPES: Final = {
    "application/grpc-web-text": PROTO,
    "application/grpc-web-text+proto": PROTO,
}
CONTENT_TYPES: Final = {
    "application/grpc-web": PROTO,
    "application/grpc-web+proto": PROTO,
    "application/grpc-web+json": JSON,
    **TEXT_CONTENT_TYPES,
}
TIMEOUT_HEADER: Final = "grpc-timeout"
ENCODING_HEADER: Final = "grpc-encoding"
ACCEPT_ENCODING_HEADER: Final = "grpc-accept-encoding"
COMPRESSED: Final = 0x01
TRAILERS: Final = 0x80
_PREFIX: Final = 5


# A text body may be several base64 chunks, each padded: split after each run of padding.
_CHUNK_END: Final = re.compile(rb"(?<==)(?=[^=])")


def text_limit(limit: int) -> int:
    """The bytes a text-mode body may take to carry `limit` bytes."""
    return (limit + 2) // 3 * 4


def from_text(body: bytes) -> bytes:
    """A text-mode body's bytes: base64, in one or more padded chunks."""
    try:
        return b"".join(
            binascii.a2b_base64(chunk, strict_mode=True) for chunk in _CHUNK_END.split(body)
        )
    except binascii.Error:
        raise ConnectError(Code.INVALID_ARGUMENT, "the grpc-web-text body is not base64") from None


def to_text(data: bytes) -> bytes:
    """Bytes of a reply in text mode: each chunk padded base64 of its own, as Envoy sends it."""
    return base64.b64encode(data)


def timeout_seconds(value: str | None) -> float | None:
    """Seconds from a grpc-timeout header (e.g. `250m`, `5S`), None when absent."""
    if value is None:
        return None
    if not 2 <= len(value) <= 9 or not value[:-1].isdigit():
        raise ConnectError(Code.INVALID_ARGUMENT, f"invalid grpc-timeout {value!r}")
    try:
        return float(decode_timeout(value))
    except ValueError:
        raise ConnectError(Code.INVALID_ARGUMENT, f"invalid grpc-timeout {value!r}") from None


def request_message(body: bytes, encoding: str, limit: int) -> bytes:
    """The one message of a request body: a frame (flags, 4-byte length, message), inflated
    when its flag says so (with `grpc-encoding: gzip`)."""
    if not body:  # a unary or server-streaming rpc takes one message: UNIMPLEMENTED, as gRPC
        raise ConnectError(Code.UNIMPLEMENTED, "the request holds no message")
    if len(body) < _PREFIX:
        raise ConnectError(Code.INVALID_ARGUMENT, "the request holds no whole message frame")
    flags, length = body[0], int.from_bytes(body[1:_PREFIX], "big")
    if length > limit:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, f"message exceeds the limit of {limit} bytes")
    if len(body) < _PREFIX + length or flags & ~COMPRESSED:
        raise ConnectError(Code.INVALID_ARGUMENT, "the request's message frame is malformed")
    if len(body) > _PREFIX + length:
        raise ConnectError(Code.UNIMPLEMENTED, "the request holds more than one message")
    data = body[_PREFIX:]
    if not flags & COMPRESSED:
        return data
    if encoding != "gzip":
        raise ConnectError(
            Code.INTERNAL, f"a compressed message with grpc-encoding {encoding or 'identity'}"
        )
    try:
        return inflate_gzip(data, limit)
    except NotGzip as error:
        raise ConnectError(Code.INVALID_ARGUMENT, f"message: {error}") from None
    except InflatesTooLarge:
        raise ConnectError(
            Code.RESOURCE_EXHAUSTED, f"message exceeds the limit of {limit} bytes"
        ) from None


def data_frame(data: bytes, gzip: bool) -> bytes:
    flags = 0
    if gzip and worth_compressing(len(data)):
        data, flags = gzip_bytes(data), COMPRESSED
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def trailers_frame(error: ConnectError | None, trailers: list[tuple[str, str]]) -> bytes:
    """The frame that ends a reply: grpc-status, grpc-message and details, then the
    handler's trailers, as HTTP/1 header lines."""
    lines = [f"grpc-status: {0 if error is None else error.status.value}"]
    if error is not None:
        lines.append(f"grpc-message: {encode_grpc_message(error.message)}")
        if error.details:
            packed = [(TYPE_URL_PREFIX + d["type"], detail_value(d)) for d in error.details]
            status = status_bin_of_packed(error.status.value, error.message, packed)
            encoded = base64.b64encode(status).decode().rstrip("=")
            lines.append(f"grpc-status-details-bin: {encoded}")
    lines += [f"{name}: {value}" for name, value in trailers]
    block = "".join(f"{line}\r\n" for line in lines).encode()
    return bytes([TRAILERS]) + len(block).to_bytes(4, "big") + block


def accepts_gzip(header: str | None) -> bool:
    return "gzip" in {e.strip().lower() for e in (header or "").split(",")}
