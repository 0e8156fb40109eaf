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
