"""What a handler may know and say about its call beyond messages, the same on gRPC and Connect:
the request's headers and timeout (and a Connect GET's query), and the response headers and
trailers it wants sent.

The edge that runs a handler (`grpc_dispatch`, `connect_server`) opens a `CallInfo` for the
call; the handler reads and fills it through `current_call()`. Error details travel on
`GRPCError(status, message, details=[message, ...])` (`services.wire.status_details`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallInfo:
    """One call as its handler sees it. Header names are lower case; a name may repeat.

    `headers` is the transport's own mapping (Starlette's Headers, grpclib's metadata), read
    into pairs only when a handler asks: a lookup that never looks costs nothing for it."""

    headers: Any
    timeout_seconds: float | None = None
    peer: object = None  # the connection the call came on: equal for calls of one connection
    transport: str = ""  # which edge runs it: grpc, connect or grpc-web
    tenants: frozenset[str] | None = None  # what the caller's token may ask about (None: all)
    get_query: list[tuple[str, str]] | None = None  # a Connect GET's query parameters
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_trailers: list[tuple[str, str]] = field(default_factory=list)
    # Streaming calls: sends the response headers now, before the first message.
    send_headers: Callable[[], Awaitable[None]] | None = None
    # Run by the edge when the call ends, however it ends (a cancelled handler's generator
    # may be closed much later, by the garbage collector): for what a call holds open.
    at_end: list[Callable[[], None]] = field(default_factory=list)

    def ended(self) -> None:
        """The call is over: run what it asked for, once."""
        hooks, self.at_end = self.at_end, []
        for hook in hooks:
            hook()

    @property
    def request_headers(self) -> list[tuple[str, str]]:
        return list(self.headers.items())

    async def headers_now(self) -> None:
        """Send the response headers set so far at once (streaming calls; else a no-op)."""
        if self.send_headers is not None:
            await self.send_headers()


_current: ContextVar[CallInfo | None] = ContextVar("call", default=None)


@contextmanager
def opened(call: CallInfo) -> Iterator[CallInfo]:
    """Make `call` the current one for the handler run inside."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


def current_call() -> CallInfo:
    """The call the running handler serves (a handler outside any call gets an empty one)."""
    call = _current.get()
    if call is None:
        call = CallInfo(headers={})
        _current.set(call)
    return call
