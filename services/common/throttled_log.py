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
