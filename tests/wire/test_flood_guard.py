"""The control-frame budget of one HTTP/2 connection: a burst passes, a flood does not; the
control frames are found in the bytes however they are cut."""

from __future__ import annotations

import h2.config
import h2.connection

from services.wire.flood_guard import FloodGuard, FrameCounter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_two_seconds_worth_passes_and_then_the_flood_is_stopped() -> None:
    clock = Clock()
    guard = FloodGuard(10, clock)
    assert all(guard.allow() for _ in range(20))
    assert not guard.allow()


def test_the_budget_refills_with_time() -> None:
    clock = Clock()
    guard = FloodGuard(10, clock)
    for _ in range(25):
        guard.allow()
    clock.now += 2.0
    assert guard.allow()


def client_bytes() -> bytes:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()  # the preface and a SETTINGS frame: one control frame
    client.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":path", "/x"),
                            (":authority", "x")])  # fmt: skip
    client.send_data(1, b"hello")  # a request's data: not counted
    client.send_data(1, b"")  # empty, not ending the stream: counted
    client.increment_flow_control_window(10)  # counted
    client.ping(b"12345678")  # counted
    client.send_data(1, b"", end_stream=True)  # ends the stream: not counted
    return client.data_to_send()


def test_the_counter_finds_the_control_frames_in_any_cut_of_the_bytes() -> None:
    data = client_bytes()
    assert FrameCounter().control_frames(data) == 4
    for cut in (1, 5, 24, 25, 30, 33, len(data) - 1):
        counter = FrameCounter()
        assert counter.control_frames(data[:cut]) + counter.control_frames(data[cut:]) == 4
    byte_by_byte = FrameCounter()
    assert sum(byte_by_byte.control_frames(data[n : n + 1]) for n in range(len(data))) == 4
