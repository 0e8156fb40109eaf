"""gRPC wire details grpclib leaves to us: strict codecs (proto and JSON) with a size limit, and
request and reply frames read and written here, with message compression.

grpclib reads a request frame with `assert` and `NotImplementedError` (for the compressed flag)
and has no message compression (its upstream issue 199). `read_frame` reads the 5-byte prefix
itself (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, Length-Prefixed
Message), refuses a length over the limit before reading the body, raises `MalformedFrame` for a
bad frame and inflates gzip requests; `frame` compresses a reply when the client accepts it
(https://github.com/grpc/grpc/blob/master/doc/compression.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import betterproto2
from google.protobuf import json_format
from grpclib.const import Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError

from .codec import (
    MalformedMessage,
    MessageTooLarge,
    check_size,
    decode_binary,
    decode_json,
    encode_binary,
    encode_json,
)
from .compression import InflatesTooLarge, NotGzip, gzip_bytes, inflate_gzip, worth_compressing
from .encoded_forms import EncodedForms

PREFIX_BYTES: Final = 5
GZIP: Final = "gzip"
IDENTITY: Final = "identity"
ENCODINGS: Final = (GZIP, IDENTITY)  # what we read and write, in our order of preference
ACCEPT_ENCODING: Final = ",".join(ENCODINGS)


def _decoded(decode: Callable[[], Any]) -> Any:
    try:
        return decode()
    except MessageTooLarge as error:
        raise GRPCError(Status.RESOURCE_EXHAUSTED, str(error)) from None
    except (MalformedMessage, json_format.ParseError, ValueError) as error:
        raise GRPCError(Status.INVALID_ARGUMENT, str(error)) from None


class StrictProtoCodec(CodecBase):
    """grpclib codec over `encode_binary`/`decode_binary`, with a size limit on decoding.

    Messages of the official runtime (health, reflection) pass through unchanged; messages of
    `known` are copied in their ready form.
    """

    __content_subtype__ = "proto"

    def __init__(self, max_message_bytes: int, known: EncodedForms | None = None) -> None:
        self._limit = max_message_bytes
        self._known = known

    def encode(self, message: Any, message_type: Any) -> bytes:
        if isinstance(message, betterproto2.Message):
            return encode_binary(message, self._known)
        return message.SerializeToString()  # type: ignore[no-any-return]

    def decode(self, data: bytes, message_type: Any) -> Any:
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            return _decoded(lambda: decode_binary(data, message_type, self._limit))
        _decoded(lambda: check_size(len(data), self._limit))
        return _decoded(lambda: message_type.FromString(data))


class StrictJsonCodec(StrictProtoCodec):
    """`application/grpc+json`: the same proto3 JSON mapping as Connect's JSON."""

    __content_subtype__ = "json"

    def encode(self, message: Any, message_type: Any) -> bytes:
        if isinstance(message, betterproto2.Message):
            return encode_json(message, self._known)
        return json_format.MessageToJson(message, indent=None).encode()

    def decode(self, data: bytes, message_type: Any) -> Any:
        if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
            return _decoded(lambda: decode_json(data, message_type, self._limit))
        _decoded(lambda: check_size(len(data), self._limit))
        return _decoded(lambda: json_format.Parse(data, message_type()))


class MalformedFrame(GRPCError):
    """The request's bytes are not a gRPC length-prefixed message: INTERNAL, per the spec."""

    def __init__(self, reason: str) -> None:
        super().__init__(Status.INTERNAL, "malformed message frame")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Compression:
    """How one call's messages travel: the request's grpc-encoding, and whether replies may be
    gzip-compressed (the client's grpc-accept-encoding names gzip)."""

    request_gzip: bool = False
    reply_gzip: bool = False


def inflate(data: bytes, limit: int) -> bytes:
    """A gzip message, inflated to at most `limit` bytes (a small bomb stays small)."""
    try:
        return inflate_gzip(data, limit)
    except NotGzip as error:
        raise MalformedFrame(f"compressed message: {error}") from None
    except InflatesTooLarge as error:
        raise GRPCError(Status.RESOURCE_EXHAUSTED, f"message {error}") from None


class PartialBudget:
    """Bytes of request messages announced at their prefix and not yet whole, for one
    connection and, through `parent`, the process: a client that announces large messages and
    never finishes them holds at most this much here."""

    def __init__(self, limit: int, parent: PartialBudget | None = None) -> None:
        self.limit = limit
        self.held = 0
        self._parent = parent

    def reserve(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        if self._parent is not None and not self._parent.reserve(size):
            return False
        self.held += size
        return True

    def release(self, size: int) -> None:
        self.held -= size
        if self._parent is not None:
            self._parent.release(size)


async def read_frame(
    stream: Any, limit: int, compression: Compression, budget: PartialBudget | None = None
) -> bytes | None:
    """One length-prefixed message from a grpclib protocol stream; None at the end of stream.
    Its announced length is held against `budget` until the message is whole."""
    prefix: bytes = await stream.recv_data(PREFIX_BYTES)
    if not prefix:
        return None
    if len(prefix) < PREFIX_BYTES:
        raise MalformedFrame(f"length prefix cut short at {len(prefix)} bytes")
    if prefix[0] > 1:
        raise MalformedFrame(f"compressed flag {prefix[0]}")
    if prefix[0] == 1 and not compression.request_gzip:
        raise MalformedFrame("compressed flag set, but no grpc-encoding")
    length = int.from_bytes(prefix[1:], "big")
    if length > limit:
        raise GRPCError(
            Status.RESOURCE_EXHAUSTED,
            f"message of {length} bytes exceeds the limit of {limit} bytes",
        )
    if budget is not None and not budget.reserve(length):
        raise GRPCError(
            Status.RESOURCE_EXHAUSTED,
            "too many request bytes are arriving at once: send fewer messages at a time",
        )
    try:
        data: bytes = await stream.recv_data(length)
    finally:
        if budget is not None:
            budget.release(length)
    if len(data) != length:
        raise MalformedFrame(f"message cut short: {len(data)} of {length} bytes")
    return inflate(data, limit) if prefix[0] == 1 else data


def frame(message: bytes, gzip: bool) -> bytes:
    """A length-prefixed message, compressed when `gzip` and worth it."""
    flag = 0
    if gzip and worth_compressing(len(message)):
        message, flag = gzip_bytes(message), 1
    return bytes([flag]) + len(message).to_bytes(4, "big") + message
