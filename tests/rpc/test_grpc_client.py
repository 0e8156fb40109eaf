"""The grpclib channel of the RPC layer (`InterceptedChannel`): client interceptors in order
with the call's outcome, headers and trailers; error details read; a unary reply held to one
message. In process: grpclib's in-memory transport under our channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h2.config
import h2.connection
import pytest
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Stream
from grpclib.testing import ChannelFor

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse, Item
from services.rpc.client_interceptors import ClientCall, ClientInterceptor
from services.rpc.grpc_client import InterceptedChannel
from services.wire.connect import Code, ConnectError
from services.wire.grpc import StrictProtoCodec
from services.wire.status_details import StatusDetailsCodec

REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0001")
REPLY = GetItemDetailResponse(item=Item(item_code="ITEM0001", item_name="Tea"))


class Misbehaving:
    """Replies to `/test.Test/<n>` with n messages, whatever the caller expects; `Fails` fails
    with a detail, a header and a trailer."""

    def __mapping__(self) -> dict[str, Handler]:
        handlers = {
            f"/test.Test/{count}": Handler(self._replies(count), Cardinality.UNARY_STREAM,
                                           GetItemDetailRequest, GetItemDetailResponse)
            for count in (0, 1, 2)
        }  # fmt: skip
        handlers["/test.Test/Fails"] = Handler(
            self._fails, Cardinality.UNARY_UNARY, GetItemDetailRequest, GetItemDetailResponse
        )
        return handlers

    @staticmethod
    def _replies(count: int) -> Any:
        async def handle(stream: Stream[Any, Any]) -> None:
            await stream.recv_message()
            for _ in range(count):
                await stream.send_message(REPLY)

        return handle

    @staticmethod
    async def _fails(stream: Stream[Any, Any]) -> None:
        request = await stream.recv_message()
        await stream.send_initial_metadata(metadata={"x-header": "h"})
        await stream.send_trailing_metadata(
            status=Status.NOT_FOUND,
            status_message="no such item",
            status_details=[request],
            metadata={"x-trailer": "t"},
        )


@asynccontextmanager
async def channel(interceptors: list[ClientInterceptor]) -> AsyncIterator[InterceptedChannel]:
    codec = StrictProtoCodec(4096)
    async with ChannelFor([Misbehaving()], codec, StatusDetailsCodec()) as memory:
        ours = InterceptedChannel("memory", 0, codec=codec, interceptors=interceptors)
        ours._protocol = memory._protocol  # our channel on grpclib's in-memory transport
        try:
            yield ours
        finally:
            ours._protocol = None


async def unary(channel: InterceptedChannel, path: str, **kwargs: Any) -> Any:
    async with channel.request(
        path, Cardinality.UNARY_UNARY, GetItemDetailRequest, GetItemDetailResponse, **kwargs
    ) as stream:
        await stream.send_message(REQUEST, end=True)
        return await stream.recv_message()


class Recorder:
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen
        self.calls: list[ClientCall] = []

    def before(self, call: ClientCall) -> None:
        call.headers[f"x-{self.name}"] = "1"
        self.seen.append(f"{self.name} before {call.path} {sorted(call.headers)}")

    def after(self, call: ClientCall) -> None:
        self.calls.append(call)
        outcome = "OK" if call.error is None else call.error.code.value
        self.seen.append(f"{self.name} after {outcome}")


async def test_interceptors_nest_and_see_the_outcome_headers_and_trailers() -> None:
    seen: list[str] = []
    outer, inner = Recorder("outer", seen), Recorder("inner", seen)
    async with channel([outer, inner]) as calls:
        assert await unary(calls, "/test.Test/1", timeout=5) == REPLY
        with pytest.raises(GRPCError) as failed:
            await unary(calls, "/test.Test/Fails", timeout=5, metadata={"x-mine": "m"})
    assert seen == [
        "outer before /test.Test/1 ['x-outer']",
        "inner before /test.Test/1 ['x-inner', 'x-outer']",
        "inner after OK",
        "outer after OK",
        "outer before /test.Test/Fails ['x-mine', 'x-outer']",
        "inner before /test.Test/Fails ['x-inner', 'x-mine', 'x-outer']",
        "inner after not_found",
        "outer after not_found",
    ]
    assert failed.value.status is Status.NOT_FOUND
    assert failed.value.details == [{"type": "kugel.item.v1.GetItemDetailRequest",
                                     "value": failed.value.details[0]["value"]}]  # fmt: skip
    call = outer.calls[1]
    assert call.error is not None
    assert call.error.details == failed.value.details
    assert call.reply_headers["x-header"] == "h"
    assert ("x-trailer", "t") in call.reply_trailers
    assert 0 < (call.seconds or 0) <= 5


@pytest.mark.parametrize("count", [0, 2])
async def test_a_unary_reply_is_one_message(count: int) -> None:
    async with channel([]) as calls:
        with pytest.raises(GRPCError) as broken:
            await unary(calls, f"/test.Test/{count}", timeout=5)
    assert broken.value.status is Status.UNIMPLEMENTED


async def test_a_server_stream_reads_what_comes() -> None:
    async with channel([]) as calls, calls.request(
        "/test.Test/2", Cardinality.UNARY_STREAM, GetItemDetailRequest, GetItemDetailResponse,
        timeout=5,
    ) as stream:  # fmt: skip
        await stream.send_message(REQUEST, end=True)
        assert [reply async for reply in stream] == [REPLY, REPLY]


class Refusing:
    def before(self, call: ClientCall) -> None:
        raise ConnectError(Code.PERMISSION_DENIED, "not from here")

    def after(self, call: ClientCall) -> None:
        raise AssertionError("a refused call never started")


async def test_an_interceptor_may_refuse_a_call() -> None:
    async with channel([Refusing()]) as calls:
        with pytest.raises(GRPCError) as refused:
            await unary(calls, "/test.Test/1", timeout=5)
    assert (refused.value.status, refused.value.message) == (
        Status.PERMISSION_DENIED,
        "not from here",
    )


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def test_the_servers_settings_read_at_once_still_count_as_its_handshake() -> None:
    """The server's first SETTINGS may be read before `create_connection` returns (uvloop
    reads in the same turn): the channel hears of the connection as it is made, so they are
    never missed (they were, and a live replica never counted as ready)."""
    channel = InterceptedChannel("127.0.0.1", 1)
    protocol = channel._protocol_factory()
    protocol.connection_made(_Transport())  # type: ignore[arg-type]
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    server.initiate_connection()
    protocol.data_received(server.data_to_send())  # in the same turn, nothing awaited between
    assert channel._settled.is_set()
