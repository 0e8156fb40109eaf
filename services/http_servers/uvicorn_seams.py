"""The one module that touches uvicorn's private names: its httptools protocol (an internal
module, `uvicorn.protocols.http.httptools_impl`) subclassed with the bounds it lacks, checked
before any application code: the size of a request head (431), the time to send a whole request
(408), the open connections of the port (503), and an `Upgrade` we do not speak (h2c) served as
plain HTTP/1.1 with its body.

httptools keeps no limit on header size and buffers a header until it ends; llhttp ends a
message at the head of an Upgrade request and hands the body back as "upgraded" bytes, which
uvicorn drops. Both are fixed here by counting and routing bytes before the parser sees them.
uvicorn has no public hook for a protocol's bytes; tests/http_servers/test_uvicorn_seams.py
fails first, naming the seam, when an upgrade moves what this uses.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.common.throttled_log import ThrottledLog
from services.wire.headers import ascii_digits

from .http_limits import HttpLimits

log = logging.getLogger(__name__)

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, bounded. `limits` is set on the subclass `for_limits` makes."""

    limits: ClassVar[HttpLimits] = HttpLimits()
    refused_at_cap: ClassVar[ThrottledLog]
    refused_invalid: ClassVar[ThrottledLog]

    @classmethod
    def for_limits(cls, limits: HttpLimits) -> type[GuardedHttpToolsProtocol]:
        """The protocol class of one server: its limits, and its own throttled log lines."""
        return type(
            "GuardedHttpTools",
            (cls,),
            {
                "limits": limits,
                "refused_at_cap": ThrottledLog("HTTP connections refused: %d open, the limit", log),
                "refused_invalid": ThrottledLog("invalid HTTP requests refused (400)", log),
            },
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._received = 0  # bytes this connection has sent: who has sent least goes first
        self._read_timer: asyncio.TimerHandle | None = None
        self._upgrade_body: int | None = None  # body bytes still due after an ignored Upgrade
        self._head_too_large = False
        self._refused = False

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self.refused_at_cap.warn(self.limits.max_connections)
            self._refuse(503, "too many connections")
            return
        self._arm_read_timer()

    def _make_room(self) -> bool:
        """At the cap: close the connection that has sent the least and waits on nothing (a
        head half sent, a keep-alive between requests), so a newcomer gets in; False when
        every other connection has a request in flight."""
        candidates = [
            other
            for other in self.connections
            if other is not self and isinstance(other, GuardedHttpToolsProtocol) and other.idle
        ]
        if not candidates:
            return False
        victim = min(candidates, key=lambda other: other._received)
        victim.transport.close()
        self.connections.discard(victim)
        return True

    @property
    def idle(self) -> bool:
        """No request is being answered: a head still arriving, or between two requests."""
        cycle = self.cycle
        return self._in_head and (cycle is None or cycle.response_complete)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def _arm_read_timer(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(
                self.limits.request_read_timeout_seconds, self._read_timed_out
            )

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self._in_head:
            self._refuse(408, "the request took too long to arrive")
        elif not self.transport.is_closing():
            self.transport.close()  # a body that stopped coming: the app sees a disconnect

    def _refuse(self, status: int, message: str) -> None:
        self._refused = True
        self._disarm_read_timer()
        if self.transport.is_closing():
            return
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()

    # -- bytes -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._upgrade_body is not None:
            self._feed_upgrade_body(data)
            return
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._feed_upgrade_body(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError:
            self.refused_invalid.warn()
            self._refuse(400, "invalid HTTP request")
            return
        if self._head_too_large or (
            self._in_head and self._head_bytes > self.limits.max_header_bytes
        ):
            self._refuse(431, f"the request head exceeds {self.limits.max_header_bytes} bytes")

    def _feed_upgrade_body(self, data: bytes) -> None:
        """Bytes after the head of an Upgrade request we ignore: its body, then the next
        request for a fresh parser."""
        due = self._upgrade_body or 0
        body, rest = data[:due], data[due:]
        if body:
            self.on_body(body)
        self._upgrade_body = due - len(body)
        if self._upgrade_body:
            return
        self._upgrade_body = None
        self.on_message_complete()
        self.parser = httptools.HttpRequestParser(self)
        if rest:
            self.data_received(rest)

    # -- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._arm_read_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        head = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if head > self.limits.max_header_bytes:
            self._head_too_large = True  # refused once feed_data returns
            return
        if self.parser.should_upgrade() and not self._should_upgrade():
            if any(name == b"transfer-encoding" for name, _ in self.headers):
                self._refused = True
                self.loop.call_soon(self._refuse, 400, "an Upgrade request needs Content-Length")
                return
            self._upgrade_body = self._declared_length()
        super().on_headers_complete()

    def _declared_length(self) -> int:
        for name, value in self.headers:
            if name == b"content-length":
                return ascii_digits(value.decode("latin-1")) or 0
        return 0

    def on_body(self, body: bytes) -> None:
        if not (self._head_too_large or self._refused):
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._head_too_large or self._refused:
            return
        if self._upgrade_body:
            return  # llhttp ends the message at the head; the body comes through us
        self._disarm_read_timer()
        self._in_head = True
        super().on_message_complete()
