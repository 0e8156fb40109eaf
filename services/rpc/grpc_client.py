"""The gRPC end of the client seam: a grpclib Channel whose calls pass the client interceptors
(`client_interceptors`: the same `ClientCall` the RPC HTTP client makes, protocol `grpc`) and
whose errors carry their details (`grpc-status-details-bin`, as Connect spells them).

The generated stubs enter every call as `async with channel.request(...) as stream`, so the
seam wraps that context: `before` as the call is made, `after` with its outcome, the reply's
headers and trailers, as it leaves.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from types import TracebackType
from typing import Any, Final, cast

import h2.exceptions
from grpclib.client import Stream
from grpclib.config import Configuration
from grpclib.const import Cardinality, Status
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.metadata import Deadline, decode_bin_value, encode_bin_value
from grpclib.protocol import EventsProcessor, H2Protocol
from h2.connection import ConnectionState
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, RemoteSettingsChanged
from multidict import MultiDict

from services.wire.connect import Code, ConnectError
from services.wire.status_details import StatusDetailsCodec

from .client_interceptors import ClientCall, ClientInterceptor
from .grpclib_seams import (
    HookedChannel,
    HookedClientStream,
    Metadata,
    MetadataLike,
    ended_with_headers,
    h2_connection,
)


def connect_error_of(error: BaseException) -> ConnectError:
    """What a grpclib call's failure means, in the layer's one error type."""
    if isinstance(error, ConnectError):
        return error
    if isinstance(error, GRPCError):
        details = error.details if isinstance(error.details, list) else []
        return ConnectError.from_status(error.status, error.message, details)
    if isinstance(error, TimeoutError):
        return ConnectError(Code.DEADLINE_EXCEEDED, "deadline exceeded")
    if isinstance(error, (asyncio.CancelledError, GeneratorExit)):
        return ConnectError(Code.CANCELED, "the caller cancelled the call or stopped reading")
    if isinstance(error, (OSError, StreamTerminatedError, h2.exceptions.ProtocolError)):
        return ConnectError(Code.UNAVAILABLE, f"unreachable: {error}")
    return ConnectError(Code.UNKNOWN, f"{type(error).__name__}: {error}")


class InterceptedChannel(HookedChannel):
    """A grpclib Channel whose calls are `CheckedStream`s, through `interceptors`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        codec: CodecBase | None = None,
        ssl: ssl.SSLContext | None = None,
        interceptors: Sequence[ClientInterceptor] = (),
        server_name: str | None = None,
    ) -> None:
        """`server_name`: the name TLS checks the certificate against, when `host` is one of
        the addresses it resolved to."""
        config = Configuration(ssl_target_name_override=server_name) if server_name else None
        super().__init__(
            host,
            port,
            codec=codec,
            ssl=ssl,
            status_details_codec=StatusDetailsCodec(),
            config=config,
        )
        self._interceptors = tuple(interceptors)
        self.on_goaway: Callable[[], None] | None = None  # told of every GOAWAY received
        self._settled = asyncio.Event()  # the server's first SETTINGS came on this connection

    @property
    def handshaken(self) -> bool:
        """Whether the connection is up and its HTTP/2 handshake done (the server's SETTINGS
        received): a port that accepts and never speaks HTTP/2 is connected, never handshaken."""
        return self.connected and self._settled.is_set()

    async def handshake(self) -> None:
        """Connect now (not at the first call) and wait for the server's SETTINGS (OSError
        when the connection fails; the caller bounds the wait)."""
        await self.__connect__()
        await self._settled.wait()

    def connection_opened(self, protocol: H2Protocol) -> None:
        self._settled = asyncio.Event()  # a new connection: its SETTINGS have not come yet
        processor = protocol.processor
        processor.processors[ConnectionTerminated] = partial(self._goaway, processor)  # type: ignore[assignment]  # grpclib's table of handlers
        settings = processor.processors[RemoteSettingsChanged]
        processor.processors[RemoteSettingsChanged] = partial(_settled, self._settled, settings)  # type: ignore[assignment, arg-type]  # as above

    def _goaway(self, processor: EventsProcessor, event: ConnectionTerminated) -> None:
        _drain(processor, event)
        if self.on_goaway is not None:
            self.on_goaway()  # e.g. the balancer resolves its name again: replicas may be new

    def request(
        self,
        name: str,
        cardinality: Cardinality,
        request_type: type[Any],
        reply_type: type[Any],
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        metadata: MetadataLike | None = None,
    ) -> Stream[Any, Any]:
        if timeout is not None:
            by_timeout = Deadline.from_timeout(timeout)
            deadline = by_timeout if deadline is None else min(by_timeout, deadline)
        call = None
        if self._interceptors:
            seconds = deadline.time_remaining() if deadline is not None else None
            sent = _text_pairs(MultiDict(metadata or ()).items())
            call = ClientCall(name, "grpc", cardinality.server_streaming, dict(sent), seconds,
                              server=self.address)  # fmt: skip
            for interceptor in self._interceptors:
                try:
                    interceptor.before(call)
                except ConnectError as refused:
                    raise GRPCError(refused.status, refused.message) from None
            metadata = _metadata(call.headers)
        return CheckedStream(
            self,
            name,
            cast("Metadata", MultiDict(metadata or ())),
            cardinality,
            request_type,
            reply_type,
            codec=self.message_codec,
            status_details_codec=self.details_codec,
            dispatch=self.__dispatch__,
            deadline=deadline,
            call=call,
            interceptors=self._interceptors,
        )


