"""The cart's item cache kept fresh by master-data's WatchItemChanges stream.

One stream per cart process, covering every tenant it has looked items up for. Each change
evicts the items it names (a reset clears the cache) and has them fetched again at once
(`refresh`); a heartbeat moves the position on. From the stream's second heartbeat (master-data
sends one as soon as it has sent what the watch missed) the stream vouches for its tenants'
items: they stay fresh however old. When the stream drops, the watch reconnects (the other
transport first, as lookups fall back) and resumes from its last position, so no change is
missed; meanwhile items stay fresh for their TTL from the stream's last event. A tenant seen for
the first time reopens the stream, and entries of a tenant cached before the stream covered it
are dropped once it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

from opentelemetry import propagate, trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gen.kugel.item.v1 import ItemChange, WatchItemChangesRequest, WatchItemChangesResponse

from .change_sources import ChangeSource, WatchFailed
from .item_cache import ItemCache
from .model import ItemLookupError, LookupFailure
from .preload import PreloadedItems
from .refetch_queue import RefetchQueue

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS: Final = 0.1
MAX_BACKOFF_SECONDS: Final = 5.0


class WatchedTenants:
    """The tenants this process has looked items up for (the client adds them); `grown` is set
    when one is new, so the watch reopens its stream to cover it."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.grown = asyncio.Event()

    def add(self, tenant_id: str) -> None:
        if tenant_id not in self.names:
            self.names.add(tenant_id)
            self.grown.set()


class WatchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connected = Gauge(
            "item_watch_connected", "1 while the item change stream is up", registry=registry
        )
        self.reconnects = Counter(
            "item_watch_reconnects", "Item change streams opened again", registry=registry
        )
        self.position = Gauge(
            "item_watch_position", "Sequence of the last change seen", registry=registry
        )
        self.evicted = Counter(
            "item_watch_evicted_items", "Cached items dropped by changes", registry=registry
        )
        self.lag = Histogram(
            "item_watch_lag_seconds",
            "From a change's commit in master-data to its eviction here",
            registry=registry,
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )


