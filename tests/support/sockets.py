"""Loopback socket facts from /proc: free ports, and how many connections a server accepted."""

from __future__ import annotations

import socket
from pathlib import Path

_LISTEN = "0A"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepted_connections(port: int) -> int:
    """Server-side sockets of `port` in any state but LISTEN, TIME_WAIT included: every
    connection accepted in the last minute or so, whether still open or already closed."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] != _LISTEN:
                total += 1
    return total
