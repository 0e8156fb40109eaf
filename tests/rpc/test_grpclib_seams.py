"""The grpclib seam at the pinned version, each door tried on grpclib's own objects: what a
server Stream, a Connection, a Buffer, a client Stream and a Channel keep private, the hooks
of its Server and Handler, and server reflection's list of services. An upgrade that moves one
fails here first, by name (the engine's behaviour through them: test_wire_server.py)."""

from __future__ import annotations

import inspect
from typing import Any

import h2.config
import h2.connection
import pytest
from grpclib.client import Channel
from grpclib.client import Stream as ClientStream
from grpclib.config import Configuration
from grpclib.const import Cardinality
from grpclib.events import _DispatchChannelEvents, _DispatchServerEvents
from grpclib.exceptions import ProtocolError
from grpclib.protocol import Connection
from grpclib.reflection.service import ServerReflection
from grpclib.server import Handler, Server
from grpclib.server import Stream as ServerStream

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from services.rpc import grpclib_seams as seams
from services.rpc.grpc_client import InterceptedChannel
from services.wire.grpc import StrictProtoCodec
from services.wire.status_details import StatusDetailsCodec

CODEC = StrictProtoCodec(1024)


class Transport:
    """Enough of a transport for grpclib's Connection."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def connection() -> Connection:
    h2_conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    return Connection(h2_conn, Transport(), config=Configuration())  # type: ignore[arg-type]


def server_stream(cardinality: Cardinality = Cardinality.UNARY_UNARY) -> ServerStream[Any, Any]:
    h2 = seams.LeanStream(connection(), 1)
    return ServerStream(h2, "/a.B/C", cardinality, GetItemDetailRequest, GetItemDetailResponse,
                        codec=CODEC, status_details_codec=StatusDetailsCodec(),
                        dispatch=_DispatchServerEvents())  # fmt: skip


def test_a_server_streams_private_state() -> None:
    stream = server_stream(Cardinality.UNARY_STREAM)
    assert isinstance(seams.h2_stream(stream), seams.LeanStream)
    assert seams.cardinality(stream) is Cardinality.UNARY_STREAM
    assert seams.message_codec(stream) is CODEC
    assert seams.request_type(stream) is GetItemDetailRequest
    assert seams.reply_type(stream) is GetItemDetailResponse
    assert seams.content_type(stream).startswith("application/grpc")
    assert seams.messages_received(stream) == 0
    seams.count_message_received(stream)
    assert seams.messages_received(stream) == 1
    assert not seams.message_sent(stream)
    seams.mark_message_sent(stream)
    assert seams.message_sent(stream)
    assert not seams.trailing_metadata_sent(stream)


async def test_marking_the_headers_sent_is_what_grpclib_itself_reads() -> None:
    stream = server_stream()
    assert not seams.initial_metadata_sent(stream)
    seams.mark_initial_metadata_sent(stream)
    assert seams.initial_metadata_sent(stream)
    with pytest.raises(ProtocolError):  # grpclib's own method sees it
        await stream.send_initial_metadata()


def test_a_connections_h2_state_and_transport() -> None:
    made = connection()
    assert isinstance(seams.h2_connection(made), h2.connection.H2Connection)
    assert isinstance(seams.transport_of(made), Transport)


def test_a_lean_stream_is_a_grpclib_stream() -> None:
    made = connection()
    stream = seams.LeanStream(made, 3)
    assert (stream.id, made.streams_started) == (3, 1)
    assert not stream.buffer._eof
    stream.buffer.add(b"abc", 3)
    assert stream.buffer._unacked.qsize() == 1
    assert seams.ended_with_headers(stream) is False


def test_the_server_and_handler_hooks_are_grpclibs_own() -> None:
    assert "_protocol_factory" in vars(Server)
    assert "self._mapping" in inspect.getsource(Server.__init__)
    assert "self._tasks" in inspect.getsource(Handler)
    assert issubclass(seams.HookedServer, Server)
    assert issubclass(seams.HookedHandler, Handler)


async def test_a_channels_private_parts() -> None:
    channel = InterceptedChannel("127.0.0.1", 1, codec=CODEC)
    assert channel.address == "127.0.0.1:1"
    assert channel.message_codec is CODEC
    assert isinstance(channel.details_codec, StatusDetailsCodec)
    assert channel.connected is False
    assert "self._h2_config" in inspect.getsource(Channel._protocol_factory)


async def test_a_client_streams_private_parts() -> None:
    channel = InterceptedChannel("127.0.0.1", 1, codec=CODEC)
    stream = seams.HookedClientStream(
        channel, "/a.B/C", {}, Cardinality.UNARY_STREAM, GetItemDetailRequest,  # type: ignore[arg-type]
        GetItemDetailResponse, codec=CODEC, status_details_codec=StatusDetailsCodec(),
        dispatch=_DispatchChannelEvents(),
    )  # fmt: skip
    assert isinstance(stream, ClientStream)
    assert stream.call_cardinality is Cardinality.UNARY_STREAM
    assert stream.trailers_only is False
    source = inspect.getsource(ClientStream)
    for name in ("self._stream", "self._wrapper"):  # made as the call starts
        assert name in source, name
    with pytest.raises(AttributeError):
        _ = stream.h2_stream


def test_reflection_lists_the_services_it_is_told() -> None:
    reflection = ServerReflection(_service_names=["a.B"])
    seams.set_reflected_services(reflection, ["a.B", "c.D"])
    assert reflection._service_names == ["a.B", "c.D"]
