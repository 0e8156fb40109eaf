"""ItemMasterClient: the one way the cart looks items up.

Cache hits first; the misses of concurrent callers are fetched once (coalesced), in one batch,
over the transports `http_fallback` chooses between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry import trace

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
)
from services.common.circuit_breaker import CircuitBreaker

from .change_watch import WatchedTenants
from .http_fallback import FallbackTransports
from .item_cache import NOT_FOUND, Cached, CacheKey, ItemCache
from .metrics import LookupMetrics
from .model import (
    BatchResult,
    ItemDetail,
    ItemLookupError,
    LookupFailure,
    ScanAnswer,
    ScanRefusal,
)
from .outage import Outage
from .preload import PreloadedItems
from .transport import ItemTransport


@dataclass(frozen=True, slots=True)
class _Ask:
    """One batch to fetch: who asks, for which store, which codes, until when (monotonic)."""

    tenant_id: str
    store_code: str
    terminal_id: str
    codes: list[str]
    timeout_at: float

    def key(self, code: str) -> CacheKey:
        return (self.tenant_id, self.store_code, code)

    def request(self) -> BatchGetItemDetailsRequest:
        return BatchGetItemDetailsRequest(
            tenant_id=self.tenant_id,
            store_code=self.store_code,
            item_codes=self.codes,
            terminal_id=self.terminal_id,
        )


class ItemMasterClient:
    """Item lookups through a cache, over gRPC with HTTP fallback, or over HTTP alone."""

    def __init__(
        self,
        *,
        grpc: ItemTransport | None,
        http: ItemTransport,
        timeout_seconds: float,
        breaker: CircuitBreaker,
        cache: ItemCache | None,
        metrics: LookupMetrics,
        outage: Outage | None = None,
        tracer: trace.Tracer | None = None,
        preloaded: PreloadedItems | None = None,
        fetch_again: Callable[[list[CacheKey]], None] | None = None,
    ) -> None:
        """`preloaded`: the stores PRELOAD_STORES names, kept whole; `fetch_again`: where an
        answer a change overtook goes to be fetched again (the change watch's refetch queue)."""
        self._transports = FallbackTransports(
            grpc=grpc, http=http, breaker=breaker, metrics=metrics
        )
        self._timeout = timeout_seconds
        self._cache = cache
        self._outage = outage  # stale-if-error from the cache's last known copies
        self._preloaded = preloaded
        self._fetch_again = fetch_again
        self._in_flight: dict[CacheKey, _Flight] = {}
        self.tenants = WatchedTenants()  # every tenant looked up: what the change watch covers
        self._cache_hits = metrics.cache.labels("hit")
        self._cache_misses = metrics.cache.labels("miss")
        self._tracer = tracer  # None: no span at all (tracing not configured)

    async def get_item(
        self,
        tenant_id: str,
        store_code: str,
        item_code: str,
        *,
        terminal_id: str = "",
        deadline: float | None = None,
    ) -> ItemDetail:
        """One item; ItemLookupError(NOT_FOUND) names it when master-data has no such item."""
        result = await self.get_items(
            tenant_id, store_code, [item_code], terminal_id=terminal_id, deadline=deadline
        )
        if item_code not in result.found:
            raise ItemLookupError(LookupFailure.NOT_FOUND, f"item {item_code} not found")
        return result.found[item_code]

    async def get_items(
        self,
        tenant_id: str,
        store_code: str,
        item_codes: Sequence[str],
        *,
        terminal_id: str = "",
        deadline: float | None = None,
    ) -> BatchResult:
        """Many items in at most one call: cache hits first, one batch call for the misses.

        `deadline` (time.monotonic) shortens GRPC_TIMEOUT when the caller has less time. A miss
        fetched for several callers runs to the latest of their deadlines; each caller gives up
        at its own, and a caller in a hurry never fails the others.
        """
        cached = self._all_cached(tenant_id, store_code, item_codes)
        if cached is not None:
            return BatchResult(cached, [])
        if self._tracer is None:
            return await self._get_items(tenant_id, store_code, item_codes, terminal_id, deadline)
        attributes: dict[str, int | str] = {"item.count": len(item_codes),
                                            "item.store": f"{tenant_id}/{store_code}"}  # fmt: skip
        with self._tracer.start_as_current_span("item lookup", attributes=attributes):
            return await self._get_items(tenant_id, store_code, item_codes, terminal_id, deadline)

    async def resolve_scans(
        self,
        tenant_id: str,
        store_code: str,
        scans: Sequence[str],
        *,
        terminal_id: str = "",
        deadline: float | None = None,
    ) -> dict[str, ScanAnswer | ScanRefusal]:
        """What each distinct scan names: kept answers first (fresh while the change stream
        vouches for the tenant), one call for the rest; while master-data is unreachable, a
        scan answered before is answered as it was last known (its item then sells as any
        item does in an outage)."""
        self.tenants.add(tenant_id)
        cache = self._cache
        answers: dict[str, ScanAnswer | ScanRefusal] = {}
        misses = []
        for scan in dict.fromkeys(scans):
            kept = None if cache is None else cache.get_scan((tenant_id, store_code, scan))
            if kept is None:
                misses.append(scan)
            else:
                answers[scan] = kept
        if not misses:
            return answers
        own_deadline = time.monotonic() + self._timeout
        timeout_at = own_deadline if deadline is None else min(own_deadline, deadline)
        generation = 0 if cache is None else cache.generation
        request = BatchResolveScansRequest(tenant_id=tenant_id, store_code=store_code,
                                           scans=misses, terminal_id=terminal_id)  # fmt: skip
        try:
            reply = await self._transports.scans(
                request, timeout_at, callers_deadline=timeout_at < own_deadline
            )
        except ItemLookupError as error:
            if cache is None or error.failure is not LookupFailure.UNAVAILABLE:
                raise
            for scan in misses:
                known = cache.last_known_scan((tenant_id, store_code, scan))
                if known is None:
                    raise
                answers[scan] = known
            return answers
        for scan, answer in _scan_answers(reply).items():
            if cache is not None and isinstance(answer, ScanAnswer):
                cache.put_scan((tenant_id, store_code, scan), answer, generation)
            answers[scan] = answer
        if any(scan not in answers for scan in misses):
            raise ItemLookupError(LookupFailure.FAILED, "master-data left a scan unanswered")
        return answers

    def _all_cached(
        self, tenant_id: str, store_code: str, codes: Sequence[str]
    ) -> dict[str, ItemDetail] | None:
        """The hot path of a scan: every code a fresh item in the cache, by code (no flight,
        deadline or outage to weigh); None when one is not. Traced, such a lookup is no span
        of its own (a hop-free scan would pay one per scan), only `item.cache=hit` on the
        request's."""
        cache = self._cache
        if cache is None:
            return None
        found: dict[str, ItemDetail] = {}
        for code in codes:
            cached = cache.get((tenant_id, store_code, code))
            if not isinstance(cached, ItemDetail):
                return None
            found[code] = cached
        self._cache_hits.inc(len(found))
        if self._tracer is not None:
            trace.get_current_span().set_attribute("item.cache", "hit")
        return found

    async def _get_items(
        self,
        tenant_id: str,
        store_code: str,
        item_codes: Sequence[str],
        terminal_id: str,
        deadline: float | None,
    ) -> BatchResult:
        self.tenants.add(tenant_id)
        own_deadline = time.monotonic() + self._timeout
        timeout_at = own_deadline if deadline is None else min(own_deadline, deadline)
        codes = list(dict.fromkeys(item_codes))
        if self._cache is None:
            ask = _Ask(tenant_id, store_code, terminal_id, codes, timeout_at)
            return await self._transports.batch(
                ask.request(), timeout_at, callers_deadline=timeout_at < own_deadline
            )

        answers, flights, misses = self._from_cache(self._cache, tenant_id, store_code, codes)
        outage = self._outage
        if (misses or flights) and outage is not None and not outage.allow():
            # An outage: no hop for what has a last known copy; a code without one still asks
            # (master-data may be back before the next probe).
            copies = self._last_known(tenant_id, store_code, codes, answers)
            if copies is not None:
                outage.sold_last_known(len(copies))
                self._sold_last_known(len(copies))
                return _answered(codes, answers, copies)
        if misses:  # fetched to the deadlines of those who wait, never past the client's own
            fetch = _Ask(tenant_id, store_code, terminal_id, misses, own_deadline)
            flight = self._start_flight(self._cache, fetch)
            flights.update(dict.fromkeys(misses, flight))
        if not flights:
            return _answered(codes, answers, {})
        try:
            answers.update(await _wait_for(flights, timeout_at))
        except ItemLookupError as error:
            if outage is None or error.failure is not LookupFailure.UNAVAILABLE:
                raise
            if error.timed_out and timeout_at < own_deadline:
                outage.inconclusive()  # the caller's own hurry proves nothing
            else:
                outage.failed()
            copies = self._last_known(tenant_id, store_code, codes, answers)
            if copies is None:
                raise
            outage.sold_last_known(len(copies))
            self._sold_last_known(len(copies))
            return _answered(codes, answers, copies)
        if outage is not None:
            outage.succeeded()
        return _answered(codes, answers, {})

    def _from_cache(
        self, cache: ItemCache, tenant_id: str, store_code: str, codes: list[str]
    ) -> tuple[dict[str, Cached], dict[str, _Flight], list[str]]:
        """The fresh answers, the flights already fetching some codes, and the misses."""
        answers: dict[str, Cached] = {}
        flights: dict[str, _Flight] = {}
        misses: list[str] = []
        for code in codes:
            key = (tenant_id, store_code, code)
            cached = cache.get(key)
            if cached is None and self._preloaded is not None:
                cached = self._preloaded.get(key)  # a preloaded store: no hop while current
            if cached is not None:
                answers[code] = cached
            elif key in self._in_flight:
                flights[code] = self._in_flight[key]  # another call is fetching it
            else:
                misses.append(code)
        self._cache_hits.inc(len(answers))
        self._cache_misses.inc(len(codes) - len(answers))
        if self._tracer is not None:
            outcome = "miss" if misses else "coalesced" if flights else "hit"
            trace.get_current_span().set_attributes({
                "item.cache": outcome, "item.cache.hits": len(answers),
                "item.cache.coalesced": len(flights), "item.cache.misses": len(misses),
            })  # fmt: skip
        return answers, flights, misses

    def _sold_last_known(self, count: int) -> None:
        if self._tracer is not None:
            span = trace.get_current_span()
            span.set_attributes({"item.cache": "last_known", "item.last_known": count})

    def _last_known(
        self, tenant_id: str, store_code: str, codes: list[str], answers: dict[str, Cached]
    ) -> dict[str, ItemDetail] | None:
        """The last known copies of every code not answered yet; None when one has none."""
        assert self._cache is not None  # noqa: S101 - an outage is tracked with a cache only
        copies: dict[str, ItemDetail] = {}
        for code in codes:
            if code in answers:
                continue
            key = (tenant_id, store_code, code)
            copy = self._cache.last_known(key)
            if copy is None and self._preloaded is not None:
                copy = self._preloaded.last_known(key)
            if copy is None:
                return None
            copies[code] = copy
        return copies

    async def refetch(self, tenant_id: str, store_code: str, item_codes: list[str]) -> None:
        """Fetch items a change named again, past the cache and the preloaded copies, and keep
        the answers in both (the change stream's refresh, off the scan path)."""
        ask = _Ask(tenant_id, store_code, "", item_codes, time.monotonic() + self._timeout)
        cache = self._cache
        generation = cache.generation if cache is not None else 0
        result = await self._transports.batch(ask.request(), ask.timeout_at)
        if cache is not None:
            for code in item_codes:
                cache.put_fetched(ask.key(code), result.found.get(code, NOT_FOUND), generation)
        if self._preloaded is not None:
            unchanged = [
                c
                for c in item_codes
                if cache is None or not cache.changed_since(ask.key(c), generation)
            ]
            found = {c: i for c, i in result.found.items() if c in unchanged}
            gone = [c for c in result.not_found if c in unchanged]
            await self._preloaded.update(tenant_id, store_code, found, gone)

    def _start_flight(self, cache: ItemCache, ask: _Ask) -> _Flight:
        """Fetch the misses once, in a task of their own that callers wanting the same keys
        share; it is cancelled when the last of them stops waiting."""
        flight = _Flight()
        flight.task = asyncio.create_task(self._fetch_and_cache(cache, ask, flight))
        flight.task.add_done_callback(_retrieve)
        for code in ask.codes:
            self._in_flight[ask.key(code)] = flight
        return flight

    async def _fetch_and_cache(
        self, cache: ItemCache, ask: _Ask, flight: _Flight
    ) -> dict[str, Cached]:
        """The fetch runs to the latest deadline of its live waiters, never past the client's
        own (`ask.timeout_at`); if it runs out while a waiter with more time has joined, it
        goes again for that one."""
        generation = cache.generation
        try:
            while True:
                timeout_at = min(ask.timeout_at, flight.latest_deadline())
                try:
                    result = await self._transports.batch(
                        ask.request(), timeout_at, callers_deadline=timeout_at < ask.timeout_at
                    )
                    break
                except ItemLookupError as error:
                    if not (error.timed_out and flight.latest_deadline() > timeout_at):
                        raise
        finally:
            for code in ask.codes:
                self._in_flight.pop(ask.key(code), None)
        answers: dict[str, Cached] = {}
        overtaken = []
        for code in ask.codes:
            answer: Cached = result.found.get(code, NOT_FOUND)
            if not cache.put_fetched(ask.key(code), answer, generation):
                overtaken.append(ask.key(code))  # a change came meanwhile: may be stale
            answers[code] = answer
        if overtaken and self._fetch_again is not None:
            self._fetch_again(overtaken)  # so a known item keeps a copy for an outage
        return answers

    def master_data_status(self) -> dict[str, object]:
        """How master-data is reached now (the cart's /readyz)."""
        return self._transports.status()

    @property
    def cache(self) -> ItemCache | None:
        return self._cache

    async def close(self) -> None:
        """Close the channel and the session (they reopen on the next call)."""
        await self._transports.close()


def _scan_answers(reply: BatchResolveScansResponse) -> dict[str, ScanAnswer | ScanRefusal]:
    """Each scan's answer: the item it named, or why not."""
    answers: dict[str, ScanAnswer | ScanRefusal] = {}
    for result in reply.results:
        if result.scanned is not None:
            answers[result.scan] = ScanAnswer.from_message(result.scanned)
        elif result.not_found is not None:
            code = result.not_found.code
            answers[result.scan] = ScanRefusal("not_found", f"no item has barcode {code}", code)
        else:
            said = result.rejected.description if result.rejected else "refused"
            answers[result.scan] = ScanRefusal("invalid", said)
    return answers


def _answered(
    codes: list[str], answers: dict[str, Cached], last_known: dict[str, ItemDetail]
) -> BatchResult:
    answers.update(last_known)
    return BatchResult(
        found={c: a for c in codes if isinstance(a := answers[c], ItemDetail)},
        not_found=[c for c in codes if answers[c] is NOT_FOUND],
        last_known=frozenset(last_known),
    )


@dataclass(eq=False)
class _Flight:
    """One batch fetch in flight, and the deadlines of the callers waiting for it."""

    deadlines: list[float] = field(default_factory=list)
    task: asyncio.Task[dict[str, Cached]] = field(init=False)

    def latest_deadline(self) -> float:
        return max(self.deadlines, default=0.0)


def _retrieve(task: asyncio.Task[dict[str, Cached]]) -> None:
    if not task.cancelled():
        task.exception()  # seen here: no "never retrieved" warning when nobody waited


async def _wait_for(flights: dict[str, _Flight], timeout_at: float) -> dict[str, Cached]:
    """The answers of the flights for the codes, by this caller's own deadline."""
    distinct = list(dict.fromkeys(flights.values()))
    for flight in distinct:
        flight.deadlines.append(timeout_at)
    loop = asyncio.get_running_loop()
    answers: dict[str, Cached] = {}
    try:
        async with asyncio.timeout_at(loop.time() + (timeout_at - time.monotonic())):
            for flight in distinct:
                fetched = await asyncio.shield(flight.task)
                answers.update((c, fetched[c]) for c, f in flights.items() if f is flight)
    except TimeoutError:
        raise ItemLookupError(
            LookupFailure.UNAVAILABLE, "lookup deadline exceeded", timed_out=True
        ) from None
    finally:
        for flight in distinct:
            flight.deadlines.remove(timeout_at)
            if not flight.deadlines and not flight.task.done():
                flight.task.cancel()
    return answers
