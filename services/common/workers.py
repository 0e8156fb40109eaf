"""Several processes of one service on the same ports (SO_REUSEPORT): the kernel spreads new
connections over them, so the service uses more than one core.

The parent resolves the ports (port 0 becomes a free port), forks the workers, forwards
SIGTERM/SIGINT to them and waits. Each worker is a complete service with its own caches; what
they share is the database (and what keeps caches honest there: master-data's catalog version,
the cart's version check on every save).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable

from .sockets import listening_socket

log = logging.getLogger(__name__)


def run_workers(
    service: str,
    workers: int,
    bind_host: str,
    ports: dict[str, int],
    serve_one: Callable[[dict[str, int]], None],
) -> int:
    """Fork `workers` workers; each gets `ports` resolved to real ports (name -> port) and
    binds them with SO_REUSEPORT. The exit status of the worst."""
    # Bound (not listening) sockets hold the ports while the workers bind theirs.
    holders = {
        name: listening_socket(bind_host, port, setting=name.upper(), reuse_port=True, listen=False)
        for name, port in ports.items()
    }
    resolved = {name: sock.getsockname()[1] for name, sock in holders.items()}
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            for holder in holders.values():
                holder.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 0
            try:
                serve_one(resolved)
            except SystemExit as stop:  # e.g. a setup error, already said in one line
                status = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                traceback.print_exc()
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children.append(pid)
    shown = ", ".join(f"{name} {port}" for name, port in resolved.items())
    log.info("%s started %d workers on %s", service, len(children), shown)

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
    for holder in holders.values():
        holder.close()
    return worst
