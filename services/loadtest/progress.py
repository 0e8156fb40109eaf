"""A progress bar on stderr: redrawn in place on a terminal, a line every few seconds in a log."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, unit: str = "carts") -> None:
        self._total = total
        self._label = label
        self._unit = unit
        self._done = 0
        self._errors = 0
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._tty = sys.stderr.isatty()

    def advance(self, errors: int = 0) -> None:
        self._done += 1
        self._errors += errors
        now = time.monotonic()
        if now - self._last_draw >= (0.1 if self._tty else 5.0) or self._done == self._total:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        width = 30
        filled = width * self._done // max(1, self._total)
        rate = self._done / max(now - self._started, 1e-9)
        line = (
            f"{self._label:<18} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self._done}/{self._total} {self._unit}  {rate:6.1f}/s  errors {self._errors}"
        )
        if self._tty:
            end = "\n" if self._done == self._total else ""
            sys.stderr.write(f"\r{line}{end}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
