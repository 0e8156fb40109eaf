"""A raw HTTP/2 client on the h2 library, for frames no tidy gRPC client would send."""

from __future__ import annotations

import socket
import struct
import zlib
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.settings

GRPC = "application/grpc"


def frame(payload: bytes, *, compressed: bool = False, length: int | None = None) -> bytes:
    return struct.pack(">?I", compressed, len(payload) if length is None else length) + payload


def gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def messages(body: bytes) -> list[tuple[bool, bytes]]:
    """The length-prefixed messages of a reply body: (compressed, payload) each."""
    out = []
    while body:
        compressed, length = struct.unpack(">?I", body[:5])
        out.append((compressed, body[5 : 5 + length]))
        body = body[5 + length :]
    return out


@dataclass
class Reply:
    headers: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def status(self) -> int:
        return int({**self.headers, **self.trailers}["grpc-status"])


def call(
    port: int,
    path: str,
    body: bytes,
    *,
    content_type: str = GRPC,
    extra: list[tuple[str, str]] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    timeout: float = 10,
    window: int | None = None,
) -> Reply:
    """One request as raw frames (`headers` replaces the usual ones); the reply as it came.
    With `window`, the stream's receive window is that many bytes and never grows: a client
    that stops reading."""
    config = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        connection = h2.connection.H2Connection(config)
        connection.initiate_connection()
        if window is not None:
            connection.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        stream = connection.get_next_available_stream_id()
        if headers is None:
            headers = [
                (b":method", b"POST"), (b":scheme", b"http"), (b":path", path.encode()),
                (b":authority", b"127.0.0.1"), (b"content-type", content_type.encode()),
                (b"te", b"trailers"),
                *[(k.encode(), v.encode()) for k, v in extra or []],
            ]  # fmt: skip
        connection.send_headers(stream, headers)
        size = connection.max_outbound_frame_size
        chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for n, chunk in enumerate(chunks):
            connection.send_data(stream, chunk, end_stream=n == len(chunks) - 1)
        sock.sendall(connection.data_to_send())
        reply = Reply()
        while True:
            data = sock.recv(65536)
            assert data, "the server closed the connection without ending the call"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    reply.headers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h2.events.TrailersReceived):
                    reply.trailers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h2.events.DataReceived):
                    reply.body += event.data
                    if window is None:
                        connection.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.StreamReset):
                    raise AssertionError(f"stream reset with error {event.error_code}")
                if isinstance(event, h2.events.StreamEnded):
                    return reply
            sock.sendall(connection.data_to_send())
