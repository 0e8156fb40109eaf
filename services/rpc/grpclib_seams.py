"""The one module that touches grpclib's private names. grpclib (pinned below 0.5) has no public
hook for what the gRPC engine does with it:

- its server `Stream` keeps the call's HTTP/2 stream, codec, message types and send state
  private: `grpc_stream` frames the messages itself (limits at the prefix, compression);
- its `Server` makes each connection's handler and protocol in `_protocol_factory`, its
  `Handler` keeps the tasks of its calls in `_tasks`: `grpc_server` and `grpc_dispatch` put
  their own there;
- its `Connection` keeps the h2 connection and the transport private: the connection guards
  reset, GOAWAY and close through them;
- its `Buffer` and `Stream` have no constructor that takes lean containers (`LeanBuffer`,
  `LeanStream` below);
- its `Channel` makes each connection's protocol in `_protocol_factory` and keeps its address
  and codecs private, its client `Stream` its HTTP/2 stream and deadline wrapper: `grpc_client`
  hears of each connection as it is made, checks replies and drains a GOAWAY with them;
- `ServerReflection` names the services it lists in `_service_names`.

Each is a small named function or class here; tests/rpc/test_grpclib_seams.py checks every one
against grpclib's own objects, so an upgrade that moves one fails there first, by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeAlias

from grpclib.client import Channel
from grpclib.client import Handler as ClientHandler
from grpclib.client import Stream as ClientStream
from grpclib.const import Cardinality
from grpclib.metadata import _Metadata, _MetadataLike
from grpclib.protocol import Buffer, Connection, H2Protocol, Stream
from grpclib.server import Handler, Server
from h2.connection import H2Connection

from .lean_stream import LazyEvent, LeanChunks, LeanQueue

Metadata: TypeAlias = _Metadata
MetadataLike: TypeAlias = _MetadataLike


# -- the server Stream of one call (grpclib.server.Stream) ---------------------------------------


def h2_stream(stream: Any) -> Any:
    """The call's HTTP/2 stream (grpclib.protocol.Stream): what frames are read from and sent on."""
    return stream._stream


def cardinality(stream: Any) -> Cardinality:
    return stream._cardinality  # type: ignore[no-any-return]


def message_codec(stream: Any) -> Any:
    return stream._codec


def request_type(stream: Any) -> Any:
    return stream._recv_type


def reply_type(stream: Any) -> Any:
    return stream._send_type


def content_type(stream: Any) -> str:
    return stream._content_type  # type: ignore[no-any-return]


def messages_received(stream: Any) -> int:
    return stream._messages_received  # type: ignore[no-any-return]


def count_message_received(stream: Any) -> None:
    stream._messages_received += 1


def initial_metadata_sent(stream: Any) -> bool:
    return stream._send_initial_metadata_done  # type: ignore[no-any-return]


def mark_initial_metadata_sent(stream: Any) -> None:
    stream._send_initial_metadata_done = True


def message_sent(stream: Any) -> bool:
    return stream._send_message_done  # type: ignore[no-any-return]


def mark_message_sent(stream: Any) -> None:
    stream._send_message_done = True
    stream._messages_sent += 1


def trailing_metadata_sent(stream: Any) -> bool:
    return stream._send_trailing_metadata_done  # type: ignore[no-any-return]


# -- one connection (grpclib.protocol.Connection) ------------------------------------------------


def h2_connection(connection: Connection) -> H2Connection:
    return connection._connection


def transport_of(connection: Connection) -> Any:
    return connection._transport


# -- lean containers: grpclib's Buffer and Stream without their constructors ---------------------


class LeanBuffer(Buffer):
    """grpclib's Buffer with lean containers (a list for its deque, a lazy queue)."""

    def __init__(self, ack_callback: Any) -> None:
        self._ack_callback = ack_callback
        self._eof = False
        self._unacked = LeanQueue()  # type: ignore[assignment]
        self._acked = LeanChunks()  # type: ignore[assignment]
        self._acked_size = 0


