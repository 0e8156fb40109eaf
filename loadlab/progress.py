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
        self._last_draw = self._started
        self._tty = sys.stderr.isatty()

    @property
    def done(self) -> int:
        return self._done

    def advance(self, errors: int = 0) -> None:
        """One more done; with a known total the bar is redrawn, the last time with a newline."""
        self.tick(errors)
        if self._done == self._total:
            self.finish()

    def tick(self, errors: int = 0) -> None:
        self._done += 1
        self._errors += errors
        now = time.monotonic()
        if now - self._last_draw >= (0.1 if self._tty else 5.0):
            self._last_draw = now
            self._draw(now, final=False)

    def set(self, done: int) -> None:
        """Where a count read from elsewhere has got to (redrawn as `tick` does)."""
        self._done = done
        now = time.monotonic()
        if now - self._last_draw >= (0.1 if self._tty else 5.0):
            self._last_draw = now
            self._draw(now, final=False)

    def finish(self) -> None:
        self._draw(time.monotonic(), final=True)

    def _draw(self, now: float, *, final: bool) -> None:
        rate = self._done / max(now - self._started, 1e-9)
        if self._total:
            width = 30
            filled = width * self._done // self._total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {self._done}/{self._total}"
        else:  # open-ended (a timed run): a spinner of counts
            bar = f"{self._done:>6}"
        line = f"{self._label:<24} {bar} {self._unit}  {rate:6.1f}/s  errors {self._errors}"
        if self._tty:
            sys.stderr.write(f"\r{line}" + ("\n" if final else ""))
        elif final or now - self._started > 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
