"""grpclib's Server with the edges it lacks: per-call framing (compression, JSON sub-format,
limits at the length prefix), header checks before any handler runs, and bounds on what one
connection may cost (open connections, silent connections, control-frame floods).

Everything here hooks grpclib at its documented seams (`Server._protocol_factory`, the
`Handler.accept` of each connection, the `EventsProcessor` of each protocol): grpclib is pinned
below 0.5 and tested at every edge by tests/integration/test_grpc_edges.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import h2.config
import h2.events
from grpclib.const import Handler as MethodHandler
from grpclib.const import Status
from grpclib.encoding.base import GRPC_CONTENT_TYPE, CodecBase
from grpclib.exceptions import GRPCError
from grpclib.protocol import EventsProcessor, H2Protocol
from grpclib.server import Handler, Server, request_handler
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from services.common.throttled_log import ThrottledLog

from .call import CallInfo, StatusDetailsCodec, opened
from .encoded_forms import EncodedForms
from .grpc import (
    ACCEPT_ENCODING,
    ENCODINGS,
    GZIP,
    IDENTITY,
    Compression,
    HandlerFunc,
    StrictJsonCodec,
    StrictProtoCodec,
    WireStream,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GrpcLimits:
    """What one client may cost the gRPC port (README: configuration)."""

    max_message_bytes: int
    max_header_bytes: int = 16_384
    max_connections: int = 4096
    first_request_timeout_seconds: float = 10.0  # connected, but no request yet
    idle_timeout_seconds: float = 300.0  # no call open and nothing received
    control_frames_per_second: float = 500.0  # PING, SETTINGS and RST_STREAM, together
    stream_send_timeout_seconds: float = 10.0  # a streamed message the client won't take


class FloodGuard:
    """A token bucket: `allow()` is False once a client sends control frames faster than
    `rate` a second for longer than a burst of 2 seconds' worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = max(1.0, 2 * rate)
        self._tokens = self._burst
        self._clock = clock
        self._at = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        return self._tokens >= 0


def _ascii_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]] | None:
    try:
        return [(name.decode("ascii"), value.decode("ascii")) for name, value in headers]
    except UnicodeDecodeError:
        return None


_CONTROL_FRAMES = (h2.events.PingReceived, h2.events.RemoteSettingsChanged, h2.events.StreamReset)


class _GuardedEvents(EventsProcessor):
    """grpclib's event processing, with request headers decoded here (a non-ASCII one is the
    request's error, not the connection's) and control-frame floods ended with GOAWAY."""

    def __init__(self, handler: Any, connection: Any, protocol: GuardedProtocol) -> None:
        super().__init__(handler, connection)
        self._protocol = protocol
        self._flood = FloodGuard(protocol.limits.control_frames_per_second)

    def process(self, event: Any) -> None:
        if isinstance(event, _CONTROL_FRAMES) and not self._flood.allow():
            self._protocol.calm_down(type(event).__name__)
            return
        super().process(event)

    def process_request_received(self, event: h2.events.RequestReceived) -> None:
        self._protocol.had_request = True
        headers = _ascii_headers(event.headers)
        stream = self.connection.create_stream(stream_id=event.stream_id)
        release_stream = self.register(stream)
        self.handler.accept(stream, headers, release_stream)  # type: ignore[arg-type] # None: refused


