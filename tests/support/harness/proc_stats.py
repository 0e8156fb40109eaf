"""What a process costs, from /proc: CPU used (seconds, or nanoseconds over all threads),
memory resident now."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """user + system time of pid and its reaped children; 0.0 where /proc is missing."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat.read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / _TICKS


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of pid in nanoseconds, from schedstat: fine enough for a few
    requests, where a clock tick (10 ms) is not; 0 where /proc is missing."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(task.read_text().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    return total


def rss_kib(pid: int) -> int:
    """Resident memory of pid in KiB; 0 where /proc is missing."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return 0
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
