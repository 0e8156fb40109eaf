"""Hypercorn embedded in a service's own event loop: the HTTP server that speaks HTTP/2 (h2c
with prior knowledge or Upgrade, h2 through ALPN with TLS) as well as HTTP/1.1.

uvicorn, the default, speaks only HTTP/1.1 but answered a Connect lookup in about half the time
(docs/master-data.md), so master-data runs Hypercorn only when HTTP_SERVER=hypercorn.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any, Final

import h2.events
from h2.errors import ErrorCodes
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.events import Closed
from hypercorn.protocol.h2 import H2Protocol
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.sockets import BACKLOG

from .flood_guard import FloodGuard, counts_as_control
from .http1 import HttpLimits

log = logging.getLogger(__name__)


CONTROL_FRAMES_PER_SECOND: Final = 500.0  # per HTTP/2 connection, as on the gRPC port


def _guard_h2_events() -> None:
    """Two mends of Hypercorn 0.18's HTTP/2, at its event handler (pinned below 0.19):

    - A DATA frame for a stream already answered and closed (the app replied before reading
      the whole body: a 405, 413 or 415, say) raises KeyError and takes the whole connection
      down, every other call on it included. Such frames are dropped here, their flow-control
      credit returned, as Hypercorn already does for END_STREAM
      (tests/integration/test_http_edges.py sends one).
    - Hypercorn has no budget for frames that carry no request: a WINDOW_UPDATE or SETTINGS
      flood kept a core busy. Each connection is held to CONTROL_FRAMES_PER_SECOND here
      (`flood_guard`); past it, GOAWAY ENHANCE_YOUR_CALM and the connection closes.
    """
    handle_events = H2Protocol._handle_events
    if getattr(handle_events, "drops_finished", False):
        return

    async def patched(self: H2Protocol, events: list[h2.events.Event]) -> None:
        flood: FloodGuard | None = self.__dict__.get("_flood_guard")
        if flood is None:
            flood = self.__dict__["_flood_guard"] = FloodGuard(CONTROL_FRAMES_PER_SECOND)
        for event in events:  # one at a time: an earlier event may open or close a stream
            if counts_as_control(event) and not flood.allow():
                log.warning("HTTP/2 connection closed: %s flood", type(event).__name__)
                self.connection.close_connection(error_code=ErrorCodes.ENHANCE_YOUR_CALM)
                await self._flush()
                await self.send(Closed())
                return
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            else:
                await handle_events(self, [event])

    patched.drops_finished = True  # type: ignore[attr-defined]
    H2Protocol._handle_events = patched  # type: ignore[method-assign]


_guard_h2_events()


class HeadLimit:
    """ASGI guard for Hypercorn: a request head over `max_bytes` gets 431 before the app runs.

    Hypercorn's h11 bounds only a head still arriving (`h11_max_incomplete_size`); a complete
    head read in one go passes it, which uvicorn's guarded protocol does not let happen.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            head += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if head > self._max:
                message = f"the request head exceeds {self._max} bytes"
                await PlainTextResponse(message, 431)(scope, receive, send)
                return
        await self._app(scope, receive, send)


class EmbeddedHypercorn:
    """The same face as EmbeddedUvicorn: `serve(sockets)`, `started`, `should_exit`."""

    def __init__(self, app: ASGIApp, config: Config) -> None:
        self._app = app
        self._config = config
        self._stop = asyncio.Event()
        self.started = False

    @property
    def should_exit(self) -> bool:
        return self._stop.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._stop.set()

    async def serve(self, sockets: list[socket.socket]) -> None:
        self._config.bind = [f"fd://{sock.fileno()}" for sock in sockets]
        self.started = True  # the sockets listen already: early clients wait in the backlog
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_about_cancelled_connections)
        await serve(self._app, self._config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]


def _quiet_about_cancelled_connections(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """Hypercorn's connections end cancelled at shutdown, and asyncio's stream callback then
    reports each one's CancelledError as an "Exception in callback" traceback: not an error."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def hypercorn_server(
    app: ASGIApp,
    *,
    grace_seconds: float,
    limits: HttpLimits,
    idle_timeout_seconds: float,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> EmbeddedHypercorn:
    config = Config()
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    config.graceful_timeout = grace_seconds
    config.keep_alive_timeout = idle_timeout_seconds
    config.read_timeout = int(limits.request_read_timeout_seconds) or 1
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.h2_max_header_list_size = limits.max_header_bytes
    config.backlog = BACKLOG
    if cert_file and key_file:
        config.certfile, config.keyfile = str(cert_file), str(key_file)
    return EmbeddedHypercorn(HeadLimit(app, limits.max_header_bytes), config)
