"""A circuit breaker: after a failure, skip the endpoint for a cool-down, then probe it once."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.Enum):
    CLOSED = "closed"  # use the endpoint
    OPEN = "open"  # skip it until the cool-down ends
    HALF_OPEN = "half_open"  # one probe call is out; others still skip it


class CircuitBreaker:
    """Keeps a dead endpoint from costing more than one failed attempt per cool-down."""

    def __init__(
        self, cooldown_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cooldown = cooldown_seconds
        self._clock = clock
        self.state = BreakerState.CLOSED
        self._opened_at = 0.0

    def allow(self) -> bool:
        """May a call go to the endpoint now? After the cool-down, one probe may."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self._clock() - self._opened_at >= self._cooldown:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def succeeded(self) -> bool:
        """Record a success; True when this closes the breaker (the endpoint is back)."""
        reopened = self.state is not BreakerState.CLOSED
        self.state = BreakerState.CLOSED
        return reopened

    def inconclusive(self) -> None:
        """The probe proved nothing (its caller ran out of time): let the next call probe."""
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.OPEN

    def failed(self) -> bool:
        """Record a transport failure; True when this opens the breaker."""
        opened = self.state is BreakerState.CLOSED
        self.state = BreakerState.OPEN
        self._opened_at = self._clock()
        return opened
