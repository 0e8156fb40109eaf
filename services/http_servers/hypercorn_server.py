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
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.sockets import BACKLOG
from services.wire.flood_guard import FloodRecord

from .http_limits import HttpLimits
from .hypercorn_seams import use_guarded_h2

log = logging.getLogger(__name__)


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
    flood: FloodRecord | None = None,
) -> EmbeddedHypercorn:
    use_guarded_h2(flood or FloodRecord())
    config = Config()
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    config.graceful_timeout = grace_seconds
    config.keep_alive_timeout = idle_timeout_seconds
    # Hypercorn closes a connection after 1,000 requests by default; on HTTP/2 its GOAWAY
    # refuses the streams already in flight (connect-node at 16 in flight lost 16 calls per
    # thousand). Connections age by HTTP_IDLE_TIMEOUT_SECONDS and restarts instead.
    config.keep_alive_max_requests = 2**62
    # h2 resets a connection whose client opens more streams than this before it has read the
    # server's SETTINGS (Hypercorn's default, 100, is what an eager client at load passes).
    config.h2_max_concurrent_streams = 1000
    config.read_timeout = int(limits.request_read_timeout_seconds) or 1
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.h2_max_header_list_size = limits.max_header_bytes
    config.backlog = BACKLOG
    if cert_file and key_file:
        config.certfile, config.keyfile = str(cert_file), str(key_file)
    return EmbeddedHypercorn(HeadLimit(app, limits.max_header_bytes), config)
