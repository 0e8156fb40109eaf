"""One in-process cache for every hot read: bounded (least recently used go first), entries
that may expire, and expired entries purged rather than left to fill the bound."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlLruCache(Generic[K, V]):
    """At most `max_size` entries (0 keeps none); each lives `ttl` seconds unless `put` gives
    its own. Without `ttl` entries live until evicted or cleared, and `put` takes none. A full
    cache first purges what has expired, at most once per `ttl`, then drops the least recently
    used."""

    def __init__(
        self,
        max_size: int,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_size = max_size
        self._ttl = math.inf if ttl is None else ttl
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._next_purge = -math.inf

        if ttl is None:
            self.get = self._get_untimed  # type: ignore[method-assign] # no clock read per hit

    def get(self, key: K) -> V | None:
        """The live value under `key`, or None; a hit becomes the most recently used."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def _get_untimed(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V, ttl: float | None = None) -> None:
        if self._max_size == 0:
            return
        now = self._clock()
        self._entries[key] = (now + (self._ttl if ttl is None else ttl), value)
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_size:
            if now >= self._next_purge:
                self.purge_expired()
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)

    def purge_expired(self) -> int:
        """Drop every expired entry; how many went."""
        now = self._clock()
        self._next_purge = now + self._ttl
        expired = [key for key, (expires, _) in self._entries.items() if expires <= now]
        for key in expired:
            del self._entries[key]
        return len(expired)

    def discard(self, key: K) -> bool:
        """Drop one entry; whether it was there."""
        return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
