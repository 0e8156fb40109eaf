"""The ItemService rpc handlers: the one implementation both transports serve."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceBase,
)

from .catalog import ItemCatalog
from .errors import CatalogError, ErrorCode

GRPC_STATUS = {
    ErrorCode.INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
    ErrorCode.NOT_FOUND: Status.NOT_FOUND,
}


@contextmanager
def _as_grpc_status() -> Iterator[None]:
    try:
        yield
    except CatalogError as error:
        raise GRPCError(GRPC_STATUS[error.code], error.message) from None


class ItemService(ItemServiceBase):
    """kugel.item.v1.ItemService over the item catalog."""

    def __init__(self, catalog: ItemCatalog) -> None:
        self._catalog = catalog

    async def get_item_detail(self, message: GetItemDetailRequest) -> GetItemDetailResponse:
        with _as_grpc_status():
            item = await self._catalog.get_item(
                message.tenant_id, message.store_code, message.item_code
            )
        return GetItemDetailResponse(item=item)

    async def batch_get_item_details(
        self, message: BatchGetItemDetailsRequest
    ) -> BatchGetItemDetailsResponse:
        with _as_grpc_status():
            items, missing = await self._catalog.get_items(
                message.tenant_id, message.store_code, message.item_codes
            )
        return BatchGetItemDetailsResponse(items=items, not_found_item_codes=missing)
