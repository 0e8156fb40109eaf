"""Stale-if-error (RFC 5861's idea for a till): when master-data cannot be reached on either
transport, a scan of an item seen before sells at its last known copy instead of failing.

An outage begins at the first lookup that fails UNAVAILABLE (never NOT_FOUND, INVALID or a
rejected token: those are answers) and is logged once; while it lasts, lookups that have last
known copies answer from them at once, without waiting for a dead hop, and those without one fail
at once; after each cool-down one lookup probes master-data, and the first that succeeds ends the
outage (logged once, with how many items were sold from last known copies).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.common.circuit_breaker import CircuitBreaker

log = logging.getLogger(__name__)


class Outage:
    """master-data as a whole: reachable, or away since when."""

    def __init__(
        self,
        cooldown_seconds: float,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._breaker = CircuitBreaker(cooldown_seconds, clock)
        self._clock = clock
        self._since = 0.0
        self._sold_last_known = 0  # in the current outage
        self.sold = Counter(
            "item_lookups_last_known",
            "Items answered from their last known copy while master-data was unreachable",
            registry=registry,
        )
        self.active = Gauge(
            "item_master_outage", "1 while master-data is unreachable on both transports",
            registry=registry,
        )  # fmt: skip

    def allow(self) -> bool:
        """May a lookup go to master-data now (always, outside an outage)?"""
        return self._breaker.allow()

    def failed(self) -> None:
        if self._breaker.failed():
            self._since = self._clock()
            self._sold_last_known = 0
            self.active.set(1)
            log.warning("master-data unreachable: scans of known items sell at last known copies")

    def succeeded(self) -> None:
        if self._breaker.succeeded():
            self.active.set(0)
            log.info(
                "master-data answers again after %.1f s: %d items were sold at last known copies",
                self._clock() - self._since, self._sold_last_known,
            )  # fmt: skip

    def inconclusive(self) -> None:
        self._breaker.inconclusive()

    def sold_last_known(self, count: int) -> None:
        self._sold_last_known += count
        self.sold.inc(count)
