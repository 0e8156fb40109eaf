"""The ItemService rpc handlers: the one implementation both transports serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    Item,
    ItemServiceBase,
    NotFoundDetail,
    NotFoundReason,
    ResolveScanRequest,
    ResolveScanResponse,
    StreamStoreItemsRequest,
    StreamStoreItemsResponse,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)
from services.rpc.call import current_call
from services.wire.codec import EncodedForms

from .catalog import ItemCatalog
from .errors import GRPC_STATUS, CatalogError, ErrorCode
from .item_watch import Watches
from .scan_resolution import ScanResolver


def _allowed(tenant_ids: Iterable[str]) -> None:
    """PERMISSION_DENIED for a tenant outside the caller's token (MASTER_DATA_TOKENS)."""
    scope = current_call().tenants
    if scope is None:
        return
    outside = [t for t in tenant_ids if t not in scope]
    if outside:
        raise GRPCError(Status.PERMISSION_DENIED, f"this token may not ask about {outside[0]}")


# What a lookup's NOT_FOUND did not find: its detail, on gRPC and Connect alike.
_NOT_FOUND_REASON = {
    ErrorCode.TENANT_NOT_FOUND: NotFoundReason.TENANT,
    ErrorCode.STORE_NOT_FOUND: NotFoundReason.STORE,
    ErrorCode.NOT_FOUND: NotFoundReason.ITEM,
}


@contextmanager
def _as_grpc_status() -> Iterator[None]:
    try:
        yield
    except CatalogError as error:
        reason = _NOT_FOUND_REASON.get(error.code)
        details = [NotFoundDetail(reason=reason, code=error.subject)] if reason else None
        raise GRPCError(GRPC_STATUS[error.code], error.message, details) from None


class ItemService(ItemServiceBase):
    """kugel.item.v1.ItemService over the item catalog.

    The catalog answers from its read cache with the same, never mutated Item objects, so the
    service has `known` keep their encoded forms ready for the codecs.
    """

    def __init__(
        self,
        catalog: ItemCatalog,
        known: EncodedForms | None = None,
        watches: Watches | None = None,
    ) -> None:
        self._catalog = catalog
        self._scans = ScanResolver(catalog)
        self._known = known
        self._watches = watches

    def _remember(self, items: list[Item]) -> None:
        if self._known is not None:
            for item in items:
                self._known.remember(item)

    async def get_item_detail(self, message: GetItemDetailRequest) -> GetItemDetailResponse:
        _allowed([message.tenant_id])
        with _as_grpc_status():
            item = await self._catalog.get_item(
                message.tenant_id, message.store_code, message.item_code
            )
        self._remember([item])
        return GetItemDetailResponse(item=item)

    async def batch_get_item_details(
        self, message: BatchGetItemDetailsRequest
    ) -> BatchGetItemDetailsResponse:
        _allowed([message.tenant_id])
        with _as_grpc_status():
            items, missing = await self._catalog.get_items(
                message.tenant_id, message.store_code, message.item_codes
            )
        self._remember(items)
        return BatchGetItemDetailsResponse(items=items, not_found_item_codes=missing)

    async def resolve_scan(self, message: ResolveScanRequest) -> ResolveScanResponse:
        _allowed([message.tenant_id])
        with _as_grpc_status():
            [result] = await self._scans.resolve(
                message.tenant_id, message.store_code, [message.scan]
            )
        if result.rejected is not None:
            raise GRPCError(Status.INVALID_ARGUMENT, result.rejected.description, [result.rejected])
        if result.not_found is not None:
            code = result.not_found.code
            raise GRPCError(Status.NOT_FOUND, f"no item has barcode {code}", [result.not_found])
        return ResolveScanResponse(scanned=result.scanned)

    async def batch_resolve_scans(
        self, message: BatchResolveScansRequest
    ) -> BatchResolveScansResponse:
        _allowed([message.tenant_id])
        with _as_grpc_status():
            results = await self._scans.resolve(
                message.tenant_id, message.store_code, message.scans
            )
        return BatchResolveScansResponse(results=results)

    async def watch_item_changes(
        self, message: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        if self._watches is None:
            raise GRPCError(Status.UNIMPLEMENTED, "this server keeps no change log")
        _allowed(message.tenant_ids)
        with _as_grpc_status():
            watch = await self._watches.open(
                message.tenant_ids, message.store_codes, message.after_sequence
            )
        call = current_call()
        with _as_grpc_status():
            release = self._watches.admit(call.peer, call.headers.get("authorization"))
        call.at_end.append(release)  # the call's end, or the generator's close, whichever first
        try:
            async for event in watch.events():
                yield event
        finally:
            release()
        if self._watches.feed.closing:
            raise GRPCError(Status.UNAVAILABLE, "master-data is shutting down: resume elsewhere")

    async def stream_store_items(
        self, message: StreamStoreItemsRequest
    ) -> AsyncIterator[StreamStoreItemsResponse]:
        _allowed([message.tenant_id])
        pages = self._catalog.store_snapshot(message.tenant_id, message.store_code)
        while True:
            with _as_grpc_status():
                page = await anext(pages, None)
            if page is None:
                return
            items, sequence = page
            yield StreamStoreItemsResponse(items=items, sequence=sequence)
