"""gRPC-Web on the HTTP port, from the same method tables and handlers as Connect: unary and
server-streaming rpcs, `application/grpc-web` (`+proto`, `+json`) and `application/grpc-web-text`
(base64 both ways). Every reply is HTTP 200:
the messages as frames, then the trailers frame with grpc-status (an error included), so a
browser reads the outcome from the body, where fetch can see it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import betterproto2
from starlette.requests import Request
from starlette.responses import Response

from services.common.secrets import BearerToken
from services.wire import grpc_web
from services.wire.connect import TRAILER_PREFIX, Code, ConnectError, decode_message

from .call import CallInfo
from .connect_streaming import StreamExchange, start_stream

Run = Callable[[Any, Any, CallInfo], Any]  # ConnectEndpoint._run: a unary handler's reply


class GrpcWebEndpoint:
    """Serves one gRPC-Web call of a method the Connect endpoint knows."""

    def __init__(
        self,
        decoders: dict[str, Callable[[bytes, Any, int], Any]],
        encoders: dict[str, Callable[[betterproto2.Message], bytes]],
        *,
        limit: int,
        token: BearerToken | None,
        send_timeout: float,
        grace: float,
        producers: set[asyncio.Task[None]],
    ) -> None:
        self._decoders = decoders
        self._encoders = encoders
        self._limit = limit
        self._token = token
        self._send_timeout = send_timeout
        self._grace = grace
        self._producers = producers

    async def serve(
        self, request: Request, content_type: str, handler: Any, body: bytes, run: Run
    ) -> Response:
        """One call; `content_type` is the request's media type (one of CONTENT_TYPES)."""
        streaming = handler.cardinality.server_streaming
        codec = grpc_web.CONTENT_TYPES[content_type]
        gzip_replies = grpc_web.accepts_gzip(request.headers.get(grpc_web.ACCEPT_ENCODING_HEADER))
        try:
            if request.method != "POST":
                raise ConnectError(Code.UNIMPLEMENTED, f"gRPC-Web takes POST, not {request.method}")
            timeout = grpc_web.timeout_seconds(request.headers.get(grpc_web.TIMEOUT_HEADER))
            if self._token is not None and not self._token.accepts(
                request.headers.get("authorization")
            ):
                raise ConnectError(Code.UNAUTHENTICATED, "missing or invalid bearer token")
            encoding = request.headers.get(grpc_web.ENCODING_HEADER, "identity").lower()
            if encoding not in ("identity", "gzip"):
                raise ConnectError(
                    Code.UNIMPLEMENTED, f"unsupported compression {encoding}: use gzip or identity"
                )
            data = grpc_web.request_message(body, encoding, self._limit)
            message = decode_message(data, self._decoders[codec], handler.request_type, self._limit)
        except ConnectError as error:
            return failed(error, content_type)
        call = CallInfo(
            headers=request.headers,
            timeout_seconds=timeout,
            peer=request.client,
            transport="grpc-web",
        )
        if streaming:
            return self._stream(
                handler=handler,
                message=message,
                call=call,
                codec=codec,
                content_type=content_type,
                gzip_replies=gzip_replies,
            )
        try:
            reply = await run(handler, message, call)
        except ConnectError as error:
            return failed(error, content_type)
        body = grpc_web.data_frame(self._encoders[codec](reply), gzip_replies)
        body += grpc_web.trailers_frame(None, call.response_trailers)
        if content_type in grpc_web.TEXT_CONTENT_TYPES:
            body = grpc_web.to_text(body)
        response = Response(body, media_type=content_type)
        if gzip_replies:
            response.headers[grpc_web.ENCODING_HEADER] = "gzip"
        for name, value in call.response_headers:
            response.headers.append(name, value)
        return response

    def _stream(
        self,
        *,
        handler: Any,
        message: Any,
        call: CallInfo,
        codec: str,
        content_type: str,
        gzip_replies: bool,
    ) -> Response:
        encode = self._encoders[codec]
        exchange = StreamExchange(
            message, call, encode, gzip_replies, self._send_timeout, ender=grpc_web.trailers_frame
        )
        return start_stream(
            handler,
            exchange,
            call,
            self._producers,
            grace=self._grace,
            content_type=content_type,
            send_timeout=self._send_timeout,
            gzip_replies=gzip_replies,
            encoding_header=grpc_web.ENCODING_HEADER,
            text=content_type in grpc_web.TEXT_CONTENT_TYPES,
        )


def failed(error: ConnectError, content_type: str) -> Response:
    """A failed call: HTTP 200 with only the trailers frame; the handler's headers stay
    headers, its trailers (prefixed on a Connect error) go into the frame."""
    trailers = [(n[len(TRAILER_PREFIX) :], v) for n, v in error.metadata
                if n.startswith(TRAILER_PREFIX)]  # fmt: skip
    body = grpc_web.trailers_frame(error, trailers)
    if content_type in grpc_web.TEXT_CONTENT_TYPES:
        body = grpc_web.to_text(body)
    response = Response(body, media_type=content_type, headers=error.headers)
    for name, value in error.metadata:
        if not name.startswith(TRAILER_PREFIX):
            response.headers.append(name, value)
    return response