class GuardedProtocol(H2Protocol):
    """One HTTP/2 connection: counted against the cap, closed when silent, calmed on floods.

    The HTTP/2 state (some 20 KB here) is made only once the client's 24-byte connection
    preface has arrived, so a thousand sockets that connect and say nothing cost little.
    """

    PREFACE_BYTES = 24

    def __init__(self, server: WireServer, handler: Any, config: Any, h2_config: Any) -> None:
        super().__init__(handler, config, h2_config)
        self.server = server
        self.limits = server.limits
        self.last_activity = time.monotonic()
        self.had_request = False
        self._transport: Any = None
        self._early = b""  # bytes before the HTTP/2 state exists
        self._watch: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def _started(self) -> bool:
        return hasattr(self, "connection")

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self.server.open_connections += 1
        if self.server.open_connections > self.limits.max_connections:
            self.server.refused_at_cap.warn(self.limits.max_connections)
            self._closed = True
            transport.close()
            return
        self._watch = asyncio.get_running_loop().call_later(
            self.limits.first_request_timeout_seconds, self._check_idle
        )

    def _start_h2(self) -> None:
        super().connection_made(self._transport)
        h2_conn = self.connection._connection
        h2_conn.update_settings({SettingCodes.MAX_HEADER_LIST_SIZE: self.limits.max_header_bytes})
        h2_conn.decoder.max_header_list_size = self.limits.max_header_bytes
        self.processor = _GuardedEvents(self.handler, self.connection, self)
        self.connection.flush()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self.last_activity = time.monotonic()
        if not self._started:
            self._early += data
            if len(self._early) < self.PREFACE_BYTES:
                return
            data, self._early = self._early, b""
            self._start_h2()
        super().data_received(data)

    def _check_idle(self) -> None:
        if not self.had_request:
            log.debug("gRPC connection closed: no request within its first seconds")
            self._go_away(ErrorCodes.NO_ERROR)
            return
        busy = any(s.open for s in self.connection._connection.streams.values())
        if not busy and time.monotonic() - self.last_activity >= self.limits.idle_timeout_seconds:
            self._go_away(ErrorCodes.NO_ERROR)
            return
        self._watch = asyncio.get_running_loop().call_later(
            self.limits.idle_timeout_seconds / 2, self._check_idle
        )

    def calm_down(self, frame: str) -> None:
        log.warning("gRPC connection closed: %s flood", frame)
        self._go_away(ErrorCodes.ENHANCE_YOUR_CALM)

    def _go_away(self, code: ErrorCodes) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._started:
            self._transport.close()
            return
        try:
            self.connection._connection.close_connection(error_code=code)
            self.connection.flush()
        finally:
            self.processor.close("connection closed by the server")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.server.open_connections -= 1
        if self._watch is not None:
            self._watch.cancel()
        self._closed = True
        if self._started:
            super().connection_lost(exc)


async def _refuse(
    stream: Any,
    release_stream: Callable[[], Any],
    status: Status,
    message: str,
    headers: Collection[tuple[str, str]] = (),
) -> None:
    """A trailers-only reply: the call ends with `status` before any handler runs."""
    try:
        await stream.send_headers(
            [
                (":status", "200"),
                ("content-type", GRPC_CONTENT_TYPE),
                ("grpc-status", str(status.value)),
                ("grpc-message", message),
                *headers,
            ],
            end_stream=True,
        )
        if stream.closable:
            stream.reset_nowait()
    finally:
        release_stream()


async def _framed(
    func: HandlerFunc, limits: GrpcLimits, compression: Compression, stream: Any
) -> None:
    remaining = stream.deadline.time_remaining() if stream.deadline is not None else None
    call = CallInfo(headers=stream.metadata, timeout_seconds=remaining)
    wire = WireStream(
        stream, limits.max_message_bytes, compression, call, limits.stream_send_timeout_seconds
    )
    if stream._cardinality.server_streaming:
        call.send_headers = wire.headers_now
    with opened(call):
        try:
            await func(wire)
        except GRPCError as error:
            if not (call.response_headers or call.response_trailers):
                raise  # grpclib ends the call, details included
            await wire.finish(error)
            return
    await wire.finish(None)


