"""The call gate in front of every handler: admission, accounting and error hygiene."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from pydantic import SecretStr

from services.common.secrets import BearerToken
from services.common.storage_errors import StorageUnavailable
from services.rpc.call_gate import CallGate
from services.wire.grpc import MalformedFrame

PATH = "/test.v1.TestService/Call"


class Servable:
    def __init__(self, func: Callable[[Any], Awaitable[None]]) -> None:
        self._func = func

    def __mapping__(self) -> dict[str, Handler]:
        return {PATH: Handler(self._func, Cardinality.UNARY_UNARY, object, object)}


class Stream:
    def __init__(self, authorization: str | None = "Bearer t0ken") -> None:
        self.metadata = {} if authorization is None else {"authorization": authorization}


def gated(gate: CallGate, func: Callable[[Any], Awaitable[None]], *, auth: bool = True) -> Any:
    return gate.guard(Servable(func), authenticate=auth).__mapping__()[PATH].func


async def nothing(_: Any) -> None:
    return None


def gate() -> CallGate:
    return CallGate(BearerToken(SecretStr("t0ken")), storage_name="test store")


async def test_a_call_with_the_token_runs() -> None:
    ran: list[Any] = []

    async def handler(stream: Any) -> None:
        ran.append(stream)

    await gated(gate(), handler)(Stream())
    assert len(ran) == 1


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "t0ken"])
async def test_a_call_without_the_token_is_unauthenticated(authorization: str | None) -> None:
    with pytest.raises(GRPCError) as raised:
        await gated(gate(), nothing)(Stream(authorization))
    assert raised.value.status is Status.UNAUTHENTICATED


async def test_an_open_service_takes_calls_without_a_token() -> None:
    await gated(gate(), nothing, auth=False)(Stream(None))


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        pytest.param(
            StorageUnavailable("down"),
            Status.UNAVAILABLE,
            "the test store is unavailable",
            id="outage",
        ),
        pytest.param(KeyError("bug"), Status.INTERNAL, "internal error", id="a bug"),
        pytest.param(
            GRPCError(Status.NOT_FOUND, "no such"), Status.NOT_FOUND, "no such", id="an answer"
        ),
        pytest.param(
            MalformedFrame("cut short"), Status.INTERNAL, "malformed message frame", id="bad frame"
        ),
    ],
)
async def test_errors_reach_the_caller_as_their_status(
    error: Exception, status: Status, message: str
) -> None:
    async def failing(_: Any) -> None:
        raise error

    with pytest.raises(GRPCError) as raised:
        await gated(gate(), failing)(Stream())
    assert (raised.value.status, raised.value.message) == (status, message)


async def test_a_deadline_passes_through_as_it_is() -> None:
    async def late(_: Any) -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await gated(gate(), late)(Stream())


async def test_drain_waits_for_calls_in_flight_and_refuses_new_ones() -> None:
    the_gate = gate()
    release = asyncio.Event()

    async def slow(_: Any) -> None:
        await release.wait()

    call = asyncio.create_task(gated(the_gate, slow)(Stream()))
    await asyncio.sleep(0)
    assert the_gate.in_flight == 1
    assert not await the_gate.drain(0.01)  # still in flight
    with pytest.raises(GRPCError) as raised:
        await gated(the_gate, nothing)(Stream())
    assert raised.value.status is Status.UNAVAILABLE
    release.set()
    await call
    assert await the_gate.drain(0.01)
    assert the_gate.in_flight == 0
