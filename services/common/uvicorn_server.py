"""uvicorn embedded in a process that owns its signals, sockets and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

import uvicorn
from starlette.types import ASGIApp

from services.wire.http1 import GuardedHttpToolsProtocol, HttpLimits

# Connections the kernel queues before the server accepts them. A burst past it (a flood of
# connects) makes new clients' SYNs wait a 1 s retransmit; 4096 is Linux's usual somaxconn.
BACKLOG: Final = 4096


class EmbeddedUvicorn(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the service's main().

    uvicorn's own handlers would re-raise the signal after its shutdown and kill the process
    before the service's other parts (the gRPC server, the database) have closed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(
    host: str, port: int, *, reuse_port: bool = False, listen: bool = True
) -> socket.socket:
    """Bind a TCP socket; port 0 picks a free one, read back with `sock.getsockname()`.

    With reuse_port, several processes may bind the same port (SO_REUSEPORT) and the kernel
    spreads new connections over those that listen.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def http_server(
    app: ASGIApp,
    *,
    grace_seconds: float,
    log_level: str,
    limits: HttpLimits,
    idle_timeout_seconds: float,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> EmbeddedUvicorn:
    """A uvicorn server on uvloop + httptools (the fastest pair measured here), bounded by
    `limits` before any request reaches the app; TLS with files."""
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=GuardedHttpToolsProtocol.for_limits(limits),
        timeout_keep_alive=max(1, math.ceil(idle_timeout_seconds)),
        backlog=BACKLOG,
        lifespan="off",
        access_log=False,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=math.ceil(grace_seconds),
        server_header=False,
        proxy_headers=False,  # nothing here reads the client address: no middleware for it
        ssl_certfile=cert_file,
        ssl_keyfile=key_file,
    )
    return EmbeddedUvicorn(config)


class Starting(Protocol):
    started: bool


async def wait_started(server: Starting, task: asyncio.Task[None]) -> None:
    """Return once the server listens (or its task ended, e.g. on a bind error)."""
    while not server.started and not task.done():  # noqa: ASYNC110 - the servers expose a flag only
        await asyncio.sleep(0.005)
    if task.done():
        task.result()
