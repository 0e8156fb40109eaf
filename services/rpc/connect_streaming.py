"""Server-streaming rpcs over the Connect protocol (https://connectrpc.com/docs/protocol,
"Streaming"), from the same method tables as the unary ones: any server-streaming rpc a service
implements is served here with no routing code of its own.

The request is one enveloped message (a flags byte, a 4-byte length, the message) with
`Content-Type: application/connect+proto` or `+json`. The reply is HTTP 200 with a stream of
enveloped messages and a final end-stream message (flag 0x02) carrying the error, if any, and
the handler's trailers as JSON. A client that stops reading holds at most QUEUE messages here
plus the socket's buffer; after `send_timeout` without progress its stream ends with
RESOURCE_EXHAUSTED, or, when even that cannot be written, its connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import betterproto2
from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.wire import grpc_web
from services.wire.codec import MessageTooLarge, check_size
from services.wire.compression import (
    InflatesTooLarge,
    NotGzip,
    gzip_bytes,
    inflate_gzip,
    worth_compressing,
)
from services.wire.connect import (
    COMPRESSED,
    END_STREAM,
    ENVELOPE_PREFIX,
    STREAM_CONTENT_ENCODING_HEADER,
    Code,
    ConnectError,
    end_stream,
    envelope,
    envelope_head,
)
from services.wire.status_details import connect_details

from .call import CallInfo, opened

log = logging.getLogger(__name__)

LAST_FRAME: Final = END_STREAM | grpc_web.TRAILERS  # the flags of a reply's last frame
QUEUE: Final = 16  # messages encoded and waiting for the socket, per stream


def _inflate(data: bytes, limit: int) -> bytes:
    try:
        return inflate_gzip(data, limit)
    except NotGzip as error:
        raise ConnectError(Code.INVALID_ARGUMENT, f"message {error}") from None
    except InflatesTooLarge as error:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, f"message {error}") from None


def request_message(body: bytes, encoding: str, limit: int) -> bytes:
    """The one message of a streaming request body, inflated if it says so."""
    if not body:
        raise ConnectError(Code.UNIMPLEMENTED, "a server-streaming rpc needs one request message")
    if len(body) < ENVELOPE_PREFIX:
        raise ConnectError(Code.INVALID_ARGUMENT, "the body is not an enveloped message")
    flags, length = envelope_head(body)
    if flags & ~COMPRESSED:
        raise ConnectError(Code.INVALID_ARGUMENT, f"request envelope flags {flags:#x}")
    if length > limit:
        raise ConnectError(
            Code.RESOURCE_EXHAUSTED, f"message of {length} bytes exceeds the limit of {limit}"
        )
    if len(body) - ENVELOPE_PREFIX > length:
        raise ConnectError(Code.UNIMPLEMENTED, "a server-streaming rpc takes one request message")
    if len(body) - ENVELOPE_PREFIX < length:
        raise ConnectError(Code.INVALID_ARGUMENT, "the request message is cut short")
    data = body[ENVELOPE_PREFIX:]
    if flags & COMPRESSED:
        if encoding != "gzip":
            raise ConnectError(Code.INTERNAL, "a compressed message without an encoding")
        data = _inflate(data, limit)
    try:
        check_size(len(data), limit)
    except MessageTooLarge as error:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, str(error)) from None
    return data


class StreamExchange:
    """Stands in for grpclib's server Stream: the request in, each reply enveloped into a
    bounded queue the response drains."""

    def __init__(
        self,
        request: betterproto2.Message,
        call: CallInfo,
        encode: Callable[[betterproto2.Message], bytes],
        gzip_replies: bool,
        send_timeout: float,
        *,
        ender: Callable[[ConnectError | None, list[tuple[str, str]]], bytes] = end_stream,
    ) -> None:
        self._ender = ender  # the last frame: Connect's end-stream, or gRPC-Web's trailers
        self._request = request
        self.metadata = call.headers
        self._encode = encode
        self._gzip = gzip_replies
        self._send_timeout = send_timeout
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.space = asyncio.Semaphore(QUEUE)
        self.headers_ready = asyncio.Event()
        call.send_headers = self._headers_now

    async def _headers_now(self) -> None:
        self.headers_ready.set()

    async def recv_message(self) -> betterproto2.Message:
        return self._request

    async def send_message(self, message: betterproto2.Message) -> None:
        data = self._encode(message)
        flags = 0
        if self._gzip and worth_compressing(len(data)):
            data, flags = gzip_bytes(data), COMPRESSED
        try:
            async with asyncio.timeout(self._send_timeout):  # not wait_for: see _stream
                await self.space.acquire()
        except TimeoutError:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"the client took no message for {self._send_timeout:g} s: resume later",
            ) from None
        self.headers_ready.set()
        self.queue.put_nowait(envelope(flags, data))

    def producer_gone(self) -> None:
        """The producer is done: whatever it sent, the reply may start and then end."""
        self.headers_ready.set()
        self.queue.put_nowait(b"")  # read after its end-stream message, if it sent one

    def finish(self, error: ConnectError | None, trailers: list[tuple[str, str]]) -> None:
        self.headers_ready.set()
        self.queue.put_nowait(self._ender(error, trailers))


SHUTTING_DOWN: Final = "the server is shutting down: resume elsewhere"


async def produce(handler: Handler, exchange: StreamExchange, call: CallInfo, grace: float) -> None:
    """Run the handler, then end the stream with its outcome."""
    error: ConnectError | None = None
    try:
        with opened(call):
            if call.timeout_seconds is None:
                await handler.func(exchange)
            else:
                async with asyncio.timeout(call.timeout_seconds + grace):
                    await handler.func(exchange)
    except ConnectError as failed:
        error = failed
    except GRPCError as failed:
        error = ConnectError.from_status(
            failed.status, failed.message, connect_details(failed.details or ())
        )
    except TimeoutError:
        error = ConnectError(Code.DEADLINE_EXCEEDED, "deadline exceeded")
    except asyncio.CancelledError as cancelled:
        if cancelled.args != (SHUTTING_DOWN,):
            raise  # the client went away, or the server's own cancel
        asyncio.current_task().uncancel()  # type: ignore[union-attr] # ours: end it cleanly
        error = ConnectError(Code.UNAVAILABLE, SHUTTING_DOWN)
    finally:
        call.ended()
    exchange.finish(error, call.response_trailers)


def start_stream(
    handler: Handler,
    exchange: StreamExchange,
    call: CallInfo,
    producers: set[asyncio.Task[None]],
    *,
    grace: float,
    content_type: str,
    send_timeout: float,
    gzip_replies: bool,
    encoding_header: str = STREAM_CONTENT_ENCODING_HEADER,
    text: bool = False,
) -> EnvelopeStream:
    """Run the handler as the stream's producer (kept in `producers` while it runs) and
    answer with its reply."""
    producer = asyncio.create_task(produce(handler, exchange, call, grace))
    producers.add(producer)
    producer.add_done_callback(producers.discard)
    return EnvelopeStream(
        exchange,
        producer,
        call,
        content_type=content_type,
        send_timeout=send_timeout,
        gzip_replies=gzip_replies,
        encoding_header=encoding_header,
        text=text,
    )


def failed_stream(error: ConnectError, content_type: str) -> Response:
    """A streaming call that failed before its handler ran: HTTP 200, only the end-stream
    message with the error (the Connect protocol's form for every streaming error)."""
    return Response(
        end_stream(error, []), status_code=200, media_type=content_type, headers=error.headers
    )


class EnvelopeStream(Response):
    """The HTTP reply of one streaming call: headers once the handler sends its first message
    (or ends, or asks for them early), then every message as it comes, then the end."""

    def __init__(
        self,
        exchange: StreamExchange,
        producer: asyncio.Task[None],
        call: CallInfo,
        *,
        content_type: str,
        send_timeout: float,
        gzip_replies: bool,
        encoding_header: str = STREAM_CONTENT_ENCODING_HEADER,
        text: bool = False,  # gRPC-Web's text mode: each chunk in base64 of its own
    ) -> None:
        super().__init__(status_code=200, media_type=content_type)
        self._text = text
        del self.headers["content-length"]
        self._exchange = exchange
        self._producer = producer
        self._call = call
        self._send_timeout = send_timeout
        if gzip_replies:
            self.headers[encoding_header] = "gzip"
        # A producer that ended without its end-stream message (cancelled: the client went
        # away) ends the reply too, instead of leaving it waiting for a message forever.
        producer.add_done_callback(lambda _: exchange.producer_gone())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._until_disconnected(receive))
        try:
            await self._stream(send)
        finally:
            watcher.cancel()
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer

    async def _until_disconnected(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._producer.cancel()

    async def _stream(self, send: Send) -> None:
        exchange = self._exchange
        await exchange.headers_ready.wait()
        for name, value in self._call.response_headers:
            self.headers.append(name, value)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        while True:
            chunk = await exchange.queue.get()
            if not chunk:  # the producer is gone without an end: nothing more will come
                return
            last = chunk[0] & LAST_FRAME
            try:
                # asyncio.timeout, not wait_for: no task per message, and no cancel lost when
                # it lands as the send completes (3.11's wait_for drops it)
                async with asyncio.timeout(self._send_timeout):
                    body = grpc_web.to_text(chunk) if self._text else chunk
                    await send({"type": "http.response.body", "body": body, "more_body": not last})
            except TimeoutError:
                log.warning("Connect stream closed: its client took nothing for a while")
                return  # the response stays incomplete: the server closes the connection
            if last:
                return
            exchange.space.release()
