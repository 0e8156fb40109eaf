"""Our own gRPC engine in process (tests.support.wire_channel: WireServer, its guarded
connection, call router and framed stream), not grpclib's stock server: a unary call and a
server stream framed by us, the trailers a handler sets, the size limit at the length prefix,
an unknown method, and the connection count."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse, Item
from services.rpc.call import current_call
from services.rpc.grpc_connection import GrpcLimits
from tests.support.wire_channel import WireChannelFor

UNARY = "/test.v1.Echo/Echo"
STREAM = "/test.v1.Echo/Repeat"


class Echo:
    """A service as grpclib serves it: the item code comes back as the item's name."""

    async def echo(self, stream: Any) -> None:
        request = await stream.recv_message()
        current_call().response_trailers.append(("x-echoed", request.item_code))
        await stream.send_message(reply(request.item_code))

    async def repeat(self, stream: Any) -> None:
        request = await stream.recv_message()
        for n in range(3):
            await stream.send_message(reply(f"{request.item_code}-{n}"))

    def __mapping__(self) -> dict[str, Handler]:
        return {
            UNARY: Handler(self.echo, Cardinality.UNARY_UNARY, GetItemDetailRequest,
                           GetItemDetailResponse),
            STREAM: Handler(self.repeat, Cardinality.UNARY_STREAM, GetItemDetailRequest,
                            GetItemDetailResponse),
        }  # fmt: skip


def reply(name: str) -> GetItemDetailResponse:
    return GetItemDetailResponse(item=Item(item_code="X", item_name=name))


LIMITS = GrpcLimits(max_message_bytes=1024)


@pytest.fixture
async def engine() -> AsyncIterator[tuple[Channel, WireChannelFor]]:
    harness = WireChannelFor([Echo()], LIMITS)
    async with harness as channel:
        yield channel, harness


async def call(channel: Channel, method: str, code: str) -> tuple[list[Any], Any]:
    cardinality = Cardinality.UNARY_STREAM if method == STREAM else Cardinality.UNARY_UNARY
    async with channel.request(method, cardinality, GetItemDetailRequest, GetItemDetailResponse,
                               timeout=5) as stream:  # fmt: skip
        await stream.send_message(GetItemDetailRequest(item_code=code), end=True)
        replies = [message async for message in stream]
    return replies, stream.trailing_metadata


async def test_a_unary_call_and_its_trailers(engine: tuple[Channel, WireChannelFor]) -> None:
    replies, trailers = await call(engine[0], UNARY, "ABC")
    assert [r.item.item_name for r in replies] == ["ABC"]
    assert trailers["x-echoed"] == "ABC"


async def test_a_server_stream(engine: tuple[Channel, WireChannelFor]) -> None:
    replies, _ = await call(engine[0], STREAM, "S")
    assert [r.item.item_name for r in replies] == ["S-0", "S-1", "S-2"]


async def test_a_request_past_the_limit_is_refused_at_its_prefix(
    engine: tuple[Channel, WireChannelFor],
) -> None:
    with pytest.raises(GRPCError) as refused:
        await call(engine[0], UNARY, "x" * 2048)
    assert refused.value.status is Status.RESOURCE_EXHAUSTED


async def test_an_unknown_method_is_unimplemented(engine: tuple[Channel, WireChannelFor]) -> None:
    with pytest.raises(GRPCError) as refused:
        await call(engine[0], "/test.v1.Echo/Nope", "A")
    assert refused.value.status is Status.UNIMPLEMENTED


async def test_the_connection_is_counted_while_open(engine: tuple[Channel, WireChannelFor]) -> None:
    channel, harness = engine
    await call(channel, UNARY, "A")
    assert harness.server.connections.open == 1
    channel.close()
    for _ in range(100):
        if harness.server.connections.open == 0:
            break
        await asyncio.sleep(0.01)
    assert harness.server.connections.open == 0
