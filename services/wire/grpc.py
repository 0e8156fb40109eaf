"""gRPC wire details grpclib leaves to us: strict codecs (proto and JSON) with a size limit, and
request and reply frames read and written here, with message compression.

grpclib reads a request frame with `assert` and `NotImplementedError` (for the compressed flag)
and has no message compression (its upstream issue 199). `WireStream` wraps grpclib's server
Stream for one call: it reads the 5-byte prefix itself
(https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, Length-Prefixed Message),
refuses a length over the limit before reading the body, raises `MalformedFrame` for a bad
frame, inflates gzip requests, and answers gzip-compressed when the client accepts it
(https://github.com/grpc/grpc/blob/master/doc/compression.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import betterproto2
from google.protobuf import json_format
from grpclib.const import Handler, Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError, ProtocolError
from grpclib.metadata import encode_metadata

from .call import CallInfo
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
HandlerFunc = Callable[[Any], Awaitable[None]]


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


async def read_frame(stream: Any, limit: int, compression: Compression) -> bytes | None:
    """One length-prefixed message from a grpclib protocol stream; None at the end of stream."""
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
    data: bytes = await stream.recv_data(length)
    if len(data) != length:
        raise MalformedFrame(f"message cut short: {len(data)} of {length} bytes")
    return inflate(data, limit) if prefix[0] == 1 else data


def frame(message: bytes, gzip: bool) -> bytes:
    """A length-prefixed message, compressed when `gzip` and worth it."""
    flag = 0
    if gzip and worth_compressing(len(message)):
        message, flag = gzip_bytes(message), 1
    return bytes([flag]) + len(message).to_bytes(4, "big") + message


class WireStream:
    """grpclib's server Stream for one call, its messages read and written by us, with the
    response headers and trailers its handler set on the call (`services.wire.call`)."""

    def __init__(
        self,
        stream: Any,
        limit: int,
        compression: Compression,
        call: CallInfo | None = None,
        send_timeout: float | None = None,
    ) -> None:
        self._stream = stream
        self._limit = limit
        self._compression = compression
        self._call = call
        self._send_timeout = send_timeout  # server streaming: how long one message may wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    # grpclib's Stream keeps its protocol stream, codec, types and send state private; these
    # three methods do what its own do, with our framing (grpclib is pinned below 0.5).

    async def recv_message(self) -> Any:
        s = self._stream
        data = await read_frame(s._stream, self._limit, self._compression)
        if not s._cardinality.client_streaming:
            # One request message, then the end of the stream (as grpc-go checks it).
            if data is None:
                raise GRPCError(Status.UNIMPLEMENTED, "a unary rpc needs one request message")
            if await read_frame(s._stream, self._limit, self._compression) is not None:
                raise GRPCError(Status.UNIMPLEMENTED, "a unary rpc takes one request message")
        if data is None:
            return None
        s._messages_received += 1
        return s._codec.decode(data, s._recv_type)

    async def send_initial_metadata(self, *, metadata: Any = None) -> None:
        s = self._stream
        if s._send_initial_metadata_done:
            raise ProtocolError("Initial metadata was already sent")
        headers = [(":status", "200"), ("content-type", s._content_type)]
        if self._compression.reply_gzip:
            headers.append(("grpc-encoding", GZIP))
        headers.append(("grpc-accept-encoding", ACCEPT_ENCODING))
        headers.extend(encode_metadata(metadata or ()))
        if self._call is not None:
            headers.extend(encode_metadata(self._call.response_headers))
        await s._stream.send_headers(headers)
        s._send_initial_metadata_done = True

    async def send_message(self, message: Any) -> None:
        s = self._stream
        if not s._send_initial_metadata_done:
            await self.send_initial_metadata()
        if not s._cardinality.server_streaming and s._send_message_done:
            raise ProtocolError("Message was already sent")
        data = frame(s._codec.encode(message, s._send_type), self._compression.reply_gzip)
        if s._cardinality.server_streaming and self._send_timeout is not None:
            try:
                await asyncio.wait_for(s._stream.send_data(data), self._send_timeout)
            except TimeoutError:
                raise GRPCError(
                    Status.RESOURCE_EXHAUSTED,
                    f"the client took no message for {self._send_timeout:g} s: resume later",
                ) from None
        else:
            await s._stream.send_data(data)
        s._send_message_done = True
        s._messages_sent += 1

    async def headers_now(self) -> None:
        """Send the initial metadata now, unless it went already."""
        if not self._stream._send_initial_metadata_done:
            await self.send_initial_metadata()

    async def finish(self, error: GRPCError | None) -> None:
        """End the call with the handler's trailers (and its error, details included), where
        grpclib would end it without them."""
        s = self._stream
        trailers = self._call.response_trailers if self._call is not None else []
        if error is None:
            sent = s._send_message_done or s._cardinality.server_streaming  # zero is a stream
            if trailers and sent and not s._send_trailing_metadata_done:
                await s.send_trailing_metadata(metadata=trailers)
            return
        if not s._send_initial_metadata_done and self._call and self._call.response_headers:
            await self.send_initial_metadata()
        await s.send_trailing_metadata(
            status=error.status,
            status_message=error.message,
            status_details=error.details,
            metadata=trailers,
        )

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        message = await self.recv_message()
        if message is None:
            raise StopAsyncIteration
        return message


class HandlerTable:
    """A grpclib servable made of a ready handler table (what `__mapping__` returns)."""

    def __init__(self, mapping: dict[str, Handler]) -> None:
        self._mapping = mapping

    def __mapping__(self) -> dict[str, Handler]:
        return self._mapping


def wrap_handlers(servable: Any, wrap: Callable[[str, HandlerFunc], HandlerFunc]) -> HandlerTable:
    """The servable's handlers, each function passed through `wrap(path, func)`."""
    return HandlerTable(
        {
            path: Handler(wrap(path, h.func), h.cardinality, h.request_type, h.reply_type)
            for path, h in servable.__mapping__().items()
        }
    )
