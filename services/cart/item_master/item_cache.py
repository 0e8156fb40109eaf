"""The cart's process-wide item cache: TTL, bounded (LRU), and brief for "not found"."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final

from services.common.ttl_cache import TtlLruCache

from .model import ItemDetail

CacheKey = tuple[str, str, str]  # tenant, store, item code


class _NotFound:
    """Cached answer 'master-data has no such item'."""


NOT_FOUND: Final = _NotFound()
Cached = ItemDetail | _NotFound


class ItemCache:
    """Items live `ttl` seconds, NOT_FOUND `not_found_ttl`; at most `max_size` are kept."""

    def __init__(
        self,
        ttl: float,
        not_found_ttl: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TtlLruCache[CacheKey, Cached] = TtlLruCache(max_size, ttl, clock)
        self._not_found_ttl = min(not_found_ttl, ttl)
        self.get = self._entries.get  # the hot path: no extra call per hit
        # Bumped by every eviction: a fetch that started before one must not store its answer.
        self.generation = 0

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def evict(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str], all_items: bool
    ) -> int:
        """Drop what a change names: items of one store, or of every store (`store_code`
        empty), or all items; the number dropped."""
        self.generation += 1
        if store_code and not all_items:
            return sum(self._entries.discard((tenant_id, store_code, c)) for c in item_codes)
        codes = set(item_codes)

        def named(key: CacheKey) -> bool:
            tenant, store, code = key
            return (
                tenant == tenant_id
                and (not store_code or store == store_code)
                and (all_items or code in codes)
            )

        return self._entries.discard_where(named)

    def put(self, key: CacheKey, value: Cached) -> None:
        self._entries.put(key, value, self._not_found_ttl if value is NOT_FOUND else None)

    def __len__(self) -> int:
        return len(self._entries)