class _WireHandler(Handler):
    """Per connection: checks each request's headers, then runs its handler on a WireStream
    with the call's codec (proto or JSON) and compression."""

    def __init__(self, server: WireServer) -> None:
        super().__init__(
            server._mapping, server._codec, server._status_details_codec, server.__dispatch__
        )
        self._server = server
        self._codecs = server.codecs

    def accept(self, stream: Any, headers: Any, release_stream: Callable[[], Any]) -> None:
        self.__gc_step__()
        self._tasks[stream] = self.loop.create_task(self._route(stream, headers, release_stream))

    def _route(self, stream: Any, headers: list[tuple[str, str]] | None, release: Any) -> Any:
        if headers is None:
            log.warning("gRPC request refused: a header is not ASCII")
            return _refuse(stream, release, Status.INVALID_ARGUMENT, "headers must be ASCII")
        fields = dict(headers)
        path, verb = fields.get(":path"), fields.get(":method")
        if not path or not verb:
            log.warning("gRPC request refused: no :path or :method")
            return _refuse(stream, release, Status.INVALID_ARGUMENT, "missing :path or :method")
        base, _, subtype = fields.get("content-type", "").partition("+")
        codec = self._codecs.get(subtype or "proto") if base == GRPC_CONTENT_TYPE else None
        method = self.mapping.get(path)
        if codec is None:  # grpclib answers it: HTTP 415
            return self._run(self.mapping, self.codec, stream, headers, release)
        if method is None:
            return _refuse(stream, release, Status.UNIMPLEMENTED, f"unknown method {path}")
        encoding = fields.get("grpc-encoding", IDENTITY)
        if encoding not in ENCODINGS:
            return _refuse(
                stream,
                release,
                Status.UNIMPLEMENTED,
                f"grpc-encoding {encoding} is not supported",
                [("grpc-accept-encoding", ACCEPT_ENCODING)],
            )
        accepted = {e.strip() for e in fields.get("grpc-accept-encoding", "").split(",")}
        compression = Compression(request_gzip=encoding == GZIP, reply_gzip=GZIP in accepted)
        call = self._server.framed(path, method, compression)
        return self._run(call, codec, stream, headers, release)

    def _run(self, mapping: Any, codec: CodecBase, stream: Any, headers: Any, release: Any) -> Any:
        return request_handler(
            mapping, stream, headers, codec, self.status_details_codec, self.dispatch, release
        )


class WireServer(Server):
    """A grpclib Server whose connections are guarded and whose calls are framed by us."""

    def __init__(
        self, handlers: Collection[Any], limits: GrpcLimits, known: EncodedForms | None = None
    ) -> None:
        proto = StrictProtoCodec(limits.max_message_bytes, known)
        super().__init__(handlers, codec=proto, status_details_codec=StatusDetailsCodec())
        self.limits = limits
        self.codecs: dict[str, CodecBase] = {
            "proto": proto,
            "json": StrictJsonCodec(limits.max_message_bytes, known),
        }
        self.open_connections = 0
        # Per path and compression (4 kinds), the handler table of one call: made once.
        self._framed: dict[tuple[str, Compression], dict[str, MethodHandler]] = {}
        self.refused_at_cap = ThrottledLog("gRPC connections refused: %d open, the limit", log)
        # Headers arrive as bytes: _GuardedEvents decodes them, so one bad value is one call's
        # INVALID_ARGUMENT instead of an exception in the protocol.
        self._h2_config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_inbound_headers=False,
            normalize_outbound_headers=False,
        )

    def framed(
        self, path: str, method: MethodHandler, compression: Compression
    ) -> dict[str, MethodHandler]:
        """The handler table for one call of `path`, its messages framed by a WireStream."""
        key = (path, compression)
        table = self._framed.get(key)
        if table is None:
            func = functools.partial(_framed, method.func, self.limits, compression)
            table = self._framed[key] = {path: MethodHandler(func, *method[1:])}
        return table

    def _protocol_factory(self) -> H2Protocol:
        self.__gc_step__()
        handler = _WireHandler(self)
        self._handlers.add(handler)
        return GuardedProtocol(self, handler, self._config, self._h2_config)
