"""How a Connect server stream ends when its producer does not finish it: the client going
away leaves no reply waiting forever, and a shutdown ends every open stream with UNAVAILABLE
(before the HTTP server's grace runs out and cuts it off mid-message)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gen.kugel.item.v1 import GetItemDetailRequest
from services.rpc.call import CallInfo
from services.rpc.connect_streaming import (
    SHUTTING_DOWN,
    EnvelopeStream,
    StreamExchange,
    produce,
)


class _Forever:
    """A handler that never sends and never ends (a watch with nothing to say)."""

    async def func(self, _: Any) -> None:
        await asyncio.Event().wait()


async def _stream(receive_disconnect: bool) -> tuple[list[dict[str, Any]], asyncio.Task[None]]:
    call = CallInfo(headers={}, timeout_seconds=None)
    exchange = StreamExchange(GetItemDetailRequest(), call, bytes, False, 5.0)
    producer = asyncio.create_task(produce(_Forever(), exchange, call, 0.05))  # type: ignore[arg-type]
    reply = EnvelopeStream(
        exchange, producer, call, content_type="application/connect+json", send_timeout=5.0,
        gzip_replies=False,
    )  # fmt: skip
    sent: list[dict[str, Any]] = []
    gone = asyncio.Event()
    if receive_disconnect:
        gone.set()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    answering = asyncio.create_task(reply({"type": "http"}, receive, send))
    await asyncio.sleep(0.05)
    return sent, answering  # type: ignore[return-value]


async def test_a_client_that_goes_away_leaves_no_reply_waiting() -> None:
    """Before: the reply waited for the cancelled producer's end-stream message forever."""
    _, answering = await _stream(receive_disconnect=True)
    await asyncio.wait_for(answering, 1)


async def test_a_shutdown_ends_an_open_stream_with_unavailable() -> None:
    sent, answering = await _stream(receive_disconnect=False)
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__ == "produce":  # type: ignore[union-attr]
            task.cancel(SHUTTING_DOWN)  # what ConnectEndpoint.close_streams does
    await asyncio.wait_for(answering, 1)
    end = sent[-1]["body"]
    assert end[0] & 0x02  # the end-stream flag
    assert json.loads(end[5:])["error"]["code"] == "unavailable"
