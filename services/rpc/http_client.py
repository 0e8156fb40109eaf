"""The RPC layer's HTTP client: Connect and gRPC-Web calls, unary and server streaming, over one
pooled aiohttp session per target. Binary protobuf, decoded strictly; gzip both ways; every call
with a deadline (sent as Connect-Timeout-Ms or grpc-timeout); the reply's headers and trailers
kept; every failure raised as a `ConnectError` with its code, message and details (an
unreachable peer is UNAVAILABLE, a deadline DEADLINE_EXCEEDED, a reply that breaks the protocol
or the size limit INTERNAL or RESOURCE_EXHAUSTED).

aiohttp, not httpx: faster per call, and it does not collapse under concurrency
(docs/measurements.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Generic, TypeVar
from urllib.parse import unquote, urlsplit

import aiohttp
import betterproto2
from grpclib.const import Status

from services.wire import grpc_web
from services.wire.codec import MalformedMessage, MessageTooLarge, decode_binary, encode_binary
from services.wire.compression import (
    InflatesTooLarge,
    NotGzip,
    gzip_bytes,
    inflate_gzip,
)
from services.wire.connect import (
    CODE_OF_STATUS,
    COMPRESSED,
    END_STREAM,
    ENVELOPE_PREFIX,
    PROTO,
    PROTOCOL_VERSION_HEADER,
    STREAM_ACCEPT_ENCODING_HEADER,
    STREAM_CONTENT_ENCODING_HEADER,
    STREAM_OF_UNARY,
    TIMEOUT_HEADER,
    TRAILER_PREFIX,
    Code,
    ConnectError,
    MalformedEndStream,
    envelope,
    envelope_head,
    error_from_reply,
    format_timeout_ms,
    get_query,
    media_type,
    read_end_stream,
)
from services.wire.status_details import connect_details_of_status_bin

from .client_interceptors import ClientCall, ClientInterceptor

M = TypeVar("M", bound=betterproto2.Message)
CONNECT_TIMEOUT_SECONDS: Final = 5.0  # opening a connection, whatever the call's deadline
GRPC_WEB_PROTO: Final = "application/grpc-web+proto"


class RpcProtocol(StrEnum):
    CONNECT = "connect"
    GRPC_WEB = "grpc-web"


@dataclass(frozen=True, slots=True)
class Reply(Generic[M]):
    """A unary call's answer: its message, response headers and trailers."""

    message: M
    headers: Mapping[str, str]
    trailers: list[tuple[str, str]] = field(default_factory=list)