class ItemChangeWatch:
    """Runs until cancelled: `run` as a task of the cart process."""

    def __init__(
        self,
        sources: Sequence[ChangeSource],
        cache: ItemCache,
        tenants: WatchedTenants,
        metrics: WatchMetrics,
        *,
        idle_timeout: float,
        changed: RefetchQueue | None = None,
        preloaded: PreloadedItems | None = None,
        clock: Callable[[], float] = time.time,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._sources = list(sources)
        self._cache = cache
        self._tenants = tenants
        self._metrics = metrics
        self._idle_timeout = idle_timeout
        self._changed = changed
        self._preloaded = preloaded
        self._clock = clock
        self._tracer = tracer  # a span per change applied, linked to the write that made it
        self.position = 0
        self._covered: set[str] = set()  # tenants the last open stream watched

    async def run(self) -> None:
        refresher = asyncio.create_task(self._changed.run()) if self._changed else None
        try:
            if self._preloaded is not None:
                await self._preload(self._preloaded)
            await self._follow_streams()
        finally:
            if refresher is not None:
                refresher.cancel()

    async def _preload(self, preloaded: PreloadedItems) -> None:
        """The kept copies first (a cart restarted in an outage sells them), then a snapshot
        of each store; the stream then follows from the oldest position among them, so no
        change after any snapshot is missed."""
        for tenant in preloaded.tenants():
            self._tenants.add(tenant)
        position = await preloaded.restore()
        for tenant, store in preloaded.stores:
            try:
                taken = await self.snapshot(tenant, store)
            except ItemLookupError as error:
                log.warning("preload of %s/%s from master-data failed: %s", tenant, store, error)
                continue
            position = taken if position == 0 else min(position, taken)
        if self.position == 0:
            self.position = position

    async def snapshot(self, tenant_id: str, store_code: str) -> int:
        """A preloaded store's snapshot over the first source that gives one; its position."""
        assert self._preloaded is not None  # noqa: S101 - called for preloaded stores only
        failures = []
        for source in self._sources:
            try:
                return await self._preloaded.snapshot(source, tenant_id, store_code)
            except WatchFailed as failed:
                failures.append(f"{source.name}: {failed}")
        raise ItemLookupError(LookupFailure.UNAVAILABLE, "; ".join(failures))

    async def _follow_streams(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        turn = 0
        while True:
            if not self._tenants.names:
                await self._tenants.grown.wait()
            self._tenants.grown.clear()
            watched = sorted(self._tenants.names)
            source = self._sources[turn % len(self._sources)]
            try:
                if await self._follow(source, watched):
                    backoff = FIRST_BACKOFF_SECONDS
                    continue  # reopened for a new tenant, or the server ended it: at once
            except WatchFailed as failed:
                if failed.unimplemented and len(self._sources) == 1:
                    log.warning("master-data streams no item changes: the cache relies on TTL")
                    return
                log.warning("item change stream over %s failed: %s", source.name, failed)
            finally:
                self._metrics.connected.set(0)
                self._cache.uncover()
            self._metrics.reconnects.inc()
            if not source.another_ready():
                turn += 1  # the other transport next, as lookups fall back
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _follow(self, source: ChangeSource, watched: list[str]) -> bool:
        """Apply the stream's events; True when it ended cleanly or a new tenant needs it
        reopened, after it was up."""
        request = WatchItemChangesRequest(tenant_ids=watched, after_sequence=self.position)
        events = source.stream(request)
        async with contextlib.aclosing(events):  # type: ignore[type-var]
            first = True
            heartbeats = 0
            while True:
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancel that lands
                    # as the stream fails, and the watch (and the cart's shutdown) went on forever
                    async with asyncio.timeout(self._idle_timeout):
                        event = await anext(events)
                except StopAsyncIteration:
                    return not first
                except TimeoutError:
                    raise WatchFailed(f"no event for {self._idle_timeout:g} s") from None
                if first:
                    self._opened(source, watched)
                    first = False
                self.apply(event)
                if event.heartbeat is not None or event.reset is not None:
                    heartbeats += 1  # a position: where the stream starts, then caught up
                    if heartbeats == 2:  # every change up to this position is applied
                        self._cache.cover(watched)
                if self._tenants.grown.is_set():
                    return True

    async def close(self) -> None:
        for source in self._sources:
            await source.close()

    def _opened(self, source: ChangeSource, watched: list[str]) -> None:
        # Entries of a tenant the stream did not cover yet may have missed changes: fetched
        # again at once, so an outage soon after finds them.
        for tenant in set(watched) - self._covered:
            evicted = self._cache.evict(tenant, "", (), all_items=True)
            if self._changed is not None:
                self._changed.add(evicted)
        self._covered = set(watched)
        self._metrics.connected.set(1)
        log.info("item change stream up over %s: %d tenants from %d", source.name, len(watched),
                 self.position)  # fmt: skip

    def apply(self, event: WatchItemChangesResponse) -> None:
        """One event: evict what a change names (and have it fetched again), clear on a reset,
        move the position on."""
        self._cache.heard()
        if event.change is not None:
            change = event.change
            evicted = self._cache.evict(
                change.tenant_id, change.store_code, change.item_codes, change.all_items
            )
            self._metrics.evicted.inc(len(evicted))
            if self._changed is not None:
                self._changed.add(evicted)
                self._changed_preloaded(change.tenant_id, change.store_code, change.item_codes,
                                        change.all_items)  # fmt: skip
            lag = None
            if change.committed_at is not None:
                lag = max(0.0, self._clock() - change.committed_at.timestamp())
                self._metrics.lag.observe(lag)
            if self._tracer is not None:
                self._traced(self._tracer, change, len(evicted), lag)
            self.position = change.sequence
        elif event.reset is not None:
            log.warning("item change stream reset (%s): cache cleared", event.reset.reason)
            self._cache.clear()
            if self._changed is not None and self._preloaded is not None:
                self._changed.resnapshot(self._preloaded.stores)
            self.position = event.reset.sequence
        elif event.heartbeat is not None:
            self.position = max(self.position, event.heartbeat.sequence)
        self._metrics.position.set(self.position)

    @staticmethod
    def _traced(tracer: trace.Tracer, change: ItemChange, evicted: int, lag: float | None) -> None:
        """A span for the change applied here, linked to the write that made it (its trace
        travels with the change), carrying the lag from its commit."""
        writer = trace.get_current_span(propagate.extract({"traceparent": change.trace_parent}))
        written = writer.get_span_context()
        links = [trace.Link(written)] if written.is_valid else []
        attributes: dict[str, int | float | str] = {
            "item.change.sequence": change.sequence, "item.change.tenant": change.tenant_id,
            "item.change.evicted": evicted,
        }  # fmt: skip
        if lag is not None:
            attributes["item.change.lag_seconds"] = lag
        tracer.start_span("item change applied", links=links, attributes=attributes).end()

    def _changed_preloaded(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str], all_items: bool
    ) -> None:
        """A change to preloaded items: those named fetched again, or a new snapshot of each
        store it may touch when it names every item."""
        if self._preloaded is None or self._changed is None:
            return
        if all_items:
            stores = self._preloaded.stores_of(tenant_id)
            self._changed.resnapshot(s for s in stores if not store_code or s[1] == store_code)
        else:
            self._changed.add(self._preloaded.named(tenant_id, store_code, item_codes))
