"""The ItemService rpc handlers: the one implementation both transports serve."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from grpclib.exceptions import GRPCError

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    Item,
    ItemServiceBase,
)
from services.wire.codec import EncodedForms

from .catalog import ItemCatalog
from .errors import GRPC_STATUS, CatalogError


@contextmanager
def _as_grpc_status() -> Iterator[None]:
    try:
        yield
    except CatalogError as error:
        raise GRPCError(GRPC_STATUS[error.code], error.message) from None


class ItemService(ItemServiceBase):
    """kugel.item.v1.ItemService over the item catalog.

    The catalog answers from its read cache with the same, never mutated Item objects, so the
    service has `known` keep their encoded forms ready for the codecs.
    """

    def __init__(self, catalog: ItemCatalog, known: EncodedForms | None = None) -> None:
        self._catalog = catalog
        self._known = known

    def _remember(self, items: list[Item]) -> None:
        if self._known is not None:
            for item in items:
                self._known.remember(item)

    async def get_item_detail(self, message: GetItemDetailRequest) -> GetItemDetailResponse:
        with _as_grpc_status():
            item = await self._catalog.get_item(
                message.tenant_id, message.store_code, message.item_code
            )
        self._remember([item])
        return GetItemDetailResponse(item=item)

    async def batch_get_item_details(
        self, message: BatchGetItemDetailsRequest
    ) -> BatchGetItemDetailsResponse:
        with _as_grpc_status():
            items, missing = await self._catalog.get_items(
                message.tenant_id, message.store_code, message.item_codes
            )
        self._remember(items)
        return BatchGetItemDetailsResponse(items=items, not_found_item_codes=missing)
