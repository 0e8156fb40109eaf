"""The one cache behind the item cache, master-data's read cache and the API-key cache."""

from __future__ import annotations

from services.common.ttl_cache import TtlLruCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keeps_the_most_recently_read() -> None:
    cache: TtlLruCache[str, int] = TtlLruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_size_zero_keeps_nothing_and_clear_empties() -> None:
    none: TtlLruCache[str, int] = TtlLruCache(0)
    none.put("a", 1)
    assert none.get("a") is None
    some: TtlLruCache[str, int] = TtlLruCache(5)
    some.put("a", 1)
    some.clear()
    assert len(some) == 0


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TtlLruCache[str, int] = TtlLruCache(10, ttl=60, clock=clock)
    cache.put("long", 1)
    cache.put("short", 2, ttl=5)
    clock.now += 5
    assert (cache.get("long"), cache.get("short")) == (1, None)
    clock.now += 55
    assert cache.get("long") is None
    assert len(cache) == 0


def test_a_full_cache_purges_expired_entries_before_evicting_live_ones() -> None:
    clock = Clock()
    cache: TtlLruCache[str, int] = TtlLruCache(3, ttl=60, clock=clock)
    cache.put("old-1", 1)
    cache.put("old-2", 2)
    clock.now += 30
    cache.put("live", 3)
    clock.now += 31  # old-1 and old-2 have expired, unread; live has not
    cache.put("new", 4)
    assert len(cache) == 2
    assert (cache.get("live"), cache.get("new")) == (3, 4)


def test_purge_expired_counts_what_went() -> None:
    clock = Clock()
    cache: TtlLruCache[str, int] = TtlLruCache(10, ttl=1, clock=clock)
    for n in range(4):
        cache.put(str(n), n)
    clock.now += 2
    cache.put("fresh", 9)
    assert cache.purge_expired() == 4
    assert len(cache) == 1
