"""Listening sockets the services bind themselves, before any server runs on them."""

from __future__ import annotations

import socket
from typing import Final

from .setup_errors import bind_failed

# Connections the kernel queues before the server accepts them. A burst past it (a flood of
# connects) makes new clients' SYNs wait a 1 s retransmit; 4096 is Linux's usual somaxconn.
BACKLOG: Final = 4096


def listening_socket(
    host: str, port: int, *, setting: str = "", reuse_port: bool = False, listen: bool = True
) -> socket.socket:
    """Bind a TCP socket; port 0 picks a free one, read back with `sock.getsockname()`.

    With reuse_port, several processes may bind the same port (SO_REUSEPORT) and the kernel
    spreads new connections over those that listen. A port that cannot be bound is a
    SetupError naming it and its `setting` (the variable that chose it).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise bind_failed(host, port, setting, error) from None
    if listen:
        sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock
