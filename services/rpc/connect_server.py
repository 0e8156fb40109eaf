"""The Connect server: rpcs over the Connect protocol (https://connectrpc.com/docs/protocol),
built from the services' own method tables.

Each grpclib servable lists its rpcs in `__mapping__()` (path, handler, request and reply types).
This endpoint serves every unary and server-streaming entry of that table: an rpc added to the
proto and implemented in the service is served here with no new routing code. A unary handler
runs unchanged against `UnaryExchange`, which stands in for grpclib's server stream; a streaming
one against `connect_streaming.StreamExchange`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import betterproto2
from google.protobuf.descriptor_pb2 import MethodOptions
from google.protobuf.descriptor_pool import DescriptorPool
from grpclib.const import Cardinality, Handler
from grpclib.exceptions import GRPCError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from services.common.secrets import BearerToken
from services.wire import grpc_web
from services.wire.codec import (
    EncodedForms,
    check_supported,
    decode_binary,
    decode_json,
    encode_binary,
    encode_json,
)
from services.wire.compression import (
    InflatesTooLarge,
    NotGzip,
    gzip_bytes,
    inflate_gzip,
    worth_compressing,
)
from services.wire.connect import (
    CODECS,
    GET_ENCODINGS,
    JSON,
    PROTO,
    PROTOCOL_VERSION_HEADER,
    STREAM_ACCEPT_ENCODING_HEADER,
    STREAM_CODECS,
    STREAM_CONTENT_ENCODING_HEADER,
    TIMEOUT_HEADER,
    TRAILER_PREFIX,
    UNARY_OF_STREAM,
    Code,
    ConnectError,
    decode_message,
    media_type,
    parse_timeout_ms,
)
from services.wire.headers import ascii_digits
from services.wire.status_details import connect_details

from .call import CallInfo, opened
from .connect_streaming import (
    SHUTTING_DOWN,
    StreamExchange,
    failed_stream,
    request_message,
    start_stream,
)
from .grpc_web_endpoint import GrpcWebEndpoint
from .grpc_web_endpoint import failed as grpc_web_failed


@dataclass(frozen=True, slots=True)
class ConnectMethod:
    """One rpc as the endpoint serves it."""

    handler: Handler
    allows_get: bool  # idempotency_level = NO_SIDE_EFFECTS
    streaming: bool = False  # a server-streaming rpc (connect_streaming)


class UnaryExchange:
    """Stands in for grpclib's server Stream so a generated handler serves one Connect call."""

    def __init__(self, request: betterproto2.Message, metadata: Mapping[str, str]) -> None:
        self._request = request
        self.metadata = metadata
        self.response: betterproto2.Message | None = None

    async def recv_message(self) -> betterproto2.Message:
        return self._request

    async def send_message(self, message: betterproto2.Message) -> None:
        self.response = message


_DECODERS: dict[str, Callable[[bytes, Any, int], Any]] = {
    JSON: decode_json,
    PROTO: decode_binary,
}
_ENCODERS: dict[str, Callable[[betterproto2.Message, EncodedForms | None], bytes]] = {
    JSON: encode_json,
    PROTO: encode_binary,
}


def method_table(services: Iterable[Any], pool: DescriptorPool) -> dict[str, ConnectMethod]:
    """Every unary and server-streaming rpc of the servables, keyed by its path
    `/package.Service/Method`."""
    table: dict[str, ConnectMethod] = {}
    for service in services:
        for path, handler in service.__mapping__().items():
            if handler.cardinality not in (Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM):
                continue  # client and bidirectional streams: not served over Connect
            check_supported([handler.request_type, handler.reply_type])
            full_name = path.lstrip("/").replace("/", ".")
            options = pool.FindMethodByName(full_name).GetOptions()
            table[path] = ConnectMethod(
                handler=handler,
                allows_get=options.idempotency_level == MethodOptions.NO_SIDE_EFFECTS,
                streaming=handler.cardinality is Cardinality.UNARY_STREAM,
            )
    return table


# The caller's own deadline fires first and it reports DEADLINE_EXCEEDED itself: a server that
# answered 504 a moment before could race it, the reply cut off mid-body by the client's cancel
# (seen as a JSON error on HTTP/2 in the conformance suite).
DEADLINE_GRACE_SECONDS: Final = 0.05


