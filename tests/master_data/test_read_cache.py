"""The bounded LRU map behind master-data's read cache."""

from __future__ import annotations

from services.master_data.read_cache import LruCache


def test_keeps_the_most_recently_read() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_size_zero_keeps_nothing_and_clear_empties() -> None:
    none: LruCache[str, int] = LruCache(0)
    none.put("a", 1)
    assert none.get("a") is None
    some: LruCache[str, int] = LruCache(5)
    some.put("a", 1)
    some.clear()
    assert len(some) == 0
