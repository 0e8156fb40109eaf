"""Item lookups over HTTP: the Connect endpoint of master-data through one pooled aiohttp session.

aiohttp, not httpx: measured here about 4x faster per call, and it does not collapse under
concurrency. Bodies are binary protobuf (`application/proto`), decoded strictly.
"""

from __future__ import annotations

import json
import math
import ssl

import aiohttp
from grpclib.const import Status

from gen.kugel.item.v1 import BatchGetItemDetailsRequest, BatchGetItemDetailsResponse
from services.common.message_codec import MalformedMessage, decode_binary, encode_binary

from .model import BatchResult, ItemLookupError, LookupFailure
from .transport import FAILURE_BY_STATUS

PATH = "/kugel.item.v1.ItemService/BatchGetItemDetails"
_MAX_REPLY_BYTES = 16 << 20
_STATUS_BY_CODE = {status.name.lower(): status for status in Status} | {
    "canceled": Status.CANCELLED
}


def _failure(http_status: int, body: bytes) -> ItemLookupError:
    """A Connect error body ({"code", "message"}) as an ItemLookupError."""
    try:
        error = json.loads(body)
        code, message = str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        code, message = "unavailable" if http_status >= 500 else "unknown", f"HTTP {http_status}"
    status = _STATUS_BY_CODE.get(code, Status.UNKNOWN)
    return ItemLookupError(FAILURE_BY_STATUS.get(status, LookupFailure.FAILED), message or code)


class ConnectTransport:
    """One aiohttp session per process and target, opened on first use, at most `pool_size`
    connections (HTTP/1.1 has one call per connection: more calls in flight wait their turn)."""

    name = "http"

    def __init__(
        self, base_url: str, token: str | None, pool_size: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self._tls: ssl.SSLContext | bool = tls if tls is not None else True
        self._url = base_url.rstrip("/") + PATH
        self._headers = {"content-type": "application/proto", "connect-protocol-version": "1"}
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
        headers = {
            **self._headers,
            "connect-timeout-ms": str(max(1, math.floor(seconds_left * 1000))),
        }
        try:
            async with self._get_session().post(
                self._url,
                data=encode_binary(request),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=seconds_left),
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise _failure(response.status, body)
        except TimeoutError:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, "HTTP deadline exceeded") from None
        except aiohttp.ClientError as error:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, f"HTTP unreachable: {error}") from None
        try:
            reply = decode_binary(body, BatchGetItemDetailsResponse, _MAX_REPLY_BYTES)
        except (MalformedMessage, ValueError) as error:
            raise ItemLookupError(
                LookupFailure.FAILED, f"bad reply from master-data: {error}"
            ) from None
        return BatchResult.from_reply(reply)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
