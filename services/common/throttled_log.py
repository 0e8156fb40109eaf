"""A log line that repeats at most once a minute."""

from __future__ import annotations

import logging
import math
import time


class ThrottledLog:
    """A warning at most once a minute: a flood of refusals must not flood the log too."""

    def __init__(self, message: str, log: logging.Logger) -> None:
        self._message = message
        self._log = log
        self._at = -math.inf

    def warn(self, *args: object) -> None:
        now = time.monotonic()
        if now - self._at >= 60:
            self._at = now
            self._log.warning(self._message, *args)


class OncePerMinute(logging.Filter):
    """A logging filter that lets a logger's records through at most once a minute: for a
    library that logs per request what a stranger can make it log (the propagators)."""

    def __init__(self) -> None:
        super().__init__()
        self._at = -math.inf

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._at < 60:
            return False
        self._at = now
        return True
