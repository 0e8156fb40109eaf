"""Several master-data processes on the same ports (SO_REUSEPORT): the kernel spreads new
connections over them, so lookups use more than one core.

The parent resolves the ports (port 0 becomes a free port), forks the workers, forwards
SIGTERM/SIGINT to them and waits; each worker is a complete master-data with its own read
cache (kept fresh by the catalog version every worker polls).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable

from services.common.uvicorn_server import listening_socket

from .settings import MasterDataSettings

log = logging.getLogger("master_data")


def run_workers(
    settings: MasterDataSettings, serve_one: Callable[[MasterDataSettings], None]
) -> int:
    """Fork `settings.workers` workers sharing the resolved ports; the exit status of the worst."""
    # Bound (not listening) sockets hold the ports while the workers bind theirs.
    holders = [
        listening_socket(settings.bind_host, settings.http_port, reuse_port=True, listen=False)
    ]
    http_port = holders[0].getsockname()[1]
    grpc_port = settings.grpc_port
    if settings.use_grpc:
        holders.append(
            listening_socket(settings.bind_host, grpc_port, reuse_port=True, listen=False)
        )
        grpc_port = holders[1].getsockname()[1]
    worker_settings = settings.model_copy(
        update={"workers": 1, "reuse_port": True, "http_port": http_port, "grpc_port": grpc_port}
    )
    children: list[int] = []
    for _ in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # the worker
            for holder in holders:
                holder.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve_one(worker_settings)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
        children.append(pid)
    log.info(
        "master-data started %d workers on HTTP %d, gRPC %s",
        len(children),
        http_port,
        grpc_port if settings.use_grpc else "off",
    )

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):  # it has exited already
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        worst = max(worst, os.waitstatus_to_exitcode(status) & 0xFF)
    for holder in holders:
        holder.close()
    return worst
