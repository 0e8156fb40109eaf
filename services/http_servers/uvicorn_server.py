"""uvicorn embedded in a process that owns its signals, sockets and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp

from services.common.sockets import BACKLOG

from .http_limits import HttpLimits
from .uvicorn_seams import GuardedHttpToolsProtocol


class EmbeddedUvicorn(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the service's main().

    uvicorn's own handlers would re-raise the signal after its shutdown and kill the process
    before the service's other parts (the gRPC server, the database) have closed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
