"""Where the cart reads master-data's WatchItemChanges stream from: gRPC (the generated stub on
a balanced channel of its own, over every address of the target) or the Connect endpoint
(server streaming over HTTP/1.1, through the RPC layer's HTTP client).

A source raises one error of its own, `WatchFailed`, for everything it knows can end a stream
(the peer gone, refused, cut short, a bad message); anything else is a bug and travels as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from typing import Final, Protocol, TypeVar

import betterproto2
import h2.exceptions
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from gen.kugel.item.v1 import (
    ItemServiceStub,
    StreamStoreItemsRequest,
    StreamStoreItemsResponse,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)
from services.rpc.client_interceptors import ClientInterceptor
from services.rpc.grpc_balancer import BalancedChannel, Subchannel
from services.rpc.http_client import RpcHttpClient, RpcProtocol
from services.wire.connect import (
    Code,
    ConnectError,
)

SERVICE: Final = "/kugel.item.v1.ItemService/"
M = TypeVar("M", bound=betterproto2.Message)
MAX_MESSAGE_BYTES: Final = 4 << 20
SNAPSHOT_TIMEOUT_SECONDS: Final = 300.0  # a whole store's items (200,000 took seconds here)


class WatchFailed(Exception):
    """The stream could not be opened or ended with an error; `unimplemented` when master-data
    has no such rpc."""

    def __init__(self, message: str, *, unimplemented: bool = False) -> None:
        super().__init__(message)
        self.unimplemented = unimplemented

    @classmethod
    def of(cls, error: ConnectError) -> WatchFailed:
        return cls(
            f"{error.code.value}: {error.message}", unimplemented=error.code is Code.UNIMPLEMENTED
        )


# What ends a gRPC stream from outside this process: an error status, the connection lost.
_GRPC_ENDINGS: Final = (GRPCError, StreamTerminatedError, h2.exceptions.ProtocolError, OSError)


class ChangeSource(Protocol):
    name: str

    def stream(self, request: WatchItemChangesRequest) -> AsyncIterator[WatchItemChangesResponse]:
        """The events, until the server ends the stream (or an error is raised)."""
        ...

    def store_items(
        self, request: StreamStoreItemsRequest
    ) -> AsyncIterator[StreamStoreItemsResponse]:
        """A store's snapshot, page by page (PRELOAD_STORES)."""
        ...

    def another_ready(self) -> bool:
        """Whether the next stream over this source would go to another server than the one
        that just failed (another address is ready)."""
        ...

    async def close(self) -> None: ...


@contextlib.asynccontextmanager
async def _grpc_endings(channel: BalancedChannel, address: Subchannel) -> AsyncIterator[None]:
    """What ends a gRPC stream from outside this process, as WatchFailed; an address that is
    gone (or going: UNAVAILABLE) is skipped for its cool-down, so the next stream goes to
    another."""
    try:
        yield
    except GRPCError as error:
        if error.status is Status.UNAVAILABLE:
            channel.failed(address)
        raise WatchFailed(
            f"{error.status.name} at {address.label}: {error.message or ''}",
            unimplemented=error.status is Status.UNIMPLEMENTED,
        ) from None
    except _GRPC_ENDINGS as error:
        channel.failed(address)
        raise WatchFailed(f"stream lost at {address.label}: {error!r}") from None
    finally:
        channel.release(address)


class GrpcChanges:
    """WatchItemChanges over gRPC, on a balanced channel of its own (streams on connections
    apart from the lookups'): each stream to the ready address with the fewest streams."""

    name = "grpc"

    def __init__(self, channel: BalancedChannel, token: str | None) -> None:
        self._channel = channel
        self._metadata = {"authorization": f"Bearer {token}"} if token else None

    async def _address(self) -> Subchannel:
        address = await self._channel.pick()
        if address is None:
            raise WatchFailed("no gRPC address of master-data is ready")
        return address

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        address = await self._address()
        async with _grpc_endings(self._channel, address):
            events = ItemServiceStub(address.channel).watch_item_changes(
                request, metadata=self._metadata
            )
            async for event in events:
                yield event

    async def store_items(
        self, request: StreamStoreItemsRequest
    ) -> AsyncIterator[StreamStoreItemsResponse]:
        address = await self._address()
        async with _grpc_endings(self._channel, address):
            pages = ItemServiceStub(address.channel).stream_store_items(
                request, metadata=self._metadata, timeout=SNAPSHOT_TIMEOUT_SECONDS
            )
            async for page in pages:
                yield page

    def another_ready(self) -> bool:
        return self._channel.ready_count() > 0

    async def close(self) -> None:
        await self._channel.close()


class ConnectChanges:
    """WatchItemChanges over Connect server streaming, through the RPC layer's HTTP client:
    enveloped binary messages, then the end-stream message (its error, if any)."""

    name = "connect"

    def __init__(
        self,
        base_url: str,
        token: str | None,
        tls: ssl.SSLContext | None,
        interceptors: Sequence[ClientInterceptor] = (),
    ) -> None:
        self._client = RpcHttpClient(
            base_url,
            RpcProtocol.CONNECT,
            token=token,
            tls=tls,
            max_message_bytes=MAX_MESSAGE_BYTES,
            interceptors=interceptors,
        )

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        async for event in self._server_stream(
            "WatchItemChanges", request, WatchItemChangesResponse
        ):
            yield event

    async def store_items(
        self, request: StreamStoreItemsRequest
    ) -> AsyncIterator[StreamStoreItemsResponse]:
        pages = self._server_stream("StreamStoreItems", request, StreamStoreItemsResponse)
        try:
            async with asyncio.timeout(SNAPSHOT_TIMEOUT_SECONDS):
                async for page in pages:
                    yield page
        except TimeoutError:
            raise WatchFailed(f"no whole snapshot within {SNAPSHOT_TIMEOUT_SECONDS:g} s") from None

    async def _server_stream(
        self, method: str, request: betterproto2.Message, reply_type: type[M]
    ) -> AsyncIterator[M]:
        """One server stream, its error (or a lost connection) raised as WatchFailed. No
        deadline: a watch stays open while its heartbeats come; the watch's idle timeout
        rules it."""
        try:
            async for message in self._client.server_stream(SERVICE + method, request, reply_type):
                yield message
        except ConnectError as error:
            raise WatchFailed.of(error) from None
        except OSError as error:
            raise WatchFailed(f"stream lost: {error!r}") from None

    def another_ready(self) -> bool:
        return False  # one URL: a load balancer's to spread

    async def close(self) -> None:
        await self._client.close()