def _compress(response: Response, body: bytes, accept_encoding: str) -> None:
    """gzip the reply when the client accepts it and it is worth it."""
    if not worth_compressing(len(body)):
        return  # most replies: the header is not even read
    accepted = {e.split(";")[0].strip().lower() for e in accept_encoding.split(",")}
    if "gzip" not in accepted:
        return
    response.body = gzip_bytes(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["content-encoding"] = "gzip"


def _with_metadata(error: ConnectError, call: CallInfo) -> ConnectError:
    """The handler's response headers and trailers ride on its error reply too."""
    error.metadata += call.response_headers
    error.metadata += [(TRAILER_PREFIX + name, value) for name, value in call.response_trailers]
    return error


def _bound(
    encode: Callable[[betterproto2.Message, EncodedForms | None], bytes], known: EncodedForms | None
) -> Callable[[betterproto2.Message], bytes]:
    return lambda message: encode(message, known)


class _Refused(Exception):
    """A refusal at the HTTP level, before any rpc: the client derives the code from the
    status (Connect spec, "HTTP to Error Code"), so the reply claims no Connect code."""

    def __init__(self, http_status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.response = Response(message, http_status, headers=headers, media_type="text/plain")


class ConnectEndpoint:
    """A Starlette endpoint answering `POST` (and `GET` where allowed) on the rpc paths."""

    def __init__(
        self,
        methods: dict[str, ConnectMethod],
        max_request_bytes: int,
        known: EncodedForms | None = None,
        token: BearerToken | None = None,
        send_timeout: float = 10.0,
    ) -> None:
        self._methods = methods
        self._limit = max_request_bytes
        self._send_timeout = send_timeout  # a streamed message the client won't take
        self._token = token  # checked before the body is read (the call gate checks it again)
        self._known = known  # messages whose encoded forms are ready
        self._producers: set[asyncio.Task[None]] = set()  # the streams being answered now
        self._grpc_web = GrpcWebEndpoint(
            _DECODERS,
            {codec: _bound(encode, known) for codec, encode in _ENCODERS.items()},
            limit=max_request_bytes,
            token=token,
            send_timeout=send_timeout,
            grace=DEADLINE_GRACE_SECONDS,
            producers=self._producers,
        )

    def close_streams(self) -> None:
        """At shutdown: every open stream ends now with UNAVAILABLE (its client resumes at
        another server), before the HTTP server's grace runs out and cuts it off mid-message."""
        for producer in self._producers:
            producer.cancel(SHUTTING_DOWN)

    async def handle(self, request: Request) -> Response:
        try:
            return await self._serve(request)
        except ConnectError as error:
            return error.to_response()
        except _Refused as refused:
            return refused.response
        except ClientDisconnect:  # it left mid-body: expected, nobody to answer, no error
            return Response(status_code=499)

    async def _serve(self, request: Request) -> Response:
        path: str = request.scope["path"]
        method = self._methods.get(path)
        if method is None:
            raise _Refused(404, f"unknown rpc {path}", {})
        content_type = media_type(request.headers.get("content-type"))
        if content_type in grpc_web.CONTENT_TYPES:
            text = content_type in grpc_web.TEXT_CONTENT_TYPES
            limit = grpc_web.text_limit(self._limit + 5) if text else self._limit + 5
            try:
                body = await self._read_body(request, limit, drain=True)
                if text:
                    body = grpc_web.from_text(body)
            except ConnectError as error:
                return grpc_web_failed(error, content_type)
            return await self._grpc_web.serve(
                request, content_type, method.handler, body, self._run
            )
        timeout = self._check_headers(request)
        if method.streaming:
            return await self._serve_stream(request, method, timeout)
        if request.method == "POST":
            codec, body = await self._read_post(request)
        elif request.method == "GET" and method.allows_get:
            codec, body = self._read_get(request)
        else:
            allowed = "GET, POST" if method.allows_get else "POST"
            raise _Refused(405, f"{request.method} is not allowed on {path}", {"Allow": allowed})

        handler = method.handler
        message = decode_message(body, _DECODERS[codec], handler.request_type, self._limit)

        call = CallInfo(
            headers=request.headers,
            timeout_seconds=timeout,
            get_query=request.query_params.multi_items() if request.method == "GET" else None,
            transport="connect",
        )
        reply = await self._run(handler, message, call)
        body = _ENCODERS[codec](reply, self._known)
        response = Response(body, media_type=codec)
        _compress(response, body, request.headers.get("accept-encoding", ""))
        for name, value in call.response_headers:
            response.headers.append(name, value)
        for name, value in call.response_trailers:
            response.headers.append(TRAILER_PREFIX + name, value)
        return response

    async def _serve_stream(
        self, request: Request, method: ConnectMethod, timeout_seconds: float | None
    ) -> Response:
        if request.method != "POST":
            path = request.scope["path"]
            raise _Refused(405, f"{request.method} is not allowed on {path}", {"Allow": "POST"})
        content_type = media_type(request.headers.get("content-type"))
        codec = UNARY_OF_STREAM.get(content_type)
        if codec is None:
            raise _Refused(
                415,
                f"a streaming rpc takes {' or '.join(STREAM_CODECS)}",
                {"Accept-Post": ", ".join(STREAM_CODECS)},
            )
        handler = method.handler
        try:
            body = await self._read_body(request, self._limit + 5, drain=True)
            encoding = request.headers.get(STREAM_CONTENT_ENCODING_HEADER, "identity").lower()
            if encoding not in ("identity", "gzip"):
                raise ConnectError(
                    Code.UNIMPLEMENTED,
                    f"unsupported compression {encoding}: use gzip or identity",
                    headers={STREAM_ACCEPT_ENCODING_HEADER: "gzip"},
                )
            data = request_message(body, encoding, self._limit)
            message = decode_message(data, _DECODERS[codec], handler.request_type, self._limit)
        except ConnectError as error:
            return failed_stream(error, content_type)
        call = CallInfo(
            headers=request.headers,
            timeout_seconds=timeout_seconds,
            peer=request.client,
            transport="connect",
        )
        accepted = request.headers.get(STREAM_ACCEPT_ENCODING_HEADER, "")
        gzip_replies = "gzip" in {e.strip().lower() for e in accepted.split(",")}
        exchange = StreamExchange(
            message,
            call,
            lambda reply: _ENCODERS[codec](reply, self._known),
            gzip_replies,
            self._send_timeout,
        )
        return start_stream(
            handler,
            exchange,
            call,
            self._producers,
            grace=DEADLINE_GRACE_SECONDS,
            content_type=content_type,
            send_timeout=self._send_timeout,
            gzip_replies=gzip_replies,
        )

    @staticmethod
    async def _run(handler: Handler, message: Any, call: CallInfo) -> betterproto2.Message:
        """The handler's reply to `message`, within the call's timeout."""
        exchange = UnaryExchange(message, call.headers)
        try:
            with opened(call):
                if call.timeout_seconds is None:  # no timeout scope: it costs ~20 us a call
                    await handler.func(exchange)
                else:
                    async with asyncio.timeout(call.timeout_seconds + DEADLINE_GRACE_SECONDS):
                        await handler.func(exchange)
        except GRPCError as error:
            failed = ConnectError.from_status(
                error.status, error.message, connect_details(error.details or ())
            )
            raise _with_metadata(failed, call) from None
        except TimeoutError:
            raise ConnectError(Code.DEADLINE_EXCEEDED, "deadline exceeded") from None
        if exchange.response is None:
            raise ConnectError(Code.INTERNAL, "internal error")
        return exchange.response

    def _check_headers(self, request: Request) -> float | None:
        """The call's timeout in seconds (None: none), once its headers pass, before its body
        is read: protocol version, timeout, bearer token."""
        version = request.headers.get(PROTOCOL_VERSION_HEADER)
        if version is not None and version != "1":
            raise ConnectError(Code.INVALID_ARGUMENT, "Connect-Protocol-Version must be 1")
        timeout = parse_timeout_ms(request.headers.get(TIMEOUT_HEADER))
        if self._token is not None and not self._token.accepts(
            request.headers.get("authorization")
        ):
            raise ConnectError(Code.UNAUTHENTICATED, "missing or invalid bearer token")
        return timeout

    async def _read_post(self, request: Request) -> tuple[str, bytes]:
        codec = media_type(request.headers.get("content-type"))
        if codec not in _DECODERS:
            raise _Refused(
                415,
                f"unsupported content type {codec or 'none'}: use {JSON} or {PROTO}",
                {"Accept-Post": ", ".join(CODECS)},
            )
        body = await self._read_body(request, self._limit)
        encoding = request.headers.get("content-encoding", "identity").lower()
        return codec, self._decompress(bytes(body), encoding)

    async def _read_body(self, request: Request, limit: int, *, drain: bool = False) -> bytes:
        """The body, at most `limit` bytes (else RESOURCE_EXHAUSTED); with `drain` the rest of
        a longer one is read and dropped first, so the error can be written as a reply."""
        declared = ascii_digits(request.headers.get("content-length"))
        if declared is not None and declared > limit and not drain:
            raise self._too_large()
        body = bytearray()
        async for chunk in request.stream():
            if len(body) <= limit:
                body += chunk
            elif not drain:
                break
        if len(body) > limit:
            raise self._too_large()
        return bytes(body)

    def _read_get(self, request: Request) -> tuple[str, bytes]:
        query = request.query_params
        codec = GET_ENCODINGS.get(query.get("encoding", ""))
        if codec is None:
            raise ConnectError(
                Code.INVALID_ARGUMENT, "query parameter encoding must be json or proto"
            )
        raw = query.get("message", "")
        if query.get("base64") == "1":
            try:
                body = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            except (binascii.Error, ValueError):
                raise ConnectError(
                    Code.INVALID_ARGUMENT, "message is not valid base64url"
                ) from None
        else:
            body = raw.encode()
        if len(body) > self._limit:
            raise self._too_large()
        return codec, self._decompress(body, query.get("compression", "identity").lower())

    def _decompress(self, body: bytes, encoding: str) -> bytes:
        if encoding == "identity":
            return body
        if encoding != "gzip":
            raise ConnectError(
                Code.UNIMPLEMENTED,
                f"unsupported compression {encoding}: use gzip or identity",
                headers={"Accept-Encoding": "gzip"},
            )
        try:
            return inflate_gzip(body, self._limit)
        except NotGzip as error:
            raise ConnectError(Code.INVALID_ARGUMENT, f"body: {error}") from None
        except InflatesTooLarge:
            raise self._too_large() from None

    def _too_large(self) -> ConnectError:
        return ConnectError(
            Code.RESOURCE_EXHAUSTED, f"request body exceeds the limit of {self._limit} bytes"
        )