class LeanStream(Stream):
    """A server stream as grpclib makes it, with lazy events and a lean buffer."""

    def __init__(self, connection: Connection, stream_id: int) -> None:
        self.connection = connection
        self._h2_connection = connection._connection
        self._transport = connection._transport
        self.wrapper = None
        self.init_stream(stream_id, connection)
        self.window_updated = LazyEvent()  # type: ignore[assignment]
        self.headers = None
        self.headers_received = LazyEvent()  # type: ignore[assignment]
        self.trailers = None
        self.trailers_received = LazyEvent()  # type: ignore[assignment]

    def init_stream(self, stream_id: int, connection: Connection) -> None:  # grpclib's
        self.id = stream_id
        self.buffer = LeanBuffer(partial(connection.ack, stream_id))
        connection.streams_started += 1
        self.created = connection.last_stream_created = time.monotonic()


# -- the server and its per-connection handler ---------------------------------------------------


class HookedServer(Server):
    """grpclib's Server whose per-connection handler and protocol come from two methods a
    subclass defines (grpclib makes both in `_protocol_factory`, with no hook)."""

    def connection_handler(
        self, mapping: dict[str, Any], status_details_codec: Any, dispatch: Any
    ) -> Handler:
        raise NotImplementedError

    def connection_protocol(self, handler: Handler, config: Any) -> H2Protocol:
        raise NotImplementedError

    def _protocol_factory(self) -> H2Protocol:
        self.__gc_step__()
        handler = self.connection_handler(
            self._mapping, self._status_details_codec, self.__dispatch__
        )
        self._handlers.add(handler)
        return self.connection_protocol(handler, self._config)


class HookedHandler(Handler):
    """grpclib's per-connection Handler whose calls run `route` (grpclib keeps the tasks of its
    calls in `_tasks`, which its close waits for)."""

    def route(self, stream: Any, headers: Any, release_stream: Callable[[], Any]) -> Any:
        raise NotImplementedError

    def accept(self, stream: Any, headers: Any, release_stream: Callable[[], Any]) -> None:
        self.__gc_step__()
        self._tasks[stream] = self.loop.create_task(self.route(stream, headers, release_stream))


# -- the client ----------------------------------------------------------------------------------


class _MadeProtocol(H2Protocol):
    """grpclib's client protocol telling its channel of its connection the moment it is made,
    before a byte of the server's is read (after `create_connection` returns, the server's
    first SETTINGS may have been read already)."""

    def __init__(self, made: Callable[[H2Protocol], None], *args: Any) -> None:
        super().__init__(*args)
        self._tell_made = made

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._tell_made(self)


class HookedChannel(Channel):
    """grpclib's Channel telling `connection_opened` of each connection it makes, and showing
    what it keeps private: whether it is connected, its address, its codecs."""

    def connection_opened(self, protocol: H2Protocol) -> None:
        """Each new connection's protocol, as it is made: before any frame is read on it."""

    def _protocol_factory(self) -> H2Protocol:  # grpclib's, telling connection_opened
        return _MadeProtocol(self.connection_opened, ClientHandler(), self._config, self._h2_config)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    @property
    def message_codec(self) -> Any:
        return self._codec

    @property
    def details_codec(self) -> Any:
        return self._status_details_codec


class HookedClientStream(ClientStream[Any, Any]):
    """grpclib's client Stream showing what it keeps private."""

    @property
    def call_cardinality(self) -> Cardinality:
        return self._cardinality

    @property
    def h2_stream(self) -> Any:
        return self._stream

    @property
    def deadline_wrapper(self) -> Any:
        return self._wrapper

    @property
    def trailers_only(self) -> bool:
        return bool(self._trailers_only)


def ended_with_headers(h2: Any) -> bool:
    """Whether a client's HTTP/2 stream ended with its headers: no data before its end."""
    buffer = h2.buffer
    return bool(buffer._eof and buffer._unacked.qsize() == 1 and not buffer._acked)


# -- server reflection ---------------------------------------------------------------------------


def set_reflected_services(reflection: Any, names: Sequence[str]) -> None:
    """The services a ServerReflection lists (`extend()` lists only those it was given)."""
    reflection._service_names = list(names)
