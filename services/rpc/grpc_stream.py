"""One gRPC call's messages on grpclib's server Stream, read and written by us: the frame reader
and writer of `services.wire.grpc` (limits at the prefix, compression), the one-message rule of
unary calls, the send timeout of streamed replies, and the headers and trailers its handler set
on the call (`services.rpc.call`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError
from grpclib.metadata import encode_metadata

from services.wire.grpc import (
    ACCEPT_ENCODING,
    GZIP,
    Compression,
    PartialBudget,
    frame,
    read_frame,
)

from .call import CallInfo
from .grpclib_seams import (
    cardinality,
    content_type,
    count_message_received,
    h2_stream,
    initial_metadata_sent,
    mark_initial_metadata_sent,
    mark_message_sent,
    message_codec,
    message_sent,
    messages_received,
    reply_type,
    request_type,
    trailing_metadata_sent,
    transport_of,
)

log = logging.getLogger(__name__)


class WireStream:
    """grpclib's server Stream for one call, its messages read and written by us, with the
    response headers and trailers its handler set on the call (`services.rpc.call`)."""

    def __init__(
        self,
        stream: Any,
        limit: int,
        compression: Compression,
        *,
        call: CallInfo | None = None,
        send_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self._stream = stream
        self._limit = limit
        self._compression = compression
        self._call = call
        self._send_timeout = send_timeout  # server streaming: how long one message may wait
        self._read_timeout = read_timeout  # how long the request may take to arrive whole
        self._budget: PartialBudget | None = getattr(h2_stream(stream).connection, "budget", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    # These three methods do what grpclib's own do, with our framing; what its Stream keeps
    # private is read through grpclib_seams.

    async def recv_message(self) -> Any:
        s = self._stream
        if cardinality(s).client_streaming and messages_received(s):
            data = await self._read()  # a stream of requests: the client sends at its pace
        else:
            data = await self._within_read_timeout(s)
        if data is None:
            return None
        count_message_received(s)
        return message_codec(s).decode(data, request_type(s))

    async def _read(self) -> bytes | None:
        stream = h2_stream(self._stream)
        return await read_frame(stream, self._limit, self._compression, self._budget)

    async def _within_read_timeout(self, s: Any) -> bytes | None:
        """The request (or a client stream's first message) within the read timeout: a client
        that announces a message and never finishes it (or sends it a byte at a time) holds its
        stream and its bytes no longer than that."""
        timer = None
        expired: list[bool] = []
        if self._read_timeout is not None:
            task = asyncio.current_task()
            assert task is not None  # noqa: S101 - a handler runs in a task
            timer = asyncio.get_running_loop().call_later(
                self._read_timeout, _expire, task, expired
            )
        try:
            data = await self._read()
            if not cardinality(s).client_streaming:
                # One request message, then the end of the stream (as grpc-go checks it).
                if data is None:
                    raise GRPCError(Status.UNIMPLEMENTED, "a unary rpc needs one request message")
                if await self._read() is not None:
                    raise GRPCError(Status.UNIMPLEMENTED, "a unary rpc takes one request message")
        except asyncio.CancelledError:
            if not expired:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr] # our own cancel
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"the request did not arrive whole within {self._read_timeout:g} s",
            ) from None
        finally:
            if timer is not None:
                timer.cancel()
        return data

    async def send_initial_metadata(self, *, metadata: Any = None) -> None:
        s = self._stream
        if initial_metadata_sent(s):
            raise ProtocolError("Initial metadata was already sent")
        headers = [(":status", "200"), ("content-type", content_type(s))]
        if self._compression.reply_gzip:
            headers.append(("grpc-encoding", GZIP))
        headers.append(("grpc-accept-encoding", ACCEPT_ENCODING))
        headers.extend(encode_metadata(metadata or ()))
        if self._call is not None:
            headers.extend(encode_metadata(self._call.response_headers))
        await h2_stream(s).send_headers(headers)
        mark_initial_metadata_sent(s)

    async def send_message(self, message: Any) -> None:
        s = self._stream
        if not initial_metadata_sent(s):
            await self.send_initial_metadata()
        streaming = cardinality(s).server_streaming
        if not streaming and message_sent(s):
            raise ProtocolError("Message was already sent")
        gzip = self._compression.reply_gzip
        codec, kind = message_codec(s), reply_type(s)
        if streaming and self._send_timeout is not None:
            data = _SHARED.frame(message, gzip, lambda: codec.encode(message, kind))
            await self._send_within_timeout(s, data, self._send_timeout)
        else:
            await h2_stream(s).send_data(frame(codec.encode(message, kind), gzip))
        mark_message_sent(s)

    async def _send_within_timeout(self, s: Any, data: bytes, seconds: float) -> None:
        """A streamed message, sent within the send timeout (no task per send, as wait_for)."""
        try:
            async with asyncio.timeout(seconds):
                await h2_stream(s).send_data(data)
        except TimeoutError:
            connection = h2_stream(s).connection
            if not connection.write_ready.is_set():
                # The peer reads nothing at all (its window may be huge, the socket is full):
                # not even the error could be written. The connection goes.
                log.warning("gRPC connection closed: its client took nothing for a while")
                transport_of(connection).abort()
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"the client took no message for {seconds:g} s: resume later",
            ) from None

    async def headers_now(self) -> None:
        """Send the initial metadata now, unless it went already."""
        if not initial_metadata_sent(self._stream):
            await self.send_initial_metadata()

    async def finish(self, error: GRPCError | None) -> None:
        """End the call with the handler's trailers (and its error, details included), where
        grpclib would end it without them."""
        s = self._stream
        trailers = self._call.response_trailers if self._call is not None else []
        if error is None:
            sent = message_sent(s) or cardinality(s).server_streaming  # zero is a stream
            if trailers and sent and not trailing_metadata_sent(s):
                await s.send_trailing_metadata(metadata=trailers)
            return
        if not initial_metadata_sent(s) and self._call and self._call.response_headers:
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


class _SharedFrames:
    """The frames of the last few streamed messages: a change sent to 10,000 watches (one
    message object, `item_watch`) is encoded once per compression, not 10,000 times."""

    KEPT = 16

    def __init__(self) -> None:
        self._frames: dict[tuple[int, bool], tuple[Any, bytes]] = {}

    def frame(self, message: Any, gzip: bool, encode: Callable[[], bytes]) -> bytes:
        key = (id(message), gzip)
        kept = self._frames.get(key)
        if kept is not None and kept[0] is message:  # the object itself: its id is not reused
            return kept[1]
        data = frame(encode(), gzip)
        if len(self._frames) >= self.KEPT:
            del self._frames[next(iter(self._frames))]
        self._frames[key] = (message, data)
        return data


_SHARED = _SharedFrames()


def _expire(task: asyncio.Task[Any], expired: list[bool]) -> None:
    expired.append(True)
    task.cancel()
