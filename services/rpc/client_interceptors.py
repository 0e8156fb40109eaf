"""Client interceptors: the calling end's seam (the RPC HTTP client's), for what crosses every
call a client makes (metrics, tracing, credentials).

`before(call)` runs as a call starts: it sees the path, protocol, whether it streams, the
deadline, and the request headers it may add to (or it refuses the call by raising
`ConnectError`). `after(call)` runs once the call is over, however it ended: `call.error` is
None for success or the `ConnectError` the caller gets (CANCELED when the caller stopped
reading a stream); `call.reply_headers` and `call.reply_trailers` hold what the reply carried
(also for an error, as far as it came). Interceptors run `before` in list order and `after` in
reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.wire.connect import ConnectError


@dataclass
class ClientCall:
    path: str  # /package.Service/Method
    protocol: str  # connect, grpc-web or grpc
    streaming: bool
    headers: dict[str, str]  # the request headers to send: an interceptor may add
    seconds: float | None  # the call's deadline, from its start (None: none)
    reply_headers: Mapping[str, str] = field(default_factory=dict)
    reply_trailers: list[tuple[str, str]] = field(default_factory=list)  # names lower case
    error: ConnectError | None = None
    state: dict[str, Any] = field(default_factory=dict)  # what an interceptor keeps for after
    server: str = ""  # host:port of the peer, where the client knows it


class ClientInterceptor(Protocol):
    def before(self, call: ClientCall) -> None: ...

    def after(self, call: ClientCall) -> None: ...
