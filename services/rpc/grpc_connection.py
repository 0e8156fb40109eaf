"""What one client may cost the gRPC port, bounded per connection before any call runs: open
connections against a cap, connections that say nothing (no preface, no request, idle), and
frame floods (`flood_guard`: GOAWAY ENHANCE_YOUR_CALM); and how long a connection lives (an ageing
GOAWAY, so clients spread over replicas added since they connected). Request headers are
decoded here, so a non-ASCII one is its call's error, not the connection's.

It hooks grpclib at its documented seams (the protocol a `Server` makes per connection, the
`EventsProcessor` of each protocol); grpclib is pinned below 0.5 and tested at every edge by
tests/integration/test_grpc_edges.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import h2.events
from grpclib.metadata import decode_timeout
from grpclib.protocol import Connection, EventsProcessor, H2Protocol
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from services.common.throttled_log import ThrottledLog
from services.wire.flood_guard import FloodGuard, FloodRecord, FloodRules
from services.wire.grpc import PartialBudget

from .grpclib_seams import LeanStream, h2_connection

log = logging.getLogger(__name__)

# Whole messages' worth of request bytes that may be half received at once: on one connection,
# and in the process (a client announcing large messages it never finishes holds no more).
CONNECTION_PARTIAL_MESSAGES: Final = 2
PROCESS_PARTIAL_MESSAGES: Final = 16
AGED_CHECK_SECONDS: Final = 0.05  # an aged connection closes this soon after its last call


@dataclass(frozen=True, slots=True)
class GrpcLimits:
    """What one client may cost the gRPC port (docs/operations.md: configuration)."""

    max_message_bytes: int
    max_header_bytes: int = 16_384
    max_connections: int = 4096
    # Streams open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS; h2 resets a
    # connection that opens more, so it is well above what a busy client keeps in flight).
    max_concurrent_streams: int = 1000
    first_request_timeout_seconds: float = 10.0  # connected, but no request yet
    idle_timeout_seconds: float = 300.0  # no call open and nothing received
    flood_rules: FloodRules = field(
        default_factory=FloodRules
    )  # frames that carry no request (flood_guard)
    stream_send_timeout_seconds: float = 10.0  # a streamed message the client won't take
    # A connection this old (+-10 %) gets a GOAWAY, so clients reconnect and re-resolve
    # (grpc-go's MaxConnectionAge); its calls then have the grace to finish. 0: never.
    max_connection_age_seconds: float = 0.0
    max_connection_age_grace_seconds: float = 30.0


class ConnectionCount:
    """The open connections of one server, against its cap, and the request bytes all of them
    may hold half-received (a connection's own budget is a part of it)."""

    def __init__(self, limits: GrpcLimits, flood: FloodRecord) -> None:
        self.limits = limits
        self.flood = flood
        self.open = 0
        self.live: set[GuardedProtocol] = set()
        self.refused_at_cap = ThrottledLog("gRPC connections refused: %d open, the limit", log)
        self.partial = PartialBudget(PROCESS_PARTIAL_MESSAGES * limits.max_message_bytes)

    def connection_budget(self) -> PartialBudget:
        return PartialBudget(
            CONNECTION_PARTIAL_MESSAGES * self.limits.max_message_bytes, self.partial
        )


def _ascii_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]] | None:
    try:
        return [(name.decode("ascii"), value.decode("ascii")) for name, value in headers]
    except UnicodeDecodeError:
        return None


