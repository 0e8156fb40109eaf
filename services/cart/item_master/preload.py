"""Preloaded stores (PRELOAD_STORES): every active item of each, from master-data's
StreamStoreItems snapshot, kept in the cart's own database and in memory, and kept current from
the change stream, so a scan of a preloaded item needs no hop and a cart restarted during an
outage still sells them.

A copy is current while the change stream vouches for its tenant (the item cache's rule) or for
the item cache's TTL after its snapshot; past that a lookup goes to master-data as usual, and
during an outage the copy is a last known one (at most MAX_STALE_SECONDS old, counted from when
it was last known current). A change the stream names is fetched again into the copy; a reset or
a change to every item of a tenant takes a new snapshot.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from gen.kugel.item.v1 import StreamStoreItemsRequest, StreamStoreItemsResponse

from ..repository import CartRepository
from ..tax import Rounding, TaxRule, TaxType
from .item_cache import CacheKey, ItemCache
from .model import ItemDetail, ItemLookupError

log = logging.getLogger(__name__)

StoreKey = tuple[str, str]  # tenant, store


class SnapshotSource(Protocol):
    name: str

    def store_items(
        self, request: StreamStoreItemsRequest
    ) -> AsyncIterator[StreamStoreItemsResponse]: ...


def document(item: ItemDetail) -> str:
    """An item as the cart keeps it in its database."""
    return json.dumps(dataclasses.asdict(item), separators=(",", ":"))


def from_document(text: str) -> ItemDetail:
    fields: dict[str, Any] = json.loads(text)
    rule = fields.pop("tax_rule")
    # Copies kept before the cart had one tax rule say "rounding_method" and hold the name.
    rounding = rule.get("rounding", rule.get("rounding_method"))
    kept = TaxRule(rule["tax_code"], TaxType(rule["tax_type"]), rule["rate_basis_points"],
                   Rounding(rounding))  # fmt: skip
    return ItemDetail(**fields, tax_rule=kept)


class _Shared:
    """One object for each tax rule and one string for each repeated code: a store's items
    share them (measured at 200,000 items: the copy's memory, docs/outages.md)."""

    def __init__(self) -> None:
        self._rules: dict[TaxRule, TaxRule] = {}

    def item(self, item: ItemDetail) -> ItemDetail:
        return dataclasses.replace(
            item,
            currency_code=sys.intern(item.currency_code),
            tax_code=sys.intern(item.tax_code),
            category_code=sys.intern(item.category_code),
            tax_rule=self._rules.setdefault(item.tax_rule, item.tax_rule),
        )


@dataclasses.dataclass
class _StoreCopy:
    items: dict[str, ItemDetail]
    sequence: int
    known_at: float  # the cache's clock: when the copy was last known current


class PreloadedItems:
    """The preloaded stores' items in memory, written through to the cart's database."""

    def __init__(
        self,
        stores: Sequence[StoreKey],
        repository: CartRepository,
        cache: ItemCache,
        *,
        ttl: float,
        max_stale: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stores = list(stores)
        self._repository = repository
        self._cache = cache
        self._ttl = ttl
        self._max_stale = max_stale
        self._clock = clock
        self._copies: dict[StoreKey, _StoreCopy] = {}
        self._shared = _Shared()

    def __len__(self) -> int:
        return sum(len(copy.items) for copy in self._copies.values())

    def tenants(self) -> set[str]:
        return {tenant for tenant, _ in self.stores}

    def get(self, key: CacheKey) -> ItemDetail | None:
        """The preloaded item while its copy is current, else None (ask master-data)."""
        copy = self._copies.get((key[0], key[1]))
        if copy is None:
            return None
        item = copy.items.get(key[2])
        if item is None:
            return None
        if copy.known_at + self._ttl > self._clock() or self._cache.vouches_for(key[0]):
            return item
        return None

    def last_known(self, key: CacheKey) -> ItemDetail | None:
        """The preloaded item as a last known copy (an outage), at most MAX_STALE old."""
        copy = self._copies.get((key[0], key[1]))
        item = None if copy is None else copy.items.get(key[2])
        if copy is None or item is None:
            return None
        known_at = max(copy.known_at, self._cache.vouched_until(key[0]) - self._ttl)
        return item if self._clock() - known_at <= self._max_stale else None

    def named(self, tenant_id: str, store_code: str, item_codes: Sequence[str]) -> list[CacheKey]:
        """The preloaded keys a change to these items names (every store when `store_code` is
        empty)."""
        return [
            (tenant, store, code)
            for (tenant, store), copy in self._copies.items()
            if tenant == tenant_id and (not store_code or store == store_code)
            for code in item_codes
            if code in copy.items
        ]

    def stores_of(self, tenant_id: str) -> list[StoreKey]:
        return [store for store in self.stores if store[0] == tenant_id]

    async def restore(self) -> int:
        """Load the kept copies from the cart's database; the oldest position among them (0
        when a store has none: the watch then starts at the first snapshot's)."""
        positions = []
        for tenant, store in self.stores:
            kept = await self._repository.load_preloaded(tenant, store)
            if kept is None:
                positions.append(0)
                continue
            items = {i.item_code: self._shared.item(i) for i in map(from_document, kept.documents)}
            # A copy from the database is known current only as of when it was loaded.
            age = max(0.0, time.time() - kept.loaded_at_us / 1e6)
            self._copies[(tenant, store)] = _StoreCopy(items, kept.sequence, self._clock() - age)
            positions.append(kept.sequence)
            log.info(
                "preloaded %s/%s from the cart's database: %d items", tenant, store, len(items)
            )
        return min(positions, default=0)

    async def snapshot(self, source: SnapshotSource, tenant_id: str, store_code: str) -> int:
        """Take the store's snapshot from master-data and keep it; its position."""
        started = time.monotonic()
        request = StreamStoreItemsRequest(tenant_id=tenant_id, store_code=store_code)
        items: dict[str, ItemDetail] = {}
        sequence = 0
        async for page in source.store_items(request):
            sequence = page.sequence
            for message in page.items:
                try:
                    items[message.item_code] = self._shared.item(ItemDetail.from_message(message))
                except ItemLookupError as error:  # a tax rule this cart cannot apply
                    log.warning("preload of %s/%s skips an item: %s", tenant_id, store_code, error)
        await self._repository.replace_preloaded(
            tenant_id, store_code, sequence, {code: document(i) for code, i in items.items()}
        )
        self._copies[(tenant_id, store_code)] = _StoreCopy(items, sequence, self._clock())
        log.info(
            "preloaded %s/%s over %s: %d items at position %d in %.1f s",
            tenant_id, store_code, source.name, len(items), sequence, time.monotonic() - started,
        )  # fmt: skip
        return sequence

    async def update(
        self, tenant_id: str, store_code: str, found: dict[str, ItemDetail], gone: list[str]
    ) -> None:
        """Items of a preloaded store fetched again after a change (`gone`: no longer known)."""
        copy = self._copies.get((tenant_id, store_code))
        if copy is None:
            return
        copy.items.update((code, self._shared.item(item)) for code, item in found.items())
        for code in gone:
            copy.items.pop(code, None)
        await self._repository.update_preloaded(
            tenant_id, store_code, {c: document(i) for c, i in found.items()}, gone
        )
