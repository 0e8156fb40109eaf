"""gRPC wire details grpclib leaves to us: a strict codec with a size limit, and request frames
read and judged here, so a bad frame is named as such where it is found.

grpclib reads a request frame with `assert` and `NotImplementedError` (for the compressed flag);
telling those apart from our own bugs by exception type would blame the client for a server
fault. `checked_frames` gives every handler a stream whose `recv_message` reads the 5-byte
prefix itself (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, Length-Prefixed
Message), refuses a length over the limit before reading the body, and raises `MalformedFrame`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import betterproto2
from grpclib.const import Handler, Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError

from .codec import MalformedMessage, MessageTooLarge, check_size, decode_binary, encode_binary
from .encoded_forms import EncodedForms

PREFIX_BYTES = 5
HandlerFunc = Callable[[Any], Awaitable[None]]


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
        try:
            if isinstance(message_type, type) and issubclass(message_type, betterproto2.Message):
                return decode_binary(data, message_type, self._limit)
            check_size(len(data), self._limit)
            return message_type.FromString(data)
        except MessageTooLarge as error:
            raise GRPCError(Status.RESOURCE_EXHAUSTED, str(error)) from None
        except MalformedMessage as error:
            raise GRPCError(Status.INVALID_ARGUMENT, str(error)) from None


class MalformedFrame(GRPCError):
    """The request's bytes are not a gRPC length-prefixed message: INTERNAL, per the spec."""

    def __init__(self, reason: str) -> None:
        super().__init__(Status.INTERNAL, "malformed message frame")
        self.reason = reason


async def read_frame(stream: Any, limit: int) -> bytes | None:
    """One length-prefixed message from a grpclib protocol stream; None at the end of stream."""
    prefix: bytes = await stream.recv_data(PREFIX_BYTES)
    if not prefix:
        return None
    if len(prefix) < PREFIX_BYTES:
        raise MalformedFrame(f"length prefix cut short at {len(prefix)} bytes")
    if prefix[0] != 0:
        raise MalformedFrame(f"compressed flag {prefix[0]} without a supported grpc-encoding")
    length = int.from_bytes(prefix[1:], "big")
    if length > limit:
        raise GRPCError(
            Status.RESOURCE_EXHAUSTED,
            f"message of {length} bytes exceeds the limit of {limit} bytes",
        )
    data: bytes = await stream.recv_data(length)
    if len(data) != length:
        raise MalformedFrame(f"message cut short: {len(data)} of {length} bytes")
    return data


class CheckedStream:
    """grpclib's server Stream with `recv_message` reading frames through `read_frame`."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def recv_message(self) -> Any:
        # grpclib's Stream keeps its protocol stream, codec and request type private.
        data = await read_frame(self._stream._stream, self._limit)
        if data is None:
            return None
        return self._stream._codec.decode(data, self._stream._recv_type)

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


def checked_frames(servable: Any, limit: int) -> HandlerTable:
    """The servable with every handler reading its requests through `CheckedStream`."""

    def wrap(_: str, func: HandlerFunc) -> HandlerFunc:
        async def handler(stream: Any) -> None:
            await func(CheckedStream(stream, limit))

        return handler

    return wrap_handlers(servable, wrap)