class _WatchedTransport:
    """The connection's transport, each write shown to the flood guard first: what the server
    sends is the work a client's frames are weighed against."""

    __slots__ = ("_sent", "_transport")

    def __init__(self, transport: Any, sent: Callable[[bytes], None]) -> None:
        self._transport = transport
        self._sent = sent

    def write(self, data: bytes) -> None:
        self._sent(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _GuardedEvents(EventsProcessor):
    """grpclib's event processing, with request headers decoded here (a non-ASCII one is the
    request's error, not the connection's)."""

    def __init__(self, handler: Any, connection: Any, protocol: GuardedProtocol) -> None:
        super().__init__(handler, connection)
        self._protocol = protocol

    def process(self, event: Any) -> None:
        super().process(event)

    def process_request_received(self, event: h2.events.RequestReceived) -> None:
        if event.stream_id > self._protocol.last_stream_taken:  # after our GOAWAY: not taken
            h2_connection(self.connection).reset_stream(event.stream_id, ErrorCodes.REFUSED_STREAM)
            self.connection.flush()
            return
        self._protocol.had_request = True
        headers = _ascii_headers(event.headers)
        self._protocol.declared_deadline(event.stream_id, headers)
        stream = LeanStream(self.connection, event.stream_id)
        release_stream = self.register(stream)
        self.handler.accept(stream, headers, release_stream)  # type: ignore[arg-type] # None: refused


class GuardedProtocol(H2Protocol):
    """One HTTP/2 connection: counted against the cap, closed when silent, calmed on floods.

    The HTTP/2 state (some 20 KB here) is made only once the client's 24-byte connection
    preface has arrived, so a thousand sockets that connect and say nothing cost little.
    """

    PREFACE_BYTES = 24

    def __init__(
        self, connections: ConnectionCount, handler: Any, config: Any, h2_config: Any
    ) -> None:
        super().__init__(handler, config, h2_config)
        self._connections = connections
        self.limits = connections.limits
        self.last_activity = self.connected_at = time.monotonic()
        self.had_request = False
        self._transport: Any = None
        self._early = b""  # bytes before the HTTP/2 state exists
        self.received = 0  # bytes the client has sent: who has sent least goes first at the cap
        self._flood = FloodGuard(self.limits.flood_rules)
        self._watch: asyncio.TimerHandle | None = None
        self._age: asyncio.TimerHandle | None = None
        self.last_stream_taken = 2**31 - 1  # lowered by an ageing GOAWAY
        self._closed = False

    @property
    def _started(self) -> bool:
        return hasattr(self, "connection")

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._connections.open += 1
        self._connections.live.add(self)
        if self._connections.open > self.limits.max_connections and not self._make_room():
            self._connections.refused_at_cap.warn(self.limits.max_connections)
            self._closed = True
            transport.close()
            return
        loop = asyncio.get_running_loop()
        self._watch = loop.call_later(self.limits.first_request_timeout_seconds, self._check_idle)
        if self.limits.max_connection_age_seconds > 0:
            jitter = random.uniform(0.9, 1.1)  # noqa: S311 - spreads reconnects, no secret
            self._age = loop.call_later(
                self.limits.max_connection_age_seconds * jitter, self._age_out
            )

    def _age_out(self) -> None:
        """Old enough: a GOAWAY that takes no new call, the calls taken finish within the grace,
        then the connection closes. The frame is written past h2, whose state would refuse
        every frame still owed to those calls once it sends a GOAWAY itself."""
        if self._closed:
            return
        if not self._started:
            self._go_away(ErrorCodes.NO_ERROR)
            return
        self.connection.flush()
        goaway = GoAwayFrame(0)
        goaway.last_stream_id = h2_connection(self.connection).highest_inbound_stream_id
        goaway.error_code = ErrorCodes.NO_ERROR
        self._transport.write(goaway.serialize())
        self.last_stream_taken = goaway.last_stream_id
        grace_ends = time.monotonic() + self.limits.max_connection_age_grace_seconds
        self._close_when_done(grace_ends)

    def _close_when_done(self, grace_ends: float) -> None:
        if self._closed:
            return
        if self.idle:
            self._closed = True
            self._transport.close()
        elif time.monotonic() >= grace_ends:
            log.info("gRPC connection aged out with calls still open after the grace")
            self._go_away(ErrorCodes.NO_ERROR)
            self._transport.close()
        else:
            self._age = asyncio.get_running_loop().call_later(
                AGED_CHECK_SECONDS, self._close_when_done, grace_ends
            )

    def _make_room(self) -> bool:
        """At the cap: close the connection that has sent the least and has no call open (no
        request yet, or idle), so a newcomer gets in; False when every other one is busy."""
        candidates = [c for c in self._connections.live if c is not self and c.idle]
        if not candidates:
            return False
        # The oldest of those that sent least: a caller that just connected has sent as little
        # as a silent socket yet, but it has not been silent for long.
        victim = min(candidates, key=lambda c: (c.received, c.connected_at))
        victim._go_away(ErrorCodes.NO_ERROR)
        victim._transport.close()
        return True

    @property
    def idle(self) -> bool:
        if self._closed:
            return False
        if not self._started:
            return True
        return not any(s.open for s in h2_connection(self.connection).streams.values())

    def _start_h2(self) -> None:
        """grpclib's `H2Protocol.connection_made`, with the HTTP/2 settings made before the
        first SETTINGS frame goes out: h2's default of 100 concurrent streams (grpclib keeps
        it) reset the whole connection when grpc-go opened its 101st stream before reading
        that frame, as an eager client may (ghz at 128 in flight lost 28 calls a run)."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h2_conn = H2Connection(config=self.h2_config)
        h2_conn.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: self.limits.max_concurrent_streams,
                SettingCodes.MAX_HEADER_LIST_SIZE: self.limits.max_header_bytes,
            },
        )
        h2_conn.decoder.max_header_list_size = self.limits.max_header_bytes
        h2_conn.initiate_connection()
        initial = h2_conn.local_settings.initial_window_size
        if self.config.http2_connection_window_size != initial:
            h2_conn.increment_flow_control_window(
                self.config.http2_connection_window_size - initial
            )
        if self.config.http2_stream_window_size != initial:
            h2_conn.update_settings(
                {SettingCodes.INITIAL_WINDOW_SIZE: self.config.http2_stream_window_size}
            )
        watched: Any = _WatchedTransport(self._transport, self._flood.sent)
        self.connection = Connection(h2_conn, watched, config=self.config)
        self.processor = _GuardedEvents(self.handler, self.connection, self)
        # Read by each call's WireStream (grpclib's Connection has no place for it: pinned).
        self.connection.budget = self._connections.connection_budget()  # type: ignore[attr-defined]
        self.connection.flush()
        self.connection.initialize()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self._closed:
            return
        self.last_activity = time.monotonic()
        if not self._started:
            self._early += data
            if len(self._early) < self.PREFACE_BYTES:
                return
            data, self._early = self._early, b""
            self._start_h2()
        broken = self._flood.received(data)
        if broken:
            self.calm_down(broken)
            return
        super().data_received(data)
        broken = self._flood.outbound(not self._transport.get_write_buffer_size())
        if broken:
            self.calm_down(broken)

    def _check_idle(self) -> None:
        if not self.had_request:
            log.debug("gRPC connection closed: no request within its first seconds")
            self._go_away(ErrorCodes.NO_ERROR)
            return
        busy = any(s.open for s in h2_connection(self.connection).streams.values())
        if not busy and time.monotonic() - self.last_activity >= self.limits.idle_timeout_seconds:
            self._go_away(ErrorCodes.NO_ERROR)
            return
        self._watch = asyncio.get_running_loop().call_later(
            self.limits.idle_timeout_seconds / 2, self._check_idle
        )

    def declared_deadline(self, stream: int, headers: list[tuple[str, str]] | None) -> None:
        """A call's grpc-timeout, told to the flood guard: cancelling at it is no rapid reset."""
        for name, value in headers or ():
            if name == "grpc-timeout":
                with contextlib.suppress(ValueError):  # a bad one is the call's error, later
                    self._flood.deadline(stream, decode_timeout(value))
                return

    def calm_down(self, rule: str) -> None:
        if self._closed:
            return  # the rest of a flood already read: said once
        self._connections.flood.closed("grpc", rule, self._transport.get_extra_info("peername"))
        self._go_away(ErrorCodes.ENHANCE_YOUR_CALM)
        self._transport.close()  # after the GOAWAY: a flood's remaining bytes cost no more reads

    def _go_away(self, code: ErrorCodes) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._started:
            self._transport.close()
            return
        try:
            h2_connection(self.connection).close_connection(error_code=code)
            self.connection.flush()
        finally:
            self.processor.close("connection closed by the server")

    def connection_lost(self, exc: BaseException | None) -> None:
        self._connections.open -= 1
        self._connections.live.discard(self)
        for timer in (self._watch, self._age):
            if timer is not None:
                timer.cancel()
        self._closed = True
        if self._started:
            super().connection_lost(exc)
