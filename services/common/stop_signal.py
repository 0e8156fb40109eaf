"""Waiting for SIGTERM or SIGINT: what every service's main loop does until it shuts down."""

from __future__ import annotations

import asyncio
import signal


async def until_stop_signal(*watched: asyncio.Task[None]) -> None:
    """Return on SIGTERM or SIGINT, or as soon as a watched task ends (a server that died)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({stopped, *watched}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