class CheckedStream(HookedClientStream):
    """grpclib's client Stream, holding the reply to gRPC's rules where grpclib does not:
    a status in headers followed by a body is no trailers-only reply (the trailers' status
    counts); a reply that ends without a status is INTERNAL (grpclib would wait for one
    forever); a unary reply is exactly one message (grpclib hands its caller None for none
    and drops a second); a compressed message, which grpclib cannot read, is INTERNAL. With
    a call record, the outcome goes to the interceptors as the call's context is left."""

    def __init__(
        self,
        *args: Any,
        call: ClientCall | None,
        interceptors: tuple[ClientInterceptor, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._call = call
        self._interceptors = interceptors
        self._unary_reply = not self.call_cardinality.server_streaming
        self._replied = False

    async def recv_initial_metadata(self) -> None:
        with self.deadline_wrapper:
            headers = await self.h2_stream.recv_headers()
        if any(name == "grpc-status" for name, _ in headers) and not self._trailers_only_reply():
            self.h2_stream.headers = [(k, v) for k, v in headers if k not in _STATUS_HEADERS]
        await super().recv_initial_metadata()

    def _trailers_only_reply(self) -> bool:
        """Whether the headers were the reply's one frame: the stream ended with them, no data,
        no trailers (true as soon as they are read: that frame carries the stream's end)."""
        return ended_with_headers(self.h2_stream) and self.h2_stream.trailers is None

    async def recv_message(self) -> Any:
        if not self._unary_reply or self._replied:
            return await self._next_message()
        self._replied = True
        reply = await self._next_message()
        if reply is None:
            await self.recv_trailing_metadata()  # an error status goes first
            raise GRPCError(Status.UNIMPLEMENTED, "a unary reply of no message")
        if await self._next_message() is not None:
            raise GRPCError(Status.UNIMPLEMENTED, "a unary reply of more than one message")
        return reply

    async def _next_message(self) -> Any:
        message = await super().recv_message()
        if message is None and not self.trailers_only and self.h2_stream.trailers is None:
            raise GRPCError(Status.INTERNAL, "the reply ended without a status")
        return message

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        outcome = error
        try:
            await super().__aexit__(kind, error, traceback)
            if isinstance(error, NotImplementedError):
                raise _compressed() from error
        except NotImplementedError as raised:
            outcome = _compressed()
            raise outcome from raised
        except BaseException as raised:
            outcome = raised
            raise
        finally:
            if self._call is not None:
                self._record(self._call, outcome)

    def _record(self, call: ClientCall, outcome: BaseException | None) -> None:
        if self.initial_metadata is not None:
            call.reply_headers = MultiDict(_text_pairs(self.initial_metadata.items()))
        if self.trailing_metadata is not None:
            call.reply_trailers = _text_pairs(self.trailing_metadata.items())
        call.error = None if outcome is None else connect_error_of(outcome)
        for interceptor in reversed(self._interceptors):
            interceptor.after(call)


_STATUS_HEADERS: Final = frozenset({"grpc-status", "grpc-message", "grpc-status-details-bin"})


def _compressed() -> GRPCError:
    return GRPCError(Status.INTERNAL, "a compressed message: none was asked for")


def _settled(
    settled: asyncio.Event,
    handle: Callable[[RemoteSettingsChanged], None],
    event: RemoteSettingsChanged,
) -> None:
    settled.set()
    handle(event)


def _drain(processor: EventsProcessor, event: ConnectionTerminated) -> None:
    """A GOAWAY as HTTP/2 means it (grpclib closes the connection and fails every call on it):
    the calls the server took (up to its last stream id) go on to their end, the next call
    opens a new connection. An error code other than NO_ERROR still closes at once."""
    if event.error_code != ErrorCodes.NO_ERROR:
        processor.process_connection_terminated(event)
        return
    processor.handler.close()  # the channel connects anew for the next call
    last = event.last_stream_id if event.last_stream_id is not None else 0
    # h2 closes its state on a GOAWAY and would refuse the frames still owed to those calls
    h2_connection(processor.connection).state_machine.state = ConnectionState.CLIENT_OPEN
    for stream_id, stream in list(processor.streams.items()):
        if stream_id > last:
            stream.__terminated__("refused by the server's GOAWAY")
    if not processor.streams:
        processor.close("GOAWAY: no call left on the connection")


def _text_pairs(items: Iterable[tuple[str, str | bytes]]) -> list[tuple[str, str]]:
    """Metadata as the headers carry it: a binary (-bin) value in base64, unpadded."""
    return [(k, v if isinstance(v, str) else encode_bin_value(v).decode()) for k, v in items]


def _metadata(headers: Mapping[str, str]) -> list[tuple[str, str | bytes]]:
    """Headers as grpclib's metadata: a binary (-bin) value decoded from its base64."""
    pairs = [(k.lower(), v) for k, v in headers.items()]  # gRPC spells metadata keys so
    return [(k, decode_bin_value(v.encode()) if k.endswith("-bin") else v) for k, v in pairs]
