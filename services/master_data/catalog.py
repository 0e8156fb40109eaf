"""The item lookup: validation, store price resolution, and the in-process read cache.

Both transports call this one implementation. Reads come from the cache; every write made
through `apply` clears it at once, and `invalidate` clears it when another process (an import,
another worker or replica) changed the database: the repository's `follow_changes` says when.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Final

from opentelemetry import trace

from gen.kugel.item.v1 import Item, RoundingMethod, TaxRule, TaxType
from services.common.codes import RULE, is_code
from services.common.ttl_cache import TtlLruCache

from .errors import CatalogError, ErrorCode
from .records import MasterRecord, ScanLayout
from .repository import Changes, ItemRepository, PricedItem, StoreContext

MAX_BATCH_SIZE: Final = 100  # documented in the proto: BatchGetItemDetailsRequest.item_codes
SNAPSHOT_PAGE: Final = 1_000  # documented in the proto: StreamStoreItemsResponse.items

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


_tracer = trace.get_tracer("kugel-item-master")  # the global provider's, once one is set


class _NotFound:
    """Cached answer 'no such item', so repeated misses cost no query."""


_NOT_FOUND: Final = _NotFound()


def _check_code(field: str, value: str) -> None:
    if not value:
        raise CatalogError(ErrorCode.INVALID_ARGUMENT, f"{field} is required")
    if not is_code(value):
        raise CatalogError(
            ErrorCode.INVALID_ARGUMENT,
            f"{field} must be {RULE}",
        )


def _timestamp(microseconds: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=microseconds)


def to_message(priced: PricedItem, currency_code: str) -> Item:
    """The contract's Item for one priced item of one store."""
    return Item(
        item_code=priced.item_code,
        item_name=priced.item_name,
        unit_price=priced.unit_price,
        currency_code=currency_code,
        tax_code=priced.tax_code,
        category_code=priced.category_code,
        is_active=priced.is_active,
        created_at=_timestamp(priced.created_at_us),
        updated_at=_timestamp(priced.updated_at_us),
        tax_rule=TaxRule(
            tax_code=priced.tax_code,
            tax_type=TaxType[priced.tax_type],
            rate_basis_points=priced.rate_basis_points,
            rounding_method=RoundingMethod[priced.rounding_method],
            name=priced.tax_rule_name,
        ),
        store_price_applied=priced.store_price_applied,
        discount_restricted=priced.discount_restricted,
    )


