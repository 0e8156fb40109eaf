"""Process-wide limits a server sets for itself at start."""

from __future__ import annotations

import resource


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one, so the servers' own connection caps
    (MAX_CONNECTIONS), not the OS default of often 1024, decide when to refuse; the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


RESERVED_FILES = 128  # descriptors kept for databases, logs, pools and the listening sockets


def connection_cap(configured: int, ports: int) -> int:
    """Connections one port may hold: MAX_CONNECTIONS, or less when the process's limit on open
    files leaves less room over `ports` ports (a client past the fd limit would not even be
    accepted, let alone answered)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(8, min(configured, (soft - RESERVED_FILES) // max(1, ports)))
