"""The HTTP/2 flood guard in process: each rule stops its flood, and a busy client's ordinary
frames (a WINDOW_UPDATE and a BDP ping per reply, SETTINGS acks, cancelled calls) never trip
one, however many calls it makes; frame heads are found in the bytes however they are cut."""

from __future__ import annotations

from collections.abc import Callable

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from prometheus_client import CollectorRegistry

from services.wire.flood_guard import FloodGuard, FloodRecord, FrameReader

REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/x"), (":authority", "x")]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Pair:
    """A client and a server h2 connection joined through a guard, as a port sees them."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.guard = FloodGuard(clock=self.clock)
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="ascii")
        )
        self.client.initiate_connection()
        self.server.initiate_connection()
        self.broken: str | None = None
        self.exchange()

    def exchange(self) -> None:
        """Every byte each side has to send, until both are quiet (the server's replies to
        requests answered by `answer`)."""
        while True:
            up, down = self.client.data_to_send(), self.server.data_to_send()
            if not up and not down:
                return
            if up:
                self.broken = self.broken or self.guard.received(up)
                for event in self.server.receive_data(up):
                    if isinstance(event, h2.events.StreamEnded):
                        self.answer(event.stream_id)
            if down:
                self.guard.sent(down)
                self.client.receive_data(down)

    def answer(self, stream: int) -> None:
        self.server.send_headers(stream, [(":status", "200")])
        self.server.send_data(stream, b"r" * 40)
        self.server.send_headers(stream, [("grpc-status", "0")], end_stream=True)

    def call(self) -> int:
        stream = self.client.get_next_available_stream_id()
        self.client.send_headers(stream, REQUEST)
        self.client.send_data(stream, b"q" * 20, end_stream=True)
        self.exchange()
        return stream


def test_a_busy_client_that_acks_every_reply_and_pings_after_each_is_never_stopped() -> None:
    pair = Pair()
    for n in range(3000):
        pair.call()
        # grpc-core and grpc-go: a WINDOW_UPDATE per stream and for the connection, a BDP ping
        pair.client.increment_flow_control_window(40, stream_id=None)
        pair.client.ping(n.to_bytes(8, "big"))
        if n % 100 == 0:  # a new flow-control estimate: SETTINGS
            pair.client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
        pair.exchange()
    assert pair.broken is None


def test_a_client_that_cancels_its_slow_calls_is_not_a_rapid_reset() -> None:
    pair = Pair()
    for n in range(1000):
        stream = pair.client.get_next_available_stream_id()
        pair.client.send_headers(stream, REQUEST)
        pair.exchange()
        if n % 3 == 0:  # a third cancelled, each after its deadline of a few seconds
            pair.clock.now += 2.0
            pair.client.reset_stream(stream)
        else:
            pair.client.send_data(stream, b"", end_stream=True)
        pair.exchange()
    assert pair.broken is None


def test_keepalive_pings_on_an_idle_connection_are_not_strikes() -> None:
    pair = Pair()
    for n in range(100):
        pair.clock.now += 10.0
        pair.client.ping(n.to_bytes(8, "big"))
        pair.exchange()
    assert pair.broken is None


Flood = Callable[[Pair, int], None]


def pings(pair: Pair, n: int) -> None:
    pair.client.ping(n.to_bytes(8, "big"))


def window_updates(pair: Pair, _: int) -> None:
    pair.client.increment_flow_control_window(1)


def priorities(pair: Pair, n: int) -> None:
    pair.client.prioritize(n * 2 + 1, weight=16)


def settings(pair: Pair, _: int) -> None:
    pair.client.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})


def rapid_reset(pair: Pair, _: int) -> None:
    stream = pair.client.get_next_available_stream_id()
    pair.client.send_headers(stream, REQUEST)
    pair.client.reset_stream(stream)


def empty_data(pair: Pair, n: int) -> None:
    if n == 0:
        pair.client.send_headers(1, REQUEST)
    pair.client.send_data(1, b"")


@pytest.mark.parametrize(
    ("flood", "rule"),
    [
        pytest.param(pings, "ping", id="ping"),
        pytest.param(window_updates, "window-update", id="window update"),
        pytest.param(priorities, "priority", id="priority"),
        pytest.param(settings, "settings", id="settings"),
        pytest.param(rapid_reset, "rapid-reset", id="rapid reset"),
        pytest.param(empty_data, "empty-frames", id="empty data"),
    ],
)
def test_each_flood_breaks_its_rule_within_a_few_hundred_frames(flood: Flood, rule: str) -> None:
    pair = Pair()
    for n in range(1000):
        flood(pair, n)
        up = pair.client.data_to_send()
        pair.broken = pair.guard.received(up)
        if pair.broken:
            break
    assert pair.broken == rule
    assert n < 300


def test_window_updates_earn_credit_from_the_data_the_server_sends() -> None:
    pair = Pair()
    for _ in range(20):
        pair.call()
    for _ in range(2 * (20 + 10 * 20)):
        pair.client.increment_flow_control_window(1)
    assert pair.guard.received(pair.client.data_to_send()) is None
    pair.client.increment_flow_control_window(1)
    pair.client.increment_flow_control_window(1)
    assert pair.guard.received(pair.client.data_to_send()) == "window-update"


def test_acks_owed_to_a_client_that_does_not_read_are_bounded() -> None:
    """A watch streaming to a client that pings after every message but reads nothing: its
    pings are no strikes (data went out between them), but the acks pile up unsent."""
    pair = Pair()
    stream = pair.call()  # a stream to send on
    for n in range(1001):
        pair.guard.sent(_data_frame(stream))  # a message of the watch
        pair.client.ping(n.to_bytes(8, "big"))
        assert pair.guard.received(pair.client.data_to_send()) is None
        assert pair.guard.outbound(all_written=n == 0) is None  # written once, then backed up
    pair.client.ping(b"12345678")
    pair.guard.sent(_data_frame(stream))
    assert pair.guard.received(pair.client.data_to_send()) is None
    assert pair.guard.outbound(all_written=False) == "outbound-control"


def _data_frame(stream: int) -> bytes:
    return (5).to_bytes(3, "big") + bytes([0, 0]) + stream.to_bytes(4, "big") + b"hello"


def test_the_reader_finds_every_frame_head_in_any_cut_of_the_bytes() -> None:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.send_headers(1, REQUEST)
    client.send_data(1, b"hello", pad_length=7)
    client.send_data(1, b"", pad_length=3)  # padded and empty: an empty payload
    client.ping(b"12345678")
    client.send_data(1, b"", end_stream=True)
    data = client.data_to_send()
    whole = FrameReader(24).heads(data)
    assert [kind for kind, _, _, _ in whole] == [4, 1, 0, 0, 6, 0]  # SETTINGS HEADERS DATA...
    assert [payload for kind, _, _, payload in whole if kind == 0] == [5, 0, 0]
    for cut in range(1, len(data)):
        reader = FrameReader(24)
        assert reader.heads(data[:cut]) + reader.heads(data[cut:]) == whole
    byte_by_byte = FrameReader(24)
    assert [h for n in range(len(data)) for h in byte_by_byte.heads(data[n : n + 1])] == whole


def test_a_close_is_counted_by_port_and_rule() -> None:
    registry = CollectorRegistry()
    record = FloodRecord(registry)
    record.closed("grpc", "ping", ("127.0.0.1", 5))
    labels = {"port": "grpc", "rule": "ping"}
    assert registry.get_sample_value("http2_flood_guard_closes_total", labels) == 1.0


def test_calls_cancelled_at_their_declared_deadline_are_not_a_rapid_reset() -> None:
    pair = Pair()
    for _ in range(300):  # every call times out: the server is slower than its 20 ms
        stream = pair.client.get_next_available_stream_id()
        pair.client.send_headers(stream, [*REQUEST, ("grpc-timeout", "20m")])
        pair.exchange()
        pair.guard.deadline(stream, 0.020)  # what the gRPC port reads from the headers
        pair.clock.now += 0.015  # reset by the client at its deadline, 5 ms of skew later
        pair.client.reset_stream(stream)
        pair.exchange()
    assert pair.broken is None
    for _ in range(300):  # the same resets before half the declared deadline: an attack
        stream = pair.client.get_next_available_stream_id()
        pair.client.send_headers(stream, [*REQUEST, ("grpc-timeout", "20m")])
        pair.exchange()
        pair.guard.deadline(stream, 0.020)
        pair.client.reset_stream(stream)
        pair.exchange()
    assert pair.broken == "rapid-reset"