class ItemCatalog:
    """Answers item lookups for a tenant's store from the repository, through a read cache."""

    def __init__(self, repository: ItemRepository, cache_size: int) -> None:
        self._repository = repository
        self._stores: TtlLruCache[tuple[str, str], StoreContext | _NotFound] = TtlLruCache(
            cache_size
        )
        self._items: TtlLruCache[tuple[str, str, str], Item | _NotFound] = TtlLruCache(cache_size)
        self._barcodes: TtlLruCache[tuple[str, str], str | _NotFound] = TtlLruCache(cache_size)
        self._layouts: TtlLruCache[str, list[ScanLayout]] = TtlLruCache(1_000)
        self.write_listeners: list[Callable[[], None]] = []  # called after each write here
        # Bumped by every invalidation: a read that started before one must not refill the cache.
        self._generation = 0

    async def get_item(self, tenant_id: str, store_code: str, item_code: str) -> Item:
        """One item priced for the store; NOT_FOUND names the unknown tenant, store or item."""
        found, missing = await self.get_items(tenant_id, store_code, [item_code])
        if missing:
            raise CatalogError(
                ErrorCode.NOT_FOUND, f"item {item_code} not found", subject=item_code
            )
        return found[0]

    async def get_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> tuple[list[Item], list[str]]:
        """The items found (in first-mention order) and the codes not found."""
        if not item_codes:
            raise CatalogError(ErrorCode.INVALID_ARGUMENT, "item_codes must not be empty")
        if len(item_codes) > MAX_BATCH_SIZE:
            raise CatalogError(
                ErrorCode.INVALID_ARGUMENT,
                f"at most {MAX_BATCH_SIZE} item_codes per batch, got {len(item_codes)}",
            )
        for code in item_codes:
            _check_code("item_codes" if len(item_codes) > 1 else "item_code", code)
        context = await self._store_context(tenant_id, store_code)

        codes = list(dict.fromkeys(item_codes))
        answers: dict[str, Item | _NotFound] = {}
        misses: list[str] = []
        for code in codes:
            cached = self._items.get((tenant_id, store_code, code))
            if cached is None:
                misses.append(code)
            else:
                answers[code] = cached
        if misses:
            generation = self._generation
            with (
                _tracer.start_as_current_span(
                    "item read-cache miss", attributes={"items": len(misses)}
                ),
                self._query("priced_items"),
            ):
                loaded = await self._repository.priced_items(tenant_id, store_code, misses)
            by_code = {p.item_code: to_message(p, context.currency_code) for p in loaded}
            for code in misses:
                answer = by_code.get(code, _NOT_FOUND)
                if generation == self._generation:
                    self._items.put((tenant_id, store_code, code), answer)
                answers[code] = answer

        found = [a for a in (answers[c] for c in codes) if isinstance(a, Item)]
        missing = [c for c in codes if isinstance(answers[c], _NotFound)]
        return found, missing

    async def store_snapshot(
        self, tenant_id: str, store_code: str, page_size: int = SNAPSHOT_PAGE
    ) -> AsyncIterator[tuple[list[Item], int]]:
        """Every active item of the store in pages of `page_size`, each with the change-log
        position read before the first page (a change after it may or may not be in the pages:
        a watch from that position names it again)."""
        context = await self._store_context(tenant_id, store_code)
        sequence = (await self._repository.log_bounds())[1]
        after = ""
        while True:
            page = await self._repository.store_items(tenant_id, store_code, after, page_size)
            if page or not after:
                yield [to_message(p, context.currency_code) for p in page], sequence
            if len(page) < page_size:
                return
            after = page[-1].item_code

    def _query(self, operation: str) -> AbstractContextManager[trace.Span]:
        """A storage query's span (a no-op without tracing configured)."""
        engine = self._repository.engine
        return _tracer.start_as_current_span(
            f"{operation} {engine}",
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system.name": engine, "db.operation.name": operation},
        )

    async def _store_context(self, tenant_id: str, store_code: str) -> StoreContext:
        key = (tenant_id, store_code)
        context = self._stores.get(key)
        if context is None:
            _check_code("tenant_id", tenant_id)
            _check_code("store_code", store_code)
            generation = self._generation
            with self._query("store_context"):
                found = await self._repository.store_context(tenant_id, store_code)
            context = found or _NOT_FOUND
            if generation == self._generation:
                self._stores.put(key, context)
        if isinstance(context, _NotFound):
            raise CatalogError(
                ErrorCode.TENANT_NOT_FOUND, f"tenant {tenant_id} not found", subject=tenant_id
            )
        if not context.store_known:
            raise CatalogError(
                ErrorCode.STORE_NOT_FOUND,
                f"store {store_code} of tenant {tenant_id} not found",
                subject=store_code,
            )
        return context

    async def apply(self, changes: Changes) -> int:
        """Write changes in one transaction (how many); this process's readers (and its write
        listeners: the change watches) see them at once."""
        try:
            return await self._repository.apply(changes)
        finally:
            self.invalidate()
            for listener in self.write_listeners:
                listener()

    async def has(self, kind: type[MasterRecord], key: tuple[str, ...]) -> bool:
        """Whether the entry exists in storage (an import names the references it lacks)."""
        return await self._repository.has(kind, key)

    async def barcode_item(self, tenant_id: str, barcode: str) -> str | None:
        """The item a barcode (GTIN-14) belongs to in the tenant, if any."""
        return (await self.barcode_items(tenant_id, [barcode])).get(barcode)

    async def barcode_items(self, tenant_id: str, barcodes: Sequence[str]) -> dict[str, str]:
        """The item of each barcode (GTIN-14) that has one, from the read cache where it can."""
        found: dict[str, str] = {}
        misses = []
        for barcode in barcodes:
            cached = self._barcodes.get((tenant_id, barcode))
            if cached is None:
                misses.append(barcode)
            elif isinstance(cached, str):
                found[barcode] = cached
        if misses:
            generation = self._generation
            with self._query("barcode_items"):
                loaded = await self._repository.barcode_items(tenant_id, misses)
            for barcode in misses:
                answer = loaded.get(barcode, _NOT_FOUND)
                if generation == self._generation:
                    self._barcodes.put((tenant_id, barcode), answer)
                if isinstance(answer, str):
                    found[barcode] = answer
        return found

    async def scan_layouts(self, tenant_id: str) -> list[ScanLayout]:
        """The tenant's in-store code layouts, from the read cache where it can."""
        cached = self._layouts.get(tenant_id)
        if cached is None:
            generation = self._generation
            with self._query("scan_layouts"):
                cached = await self._repository.scan_layouts(tenant_id)
            if generation == self._generation:
                self._layouts.put(tenant_id, cached)
        return cached

    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext:
        """The tenant's currency and rounding; NOT_FOUND for an unknown tenant or store."""
        return await self._store_context(tenant_id, store_code)

    def invalidate(self) -> None:
        self._generation += 1
        self._stores.clear()
        self._items.clear()
        self._barcodes.clear()
        self._layouts.clear()
