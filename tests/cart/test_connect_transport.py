"""The cart's Connect transport reads error replies as the Connect spec says: the JSON error
body when there is one, else the code the spec derives from the HTTP status (a proxy's page,
a refusal before the rpc ran)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gen.kugel.item.v1 import BatchGetItemDetailsRequest
from services.cart.item_master.connect_transport import ConnectTransport
from services.cart.item_master.model import ItemLookupError, LookupFailure

REQUEST = BatchGetItemDetailsRequest(tenant_id="T0001", store_code="S001", item_codes=["A"])


@pytest.fixture
async def replies() -> AsyncIterator[tuple[str, dict[str, web.Response]]]:
    """A stand-in for whatever answers at master-data's address: replies set per test."""
    reply: dict[str, web.Response] = {}

    async def answer(_: web.Request) -> web.Response:
        return reply["next"]

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", reply
    await runner.cleanup()


async def lookup_error(url: str) -> ItemLookupError:
    transport = ConnectTransport(url, None, pool_size=1)
    try:
        with pytest.raises(ItemLookupError) as raised:
            await transport.batch(REQUEST, 2.0)
    finally:
        await transport.close()
    return raised.value


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        pytest.param(400, LookupFailure.FAILED, id="400 internal"),
        pytest.param(401, LookupFailure.REJECTED, id="401 unauthenticated"),
        pytest.param(403, LookupFailure.REJECTED, id="403 permission denied"),
        pytest.param(404, LookupFailure.UNAVAILABLE, id="404 unimplemented"),
        pytest.param(429, LookupFailure.UNAVAILABLE, id="429 unavailable"),
        pytest.param(500, LookupFailure.FAILED, id="500 unknown"),
        pytest.param(502, LookupFailure.UNAVAILABLE, id="502 unavailable"),
        pytest.param(503, LookupFailure.UNAVAILABLE, id="503 unavailable"),
        pytest.param(504, LookupFailure.UNAVAILABLE, id="504 unavailable"),
        pytest.param(418, LookupFailure.FAILED, id="other unknown"),
    ],
)
async def test_status_without_a_connect_body_maps_per_the_spec(
    replies: tuple[str, dict[str, web.Response]], status: int, failure: LookupFailure
) -> None:
    url, reply = replies
    reply["next"] = web.Response(status=status, text="<html>proxy error</html>")
    assert (await lookup_error(url)).failure is failure


async def test_a_connect_error_body_wins_over_the_status(
    replies: tuple[str, dict[str, web.Response]],
) -> None:
    url, reply = replies
    reply["next"] = web.json_response({"code": "not_found", "message": "no T9"}, status=503)
    error = await lookup_error(url)
    assert (error.failure, error.message) == (LookupFailure.NOT_FOUND, "no T9")
