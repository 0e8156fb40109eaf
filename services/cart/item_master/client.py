"""ItemMasterClient: the one way the cart looks items up.

Cache hits first; the misses of concurrent callers are fetched once (coalesced), in one batch,
over the transports `http_fallback` chooses between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gen.kugel.item.v1 import BatchGetItemDetailsRequest

from .circuit_breaker import CircuitBreaker
from .http_fallback import FallbackTransports
from .item_cache import NOT_FOUND, Cached, CacheKey, ItemCache
from .metrics import LookupMetrics
from .model import BatchResult, ItemDetail, ItemLookupError, LookupFailure
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
    ) -> None:
        self._transports = FallbackTransports(
            grpc=grpc, http=http, breaker=breaker, metrics=metrics
        )
        self._timeout = timeout_seconds
        self._cache = cache
        self._in_flight: dict[CacheKey, asyncio.Future[Cached]] = {}
        self._cache_hits = metrics.cache.labels("hit")
        self._cache_misses = metrics.cache.labels("miss")

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
        if self._cache is not None:  # the hot path: a scan of an item seen before
            cached = self._cache.get((tenant_id, store_code, item_code))
            if isinstance(cached, ItemDetail):
                self._cache_hits.inc()
                return cached
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

        `deadline` (time.monotonic) shortens GRPC_TIMEOUT when the caller has less time.
        """
        timeout_at = time.monotonic() + self._timeout
        if deadline is not None:
            timeout_at = min(timeout_at, deadline)
        codes = list(dict.fromkeys(item_codes))
        ask = _Ask(tenant_id, store_code, terminal_id, codes, timeout_at)
        if self._cache is None:
            return await self._fetch(ask)

        answers: dict[str, Cached] = {}
        waiting: dict[str, asyncio.Future[Cached]] = {}
        misses: list[str] = []
        for code in codes:
            cached = self._cache.get(ask.key(code))
            if cached is not None:
                answers[code] = cached
            elif ask.key(code) in self._in_flight:
                waiting[code] = self._in_flight[ask.key(code)]  # another call is fetching it
            else:
                misses.append(code)
        self._cache_hits.inc(len(answers))
        self._cache_misses.inc(len(codes) - len(answers))
        if misses:
            fetch = _Ask(tenant_id, store_code, terminal_id, misses, timeout_at)
            answers.update(await self._fetch_and_cache(self._cache, fetch))
        for code, future in waiting.items():
            answers[code] = await _wait_for_other(future, timeout_at)
        return BatchResult(
            found={c: a for c in codes if isinstance(a := answers[c], ItemDetail)},
            not_found=[c for c in codes if answers[c] is NOT_FOUND],
        )

    async def _fetch_and_cache(self, cache: ItemCache, ask: _Ask) -> dict[str, Cached]:
        """Fetch the misses once; concurrent callers wanting the same keys wait for this call."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[Cached]] = {c: loop.create_future() for c in ask.codes}
        for code, future in futures.items():
            self._in_flight[ask.key(code)] = future
        try:
            result = await self._fetch(ask)
        except BaseException as error:
            for future in futures.values():
                future.set_exception(error)
                future.exception()  # marks it retrieved: no warning when nobody waited
            raise
        finally:
            for code in ask.codes:
                self._in_flight.pop(ask.key(code), None)
        answers: dict[str, Cached] = {}
        for code, future in futures.items():
            answer: Cached = result.found.get(code, NOT_FOUND)
            cache.put(ask.key(code), answer)
            future.set_result(answer)
            answers[code] = answer
        return answers

    async def _fetch(self, ask: _Ask) -> BatchResult:
        return await self._transports.batch(ask.request(), ask.timeout_at)

    async def close(self) -> None:
        """Close the channel and the session (they reopen on the next call)."""
        await self._transports.close()


async def _wait_for_other(future: asyncio.Future[Cached], timeout_at: float) -> Cached:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + (timeout_at - time.monotonic())):
            return await asyncio.shield(future)
    except TimeoutError:
        raise ItemLookupError(LookupFailure.UNAVAILABLE, "lookup deadline exceeded") from None
