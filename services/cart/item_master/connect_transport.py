"""Item lookups over HTTP: the Connect endpoint of master-data through one pooled aiohttp session.

aiohttp, not httpx: measured here about 4x faster per call, and it does not collapse under
concurrency. Bodies are binary protobuf (`application/proto`), decoded strictly.
"""

from __future__ import annotations

import ssl

import aiohttp

from gen.kugel.item.v1 import BatchGetItemDetailsRequest, BatchGetItemDetailsResponse
from services.wire.codec import MalformedMessage, decode_binary, encode_binary
from services.wire.connect import (
    PROTO,
    PROTOCOL_VERSION_HEADER,
    TIMEOUT_HEADER,
    Code,
    error_from_reply,
    format_timeout_ms,
)

from .model import BatchResult, ItemLookupError, LookupFailure
from .transport import FAILURE_BY_STATUS, MAX_REPLY_BYTES

PATH = "/kugel.item.v1.ItemService/BatchGetItemDetails"


def failure_of_reply(http_status: int, body: bytes) -> ItemLookupError:
    """An unsuccessful Connect reply as an ItemLookupError, its code read per the spec."""
    error = error_from_reply(http_status, body)
    failure = FAILURE_BY_STATUS.get(error.status, LookupFailure.FAILED)
    timed_out = error.code is Code.DEADLINE_EXCEEDED
    return ItemLookupError(failure, error.message, timed_out=timed_out)


class ConnectTransport:
    """One aiohttp session per process and target, opened on first use, at most `pool_size`
    connections (HTTP/1.1 has one call per connection: more calls in flight wait their turn)."""

    name = "connect"

    def __init__(
        self, base_url: str, token: str | None, pool_size: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self._tls: ssl.SSLContext | bool = tls if tls is not None else True
        self._url = base_url.rstrip("/") + PATH
        self._headers = {"content-type": PROTO, PROTOCOL_VERSION_HEADER: "1"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=self._pool_size, ssl=self._tls
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        headers = {**self._headers, TIMEOUT_HEADER: format_timeout_ms(seconds_left)}
        try:
            async with self._get_session().post(
                self._url,
                data=encode_binary(request),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=seconds_left),
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise failure_of_reply(response.status, body)
        except TimeoutError:
            raise ItemLookupError(
                LookupFailure.UNAVAILABLE, "HTTP deadline exceeded", timed_out=True
            ) from None
        except aiohttp.ClientError as error:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, f"HTTP unreachable: {error}") from None
        try:
            reply = decode_binary(body, BatchGetItemDetailsResponse, MAX_REPLY_BYTES)
        except (MalformedMessage, ValueError) as error:
            raise ItemLookupError(
                LookupFailure.FAILED, f"bad reply from master-data: {error}"
            ) from None
        return BatchResult.from_reply(reply)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
