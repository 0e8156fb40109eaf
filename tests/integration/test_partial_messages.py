"""Requests announced and never finished, on the gRPC port, no token needed (health): each
stream's partial message is bounded in bytes (per connection and per process) and in time (the
request read timeout), for every method. 6 connections x 40 streams each announcing 1 MiB and
sending a quarter of it: master-data's RSS stays within 150 MB of where it started, a normal
client is answered within 1 s throughout, and every held stream is ended by the server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from tests.support.h2_client import call, frame
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import ServiceProcess, start_master_data

HEALTH = "/grpc.health.v1.Health/Check"
READ_TIMEOUT = 2.0
CONNECTIONS, STREAMS, ANNOUNCED, SENT = 6, 40, 1 << 20, 256 << 10


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(
        Path(tmp_path_factory.mktemp("partial")), REQUEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT)
    )
    yield service
    service.stop()


def hold_partial_messages(port: int, ended: list[int]) -> None:
    """One connection: STREAMS streams each announcing ANNOUNCED bytes and sending SENT, then
    reading until the server has ended every one (or 3 read timeouts pass)."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        open_streams = set()
        for _ in range(STREAMS):
            stream = connection.get_next_available_stream_id()
            connection.send_headers(stream, [
                (":method", "POST"), (":scheme", "http"), (":path", HEALTH), (":authority", "x"),
                ("content-type", "application/grpc"), ("te", "trailers"),
            ])  # fmt: skip
            body = frame(b"x" * SENT, length=ANNOUNCED)
            window = min(connection.local_flow_control_window(stream), len(body))
            size = connection.max_outbound_frame_size
            for start in range(0, window, size):
                connection.send_data(stream, body[start : min(start + size, window)])
            open_streams.add(stream)
            sock.sendall(connection.data_to_send())
        sock.settimeout(0.5)
        deadline = time.monotonic() + 3 * READ_TIMEOUT + 5
        while open_streams and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            for event in connection.receive_data(data):
                done = isinstance(event, h2.events.StreamEnded | h2.events.StreamReset)
                if done and event.stream_id in open_streams:
                    open_streams.discard(event.stream_id)
                    ended.append(event.stream_id)
            sock.sendall(connection.data_to_send())


def test_partial_messages_are_bounded_in_bytes_and_time(master_data: ServiceProcess) -> None:
    port = master_data.ports["gRPC"]
    time.sleep(0.5)
    start_rss = rss_kib(master_data.process.pid)
    ended: list[int] = []
    attackers = [
        threading.Thread(target=hold_partial_messages, args=(port, ended))
        for _ in range(CONNECTIONS)
    ]
    for attacker in attackers:
        attacker.start()
    took, peak = [], start_rss
    while any(a.is_alive() for a in attackers):
        started = time.monotonic()
        assert call(port, HEALTH, frame(b""), timeout=5).status == 0
        took.append(time.monotonic() - started)
        peak = max(peak, rss_kib(master_data.process.pid))
        time.sleep(0.05)
    assert len(ended) == CONNECTIONS * STREAMS  # every held stream was ended by the server
    assert max(took) < 1.0
    print(f"\nRSS {start_rss / 1024:.0f} -> peak {peak / 1024:.0f} MiB, slowest {max(took):.3f} s")
    assert (peak - start_rss) / 1024 < 150, f"RSS {start_rss} -> {peak} KiB"
