"""Item lookups over HTTP: master-data's Connect endpoint through the RPC layer's HTTP client
(`services.rpc.http_client`: one pooled aiohttp session, binary protobuf decoded strictly)."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
)
from services.rpc.client_interceptors import ClientInterceptor
from services.rpc.http_client import RpcHttpClient, RpcProtocol
from services.wire.connect import Code, ConnectError

from .model import BatchResult, ItemLookupError
from .transport import MAX_REPLY_BYTES, failure_of

PATH = "/kugel.item.v1.ItemService/BatchGetItemDetails"
SCANS_PATH = "/kugel.item.v1.ItemService/BatchResolveScans"


def lookup_error(error: ConnectError) -> ItemLookupError:
    """A failed call as an ItemLookupError: its code read per the spec (a reply that breaks
    the protocol is INTERNAL: FAILED)."""
    failure = failure_of(error.status, error.details)
    timed_out = error.code is Code.DEADLINE_EXCEEDED
    return ItemLookupError(failure, error.message, timed_out=timed_out)


class ConnectTransport:
    """At most `pool_size` connections (HTTP/1.1 has one call per connection: more calls in
    flight wait their turn), opened on first use."""

    name = "connect"

    def __init__(
        self,
        base_url: str,
        token: str | None,
        pool_size: int,
        *,
        tls: ssl.SSLContext | None = None,
        protocol: RpcProtocol = RpcProtocol.CONNECT,
        interceptors: Sequence[ClientInterceptor] = (),
    ) -> None:
        self._client = RpcHttpClient(
            base_url,
            protocol,
            token=token,
            pool_size=pool_size,
            tls=tls,
            max_message_bytes=MAX_REPLY_BYTES,
            interceptors=interceptors,
        )

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        try:
            reply = await self._client.unary(
                PATH, request, BatchGetItemDetailsResponse, seconds=seconds_left
            )
        except ConnectError as error:
            raise lookup_error(error) from None
        return BatchResult.from_reply(reply.message)

    async def scans(
        self, request: BatchResolveScansRequest, seconds_left: float
    ) -> BatchResolveScansResponse:
        try:
            reply = await self._client.unary(
                SCANS_PATH, request, BatchResolveScansResponse, seconds=seconds_left
            )
        except ConnectError as error:
            raise lookup_error(error) from None
        return reply.message

    def status(self) -> dict[str, object]:
        return {}

    async def close(self) -> None:
        await self._client.close()