class RpcHttpClient:
    """Calls to one base URL over `protocol`; at most `pool_size` connections."""

    def __init__(
        self,
        base_url: str,
        protocol: RpcProtocol = RpcProtocol.CONNECT,
        *,
        token: str | None = None,
        pool_size: int = 2,
        tls: ssl.SSLContext | None = None,
        max_message_bytes: int = 4 << 20,
        gzip_requests: bool = False,
        interceptors: Sequence[ClientInterceptor] = (),
    ) -> None:
        self._interceptors = tuple(interceptors)
        self._base = base_url.rstrip("/")
        self._server = urlsplit(self._base).netloc
        self.protocol = protocol
        self._tls: ssl.SSLContext | bool = tls if tls is not None else True
        self._pool_size = pool_size
        self._limit = max_message_bytes
        self._gzip = gzip_requests
        self._auth = {"authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=self._pool_size, ssl=self._tls
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_SECONDS),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- unary --------------------------------------------------------------------------------

    async def unary(
        self,
        path: str,
        request: betterproto2.Message,
        reply_type: type[M],
        *,
        seconds: float | None,
        headers: Mapping[str, str] | None = None,
        use_get: bool = False,
    ) -> Reply[M]:
        """One unary call within `seconds` (None: as long as the server takes; the services
        always give one), through the interceptors. `use_get` sends a Connect call as a GET (for
        a method without side effects; the message in the query)."""
        if not self._interceptors:  # the cart's fallback: no call record to make
            return await self._unary(path, request, reply_type, seconds=seconds, headers=headers,
                                     call=None, use_get=use_get)  # fmt: skip
        call = self._started(path, False, seconds, headers)
        try:
            reply = await self._unary(path, request, reply_type, seconds=seconds,
                                      headers=call.headers, call=call, use_get=use_get)  # fmt: skip
        except ConnectError as error:
            call.error = error
            self._ended(call)
            raise
        except asyncio.CancelledError:
            call.error = ConnectError(Code.CANCELED, "the caller cancelled the call")
            self._ended(call)
            raise
        self._ended(call)
        return reply

    async def server_stream(
        self,
        path: str,
        request: betterproto2.Message,
        reply_type: type[M],
        *,
        seconds: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[M]:
        """Each message of one server stream as it comes; its error raised at its end. Without
        `seconds` the stream may stay open as long as the server keeps it (a watch)."""
        call = self._started(path, True, seconds, headers)
        try:
            async for message in self._server_stream(
                path, request, reply_type, seconds=seconds, headers=call.headers, call=call
            ):
                yield message
        except ConnectError as error:
            call.error = error
            raise
        except (GeneratorExit, asyncio.CancelledError):
            call.error = ConnectError(Code.CANCELED, "the caller stopped reading")
            raise
        finally:
            self._ended(call)

    def _started(
        self, path: str, streaming: bool, seconds: float | None, headers: Mapping[str, str] | None
    ) -> ClientCall:
        call = ClientCall(path, self.protocol.value, streaming, dict(headers or {}), seconds,
                          server=self._server)  # fmt: skip
        for interceptor in self._interceptors:
            interceptor.before(call)
        return call

    def _ended(self, call: ClientCall) -> None:
        for interceptor in reversed(self._interceptors):
            interceptor.after(call)

    async def _unary(
        self,
        path: str,
        request: betterproto2.Message,
        reply_type: type[M],
        *,
        seconds: float | None,
        headers: Mapping[str, str] | None,
        call: ClientCall | None,
        use_get: bool,
    ) -> Reply[M]:
        if self.protocol is RpcProtocol.GRPC_WEB:
            kept = call or _record()
            frames = self._grpc_web_stream(path, request, reply_type, seconds=seconds,
                                           headers=headers, call=kept)  # fmt: skip
            messages = [m async for m in frames]
            if len(messages) != 1:
                raise ConnectError(Code.UNIMPLEMENTED, f"a unary reply of {len(messages)} messages")
            return Reply(messages[0], kept.reply_headers, kept.reply_trailers)
        data = encode_binary(request)
        sent = {**self._auth, **(headers or {}), "accept-encoding": "gzip"}
        if seconds is not None:
            sent[TIMEOUT_HEADER] = format_timeout_ms(seconds)
        gzipped = self._gzip
        if gzipped:
            data = gzip_bytes(data)
        if use_get:
            url = self._base + path + "?" + get_query(data, gzipped)
            sending = self._get_session().get(url, headers=sent, timeout=_deadline(seconds))
        else:
            sent.update({"content-type": PROTO, PROTOCOL_VERSION_HEADER: "1"})
            if gzipped:
                sent["content-encoding"] = "gzip"
            sending = self._get_session().post(
                self._base + path, data=data, headers=sent, timeout=_deadline(seconds)
            )
        async with _calling(seconds), sending as response:
            reply_headers = response.headers  # case-insensitive, names may repeat
            trailers = [(k[len(TRAILER_PREFIX) :].lower(), v) for k, v in reply_headers.items()
                        if k.lower().startswith(TRAILER_PREFIX)]  # fmt: skip
            if call is not None:
                call.reply_headers, call.reply_trailers = reply_headers, trailers
            # aiohttp inflates a gzip body itself (Content-Encoding); _read bounds what it makes
            body = await _read(response, self._limit)
            if response.status != 200:
                raise error_from_reply(response.status, body)
            _expect_type(reply_headers, PROTO, "application/")
        return Reply(self._decode(body, reply_type), reply_headers, trailers)

    # -- server streaming ---------------------------------------------------------------------

    async def _server_stream(
        self,
        path: str,
        request: betterproto2.Message,
        reply_type: type[M],
        *,
        seconds: float | None,
        headers: Mapping[str, str] | None,
        call: ClientCall,
    ) -> AsyncIterator[M]:
        if self.protocol is RpcProtocol.GRPC_WEB:
            async for message in self._grpc_web_stream(
                path, request, reply_type, seconds=seconds, headers=headers, call=call
            ):
                yield message
            return
        sent = {**self._auth, **(headers or {}), "content-type": STREAM_OF_UNARY[PROTO],
                PROTOCOL_VERSION_HEADER: "1", STREAM_ACCEPT_ENCODING_HEADER: "gzip"}  # fmt: skip
        if seconds is not None:
            sent[TIMEOUT_HEADER] = format_timeout_ms(seconds)
        data = encode_binary(request)
        flags = 0
        if self._gzip:
            data, flags = gzip_bytes(data), COMPRESSED
            sent[STREAM_CONTENT_ENCODING_HEADER] = "gzip"
        async with (
            _calling(seconds),
            self._get_session().post(
                self._base + path,
                data=envelope(flags, data),
                headers=sent,
                timeout=_deadline(seconds),
            ) as response,
        ):
            call.reply_headers = response.headers
            if response.status != 200:
                raise error_from_reply(response.status, await _read(response, self._limit))
            _expect_type(response.headers, STREAM_OF_UNARY[PROTO], "application/connect+")
            gzip = response.headers.get(STREAM_CONTENT_ENCODING_HEADER, "") == "gzip"
            while True:
                flags, data = await self._frame(response)
                if flags & COMPRESSED:
                    if not gzip:
                        raise ConnectError(Code.INTERNAL, "a compressed data, no encoding")
                    data = self._inflate(data)
                if flags & END_STREAM:
                    try:
                        error, call.reply_trailers = read_end_stream(data)
                    except MalformedEndStream as malformed:
                        raise ConnectError(Code.INTERNAL, str(malformed)) from None
                    if error is not None:
                        raise error
                    return
                yield self._decode(data, reply_type)

    # -- gRPC-Web -----------------------------------------------------------------------------

    def _grpc_web_headers(
        self, seconds: float | None, headers: Mapping[str, str] | None
    ) -> dict[str, str]:
        sent = {**self._auth, **(headers or {}), "content-type": GRPC_WEB_PROTO,
                "x-grpc-web": "1", grpc_web.ACCEPT_ENCODING_HEADER: "gzip"}  # fmt: skip
        if seconds is not None:
            sent[grpc_web.TIMEOUT_HEADER] = f"{max(1, int(seconds * 1000))}m"
        if self._gzip:
            sent[grpc_web.ENCODING_HEADER] = "gzip"
        return sent

    async def _grpc_web_stream(
        self,
        path: str,
        request: betterproto2.Message,
        reply_type: type[M],
        *,
        seconds: float | None,
        headers: Mapping[str, str] | None,
        call: ClientCall,
    ) -> AsyncIterator[M]:
        data = encode_binary(request)
        body = grpc_web.data_frame(data, self._gzip)
        async with (
            _calling(seconds),
            self._get_session().post(
                self._base + path,
                data=body,
                headers=self._grpc_web_headers(seconds, headers),
                timeout=_deadline(seconds),
            ) as response,
        ):
            reply_headers = call.reply_headers = response.headers
            if response.status != 200:
                raise error_from_reply(response.status, b"")
            _expect_type(reply_headers, GRPC_WEB_PROTO, "application/grpc-web")
            gzip = reply_headers.get(grpc_web.ENCODING_HEADER, "") == "gzip"
            trailers_only = "grpc-status" in reply_headers  # unless a body follows
            while True:
                frame = await (self._frame_or_end if trailers_only else self._frame)(response)
                if frame is None:
                    trailers = list(reply_headers.items())
                    call.reply_trailers = _metadata(trailers)
                    _raise_status(trailers)
                    return
                trailers_only = False
                flags, message = frame
                if flags & COMPRESSED:  # the trailers frame may be compressed too
                    if not gzip:
                        raise ConnectError(Code.INTERNAL, "a compressed frame, no encoding")
                    message = self._inflate(message)
                if flags & grpc_web.TRAILERS:
                    trailers = _trailer_lines(message)
                    call.reply_trailers = _metadata(trailers)
                    _raise_status(trailers)
                    return
                yield self._decode(message, reply_type)

    # -- shared -------------------------------------------------------------------------------

    async def _frame(self, response: aiohttp.ClientResponse) -> tuple[int, bytes]:
        """The reply's next frame: its flags and bytes."""
        frame = await self._frame_or_end(response)
        if frame is None:
            raise ConnectError(Code.INTERNAL, "the reply ended without its last frame")
        return frame

    async def _frame_or_end(self, response: aiohttp.ClientResponse) -> tuple[int, bytes] | None:
        """The reply's next frame, None where the body ends cleanly before one."""
        try:
            head = await response.content.readexactly(ENVELOPE_PREFIX)
        except aiohttp.ClientPayloadError as error:
            raise ConnectError(Code.UNAVAILABLE, f"the reply was cut off: {error}") from None
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                return None
            raise ConnectError(Code.INTERNAL, "the reply ended mid-frame") from None
        flags, length = envelope_head(head)
        if length > self._limit:
            raise ConnectError(Code.RESOURCE_EXHAUSTED, f"a reply message of {length} bytes")
        try:
            return flags, await response.content.readexactly(length)
        except EOFError:
            raise ConnectError(Code.INTERNAL, "the reply ended mid-message") from None
        except aiohttp.ClientPayloadError:
            raise ConnectError(Code.UNAVAILABLE, "the reply was cut off mid-message") from None

    def _inflate(self, data: bytes) -> bytes:
        try:
            return inflate_gzip(data, self._limit)
        except NotGzip as error:
            raise ConnectError(Code.INTERNAL, f"reply: {error}") from None
        except InflatesTooLarge:
            raise ConnectError(Code.RESOURCE_EXHAUSTED, "the reply inflates too large") from None

    def _decode(self, data: bytes, reply_type: type[M]) -> M:
        try:
            return decode_binary(data, reply_type, self._limit)
        except MessageTooLarge:
            raise ConnectError(Code.RESOURCE_EXHAUSTED, "the reply exceeds the limit") from None
        except (MalformedMessage, ValueError) as error:
            raise ConnectError(Code.INTERNAL, f"a malformed reply: {error}") from None


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise ConnectError(Code.RESOURCE_EXHAUSTED, f"a reply of more than {limit} bytes")
    return bytes(body)


def _expect_type(headers: Mapping[str, str], expected: str, family: str) -> None:
    """The reply's content type must be the one asked for: another codec of the protocol's
    is INTERNAL, anything else (a proxy's page) is no reply of the protocol at all: UNKNOWN."""
    found = media_type(headers.get("content-type"))
    if found == expected or found == family == "application/grpc-web":  # grpc-web means +proto
        return
    code = Code.INTERNAL if found.startswith(family) else Code.UNKNOWN
    raise ConnectError(code, f"a reply of content type {found or 'none'}, not {expected}")


def _record() -> ClientCall:
    """A call record nobody reads: where a call without interceptors keeps what it must."""
    return ClientCall("", "", False, {}, None)


def _deadline(timeout: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeout, sock_connect=CONNECT_TIMEOUT_SECONDS)


class _calling:
    """Transport failures as ConnectErrors: out of time is DEADLINE_EXCEEDED, unreachable or
    cut off UNAVAILABLE."""

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, error: BaseException | None, _: object) -> bool:
        if isinstance(error, TimeoutError):
            raise ConnectError(Code.DEADLINE_EXCEEDED, "deadline exceeded") from None
        if isinstance(error, aiohttp.ClientError):
            raise ConnectError(Code.UNAVAILABLE, f"unreachable: {error}") from None
        return False


def _trailer_lines(block: bytes) -> list[tuple[str, str]]:
    trailers = []
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            trailers.append((name.strip().lower(), value.strip()))
    return trailers


def _metadata(trailers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The trailers a handler set: the protocol's own (grpc-*) left out."""
    return [(n.lower(), v) for n, v in trailers if not n.lower().startswith("grpc-")]


def _raise_status(trailers: list[tuple[str, str]]) -> None:
    """Raise the error grpc-status names (none for 0); a missing status is INTERNAL."""
    found = {name.lower(): value for name, value in trailers}
    status = found.get("grpc-status")
    if status is None or not status.isdigit():
        raise ConnectError(Code.INTERNAL, "the reply names no grpc-status")
    if status == "0":
        return
    try:
        code = CODE_OF_STATUS.get(Status(int(status)), Code.UNKNOWN)
    except ValueError:
        code = Code.UNKNOWN
    error = ConnectError(code, unquote(found.get("grpc-message", "")) or code.value)
    encoded = found.get("grpc-status-details-bin")
    if encoded:
        try:
            raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        error.details = connect_details_of_status_bin(raw)
    raise error
