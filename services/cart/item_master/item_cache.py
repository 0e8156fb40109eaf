"""The cart's process-wide item cache: fresh while the change stream vouches for an item or for
`ttl` after it was fetched, a last known copy after that, brief for "not found", bounded (LRU).

While the change stream covers a tenant and is current (`cover`), its items stay fresh however
old: every change to them evicts them. When the stream drops, its items stay fresh for `ttl`
from the last event it delivered, then only the TTL of each fetch counts. An item past fresh is
kept as a last known copy for stale-if-error (`last_known`, at most `max_stale` old), until a
change evicts it or the bound pushes it out: a copy a change named is never served again.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from .model import ItemDetail, ScanAnswer

CacheKey = tuple[str, str, str]  # tenant, store, item code


class _NotFound:
    """Cached answer 'master-data has no such item'."""


NOT_FOUND: Final = _NotFound()
Cached = ItemDetail | _NotFound


EVICTIONS_KEPT: Final = 1_024  # changes remembered for fetches still in flight
# No item code: an eviction names it only when it names all of a tenant's items.
ALL_SCANS: Final = "\x00scans"


@dataclass(frozen=True, slots=True)
class _Eviction:
    """What one change (or a clear: no tenant) named, and the generation it made."""

    generation: int
    tenant_id: str | None
    store_code: str
    item_codes: frozenset[str]
    all_items: bool

    def names(self, key: CacheKey) -> bool:
        if self.tenant_id is None:
            return True
        tenant, store, code = key
        return (
            tenant == self.tenant_id
            and (not self.store_code or store == self.store_code)
            and (self.all_items or code in self.item_codes)
        )


class ItemCache:
    """At most `max_size` entries, each the answer for a key and when it was fetched."""

    def __init__(
        self,
        ttl: float,
        not_found_ttl: float,
        max_size: int,
        max_stale: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Its own LRU, not TtlLruCache: nothing here expires (a stale entry is a last known
        # copy), and the scan's hit is one call with no clock read but its own
        # (docs/measurements.md).
        self._entries: OrderedDict[CacheKey, tuple[Cached, float]] = OrderedDict()
        self._max_size = max_size
        self._ttl = ttl
        self._not_found_ttl = min(not_found_ttl, ttl)
        self._max_stale = max_stale
        self._clock = clock
        # Per tenant, until when the change stream vouches for its items (inf while it is up).
        self._covered_until: dict[str, float] = {}
        self._last_heard = -math.inf  # the stream's last event
        # Bumped by every eviction, each kept a while: a fetch that started before one that names
        # its key must not store its answer (`put_fetched`).
        self.generation = 0
        self._evictions: deque[_Eviction] = deque(maxlen=EVICTIONS_KEPT)
        # What scans named, by (tenant, store, scan): dropped with every change to all of a
        # tenant's items (a barcode or a layout is one), fresh and last known as items are.
        self._scans: OrderedDict[CacheKey, tuple[ScanAnswer, float]] = OrderedDict()

    def get(self, key: CacheKey) -> Cached | None:
        """The fresh answer for `key` (the hot path of a scan), None when there is none."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, fetched = entry
        now = self._clock()
        if fetched + self._ttl > now:
            if value is NOT_FOUND and fetched + self._not_found_ttl <= now:
                return None
        elif value is NOT_FOUND or self._covered_until.get(key[0], 0.0) <= now:
            return None
        self._entries.move_to_end(key)
        return value

    def last_known(self, key: CacheKey) -> ItemDetail | None:
        """The item as last known, when no change has named it since and it was known correct
        at most `max_stale` seconds ago (stale-if-error)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        detail, fetched = entry
        if not isinstance(detail, ItemDetail):
            return None
        known_at = max(fetched, self._covered_until.get(key[0], 0.0) - self._ttl)
        return detail if self._clock() - known_at <= self._max_stale else None

    def get_scan(self, key: CacheKey) -> ScanAnswer | None:
        """What the scan `key[2]` named, while fresh (as an item is)."""
        entry = self._scans.get(key)
        if entry is None:
            return None
        answer, fetched = entry
        now = self._clock()
        if fetched + self._ttl <= now and self._covered_until.get(key[0], 0.0) <= now:
            return None
        self._scans.move_to_end(key)
        return answer

    def last_known_scan(self, key: CacheKey) -> ScanAnswer | None:
        """What the scan named as last known (stale-if-error, as `last_known`)."""
        entry = self._scans.get(key)
        if entry is None:
            return None
        answer, fetched = entry
        known_at = max(fetched, self._covered_until.get(key[0], 0.0) - self._ttl)
        return answer if self._clock() - known_at <= self._max_stale else None

    def put_scan(self, key: CacheKey, answer: ScanAnswer, generation: int) -> None:
        """Keep what a scan named, unless a change to all of its tenant's items came since."""
        if self._max_size == 0 or self.changed_since((key[0], key[1], ALL_SCANS), generation):
            return
        self._scans[key] = (answer, self._clock())
        self._scans.move_to_end(key)
        if len(self._scans) > self._max_size:
            self._scans.popitem(last=False)

    def put(self, key: CacheKey, value: Cached) -> None:
        if self._max_size == 0:
            return
        self._entries[key] = (value, self._clock())
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def heard(self) -> None:
        """The change stream delivered an event: it was current then."""
        self._last_heard = self._clock()

    def cover(self, tenants: Iterable[str]) -> None:
        """The change stream is up and current for these tenants: their items stay fresh."""
        for tenant in tenants:
            self._covered_until[tenant] = math.inf

    def uncover(self) -> None:
        """The stream dropped: what it covered stays fresh `ttl` from its last event."""
        for tenant, until in self._covered_until.items():
            if until == math.inf:
                self._covered_until[tenant] = self._last_heard + self._ttl

    def vouches_for(self, tenant_id: str) -> bool:
        """Whether the stream keeps this tenant's items current now (or did within ttl)."""
        return self._covered_until.get(tenant_id, 0.0) > self._clock()

    def vouched_until(self, tenant_id: str) -> float:
        """Until when the stream vouches for the tenant's items (inf while it is up)."""
        return self._covered_until.get(tenant_id, 0.0)

    @property
    def covered(self) -> bool:
        """Whether the change stream vouches for any tenant's items now."""
        return math.inf in self._covered_until.values()

    def put_fetched(self, key: CacheKey, value: Cached, generation: int) -> bool:
        """Keep an answer fetched from `generation` on, unless a change named its key since;
        whether it was kept."""
        if self.changed_since(key, generation):
            return False
        self.put(key, value)
        return True

    def changed_since(self, key: CacheKey, generation: int) -> bool:
        """Whether a change named `key` after `generation` (or may have: a long while ago)."""
        if generation == self.generation:
            return False  # the common case: no eviction at all meanwhile
        if not self._evictions or self._evictions[0].generation > generation + 1:
            return True  # the record of evictions does not reach back that far
        for eviction in reversed(self._evictions):
            if eviction.generation <= generation:
                return False
            if eviction.names(key):
                return True
        return False

    def clear(self) -> None:
        self.generation += 1
        self._evictions.append(_Eviction(self.generation, None, "", frozenset(), True))
        self._entries.clear()
        self._scans.clear()

    def evict(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str], all_items: bool
    ) -> list[CacheKey]:
        """Drop what a change names: items of one store, or of every store (`store_code`
        empty), or all items; the keys of the items dropped (not-found answers aside)."""
        self.generation += 1
        self._evictions.append(
            _Eviction(self.generation, tenant_id, store_code, frozenset(item_codes), all_items)
        )
        if store_code and not all_items:
            named = [(tenant_id, store_code, c) for c in item_codes]
        else:
            codes = set(item_codes)
            named = [
                key
                for key in self._entries
                if key[0] == tenant_id
                and (not store_code or key[1] == store_code)
                and (all_items or key[2] in codes)
            ]
        if all_items:
            for key in [k for k in self._scans if k[0] == tenant_id]:
                del self._scans[key]
        dropped = []
        for key in named:
            entry = self._entries.pop(key, None)
            if entry is not None and entry[0] is not NOT_FOUND:
                dropped.append(key)
        return dropped

    def __len__(self) -> int:
        return len(self._entries)
