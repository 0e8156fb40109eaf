"""The cart's process-wide item cache: TTL, bounded (LRU), and brief for "not found"."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from .model import ItemDetail

CacheKey = tuple[str, str, str]  # tenant, store, item code


class _NotFound:
    """Cached answer 'master-data has no such item'."""


NOT_FOUND: Final = _NotFound()
Cached = ItemDetail | _NotFound


class ItemCache:
    """Entries live `ttl` seconds (`not_found_ttl` for NOT_FOUND); at most `max_size` are kept."""

    def __init__(
        self,
        ttl: float,
        not_found_ttl: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._not_found_ttl = min(not_found_ttl, ttl)
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[CacheKey, tuple[float, Cached]] = OrderedDict()

    def get(self, key: CacheKey) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: CacheKey, value: Cached) -> None:
        ttl = self._not_found_ttl if value is NOT_FOUND else self._ttl
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
