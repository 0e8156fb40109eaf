"""What an HTTP/2 client may make the server do without a request, bounded relative to the work
the server does for it, never by a rate: a busy client's ordinary frames (a WINDOW_UPDATE per
reply, a BDP ping per burst of data, SETTINGS acks) grow with its calls; an attacker's do not.

Both HTTP/2 ports (grpclib on the gRPC port, Hypercorn on the HTTP port) pass every byte they
read and every byte they write through one `FloodGuard` per connection, before h2 parses it.
The rules follow Envoy's HTTP/2 flood protection (`max_consecutive_inbound_frames_with_empty_
payload`, `max_inbound_priority_frames_per_stream`, `max_inbound_window_update_frames_per_data_
frame_sent`, `max_outbound_control_frames`), grpc-go's keepalive enforcement for pings (a strike
only when nothing was sent since the last ping) and Envoy's premature-reset rule against rapid
reset (CVE-2023-44487). docs/reliability.md says what each allows and why.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)

# Frame types (RFC 9113, section 6) and the flags read here.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM: Final = 0x1  # DATA, HEADERS
ACK: Final = 0x1  # SETTINGS, PING
PADDED: Final = 0x8  # DATA, HEADERS
FRAME_HEADER: Final = 9
PREFACE: Final = 24  # the client's connection preface, before its first frame


@dataclass(frozen=True, slots=True)
class FloodRules:
    """What one connection may send that carries no request, relative to the work done for it."""

    empty_frames_in_a_row: int = 1  # DATA/HEADERS/CONTINUATION, no payload, stream not ended
    priority_per_stream: int = 100  # PRIORITY frames per stream opened (+1)
    window_updates_per_data_frame: int = 10  # WINDOW_UPDATE frames per DATA frame sent
    settings_base: int = 100  # SETTINGS frames beyond one per stream opened and per one we sent
    other_base: int = 100  # unknown frame types, PING acks we did not ask for: per stream opened
    ping_strikes: int = 10  # pings in a row with nothing sent between, less than...
    ping_interval_seconds: float = 1.0  # ... this long apart
    resets_base: int = 10  # RST_STREAM frames beyond one per stream opened
    # A stream reset this soon (and before the deadline its client declared: a call cancelled
    # at its deadline is no attack), before any reply frame...
    premature_reset_seconds: float = 1.0
    premature_reset_min_streams: int = 100  # ... counts; half of this many streams or more: rapid
    outbound_control_frames: int = 1000  # acks owed to a client that is not reading


class FrameReader:
    """Splits a byte stream into frame heads however it is cut: (type, flags, stream id, payload
    length less padding); the payloads themselves are skipped."""

    __slots__ = ("_head", "_padded", "_skip")

    def __init__(self, skip: int = 0) -> None:
        self._head = b""
        self._skip = skip  # payload bytes (or the preface) still to pass over
        self._padded: tuple[int, int, int, int] | None = None  # waits for its pad length byte

    def heads(self, data: bytes) -> list[tuple[int, int, int, int]]:
        found = []
        pos, size = 0, len(data)
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            if self._padded is not None:
                kind, flags, stream, length = self._padded
                self._padded = None
                found.append((kind, flags, stream, max(0, length - 1 - data[pos])))
                self._skip = length - 1
                pos += 1
                continue
            need = FRAME_HEADER - len(self._head)
            head = self._head + data[pos : pos + need] if self._head else data[pos : pos + need]
            pos += need
            if len(head) < FRAME_HEADER:
                self._head = head
                break
            self._head = b""
            length = int.from_bytes(head[:3], "big")
            kind, flags = head[3], head[4]
            stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            if flags & PADDED and kind <= HEADERS and length:
                self._padded = (kind, flags, stream, length)
            else:
                found.append((kind, flags, stream, length))
                self._skip = length
        return found


class FloodGuard:
    """One connection's ledger: `received(data)` names the rule its frames broke, or None;
    `sent(data)` records the work done for the client (streams answered, DATA frames)."""

    def __init__(
        self,
        rules: FloodRules | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        preface: bool = True,
    ) -> None:
        self.rules = rules or FloodRules()
        self._clock = clock
        self._in = FrameReader(PREFACE if preface else 0)
        self._out = FrameReader()
        self.streams = 0  # streams the client opened
        self._highest = 0
        # stream id: until when a reset of it is premature; kept until its first reply frame
        self._unstarted: dict[int, float] = {}
        self._empty_in_a_row = 0
        self._priority = 0
        self._window_updates = 0
        self._settings = 0
        self._other = 0
        self._resets = 0
        self._premature = 0
        self._data_sent = 0
        self._settings_sent = 0
        self._pings_sent = 0
        self._sent_since_ping = True
        self._last_ping = -math.inf
        self._strikes = 0
        self._acks_owed = 0  # PING and SETTINGS acks queued since the client last read them all

    def received(self, data: bytes) -> str | None:
        for kind, flags, stream, payload in self._in.heads(data):
            broken = self._inbound(kind, flags, stream, payload)
            if broken:
                return broken
        return None

    def _inbound(self, kind: int, flags: int, stream: int, payload: int) -> str | None:  # noqa: PLR0911 - one branch per frame type
        rules = self.rules
        if kind <= HEADERS or kind == CONTINUATION:
            if kind == HEADERS and stream > self._highest:
                self._highest = stream
                self.streams += 1
                self._unstarted[stream] = self._clock() + self.rules.premature_reset_seconds
            if payload == 0 and not (kind != CONTINUATION and flags & END_STREAM):
                self._empty_in_a_row += 1
                if self._empty_in_a_row > rules.empty_frames_in_a_row:
                    return "empty-frames"
            else:
                self._empty_in_a_row = 0
            return None
        if kind == WINDOW_UPDATE:
            self._window_updates += 1
            allowed = 1 + 2 * (self.streams + rules.window_updates_per_data_frame * self._data_sent)
            return "window-update" if self._window_updates > allowed else None
        if kind == PING:
            return self._ping(flags)
        if kind == SETTINGS:
            self._settings += 1
            if not flags & ACK:
                self._acks_owed += 1
            allowed = rules.settings_base + self.streams + self._settings_sent
            return "settings" if self._settings > allowed else None
        if kind == RST_STREAM:
            return self._reset(stream)
        if kind == PRIORITY:
            self._priority += 1
            allowed = rules.priority_per_stream * (1 + self.streams)
            return "priority" if self._priority > allowed else None
        if kind == GOAWAY:
            return None
        self._other += 1  # PUSH_PROMISE (a client may not send it) and extension frames
        return "unknown-frames" if self._other > rules.other_base + self.streams else None

    def _ping(self, flags: int) -> str | None:
        if flags & ACK:  # an answer to one of ours, or nothing asked for
            if self._pings_sent:
                self._pings_sent -= 1
                return None
            self._other += 1
            return "unknown-frames" if self._other > self.rules.other_base + self.streams else None
        self._acks_owed += 1
        now = self._clock()
        if self._sent_since_ping:
            self._strikes = 0
        elif now - self._last_ping < self.rules.ping_interval_seconds:
            self._strikes += 1
        self._sent_since_ping = False
        self._last_ping = now
        return "ping" if self._strikes > self.rules.ping_strikes else None

    def _reset(self, stream: int) -> str | None:
        rules = self.rules
        self._resets += 1
        if self._resets > rules.resets_base + self.streams:
            return "rst-stream"
        until = self._unstarted.pop(stream, None)
        if until is not None and self._clock() < until:
            self._premature += 1
            if (
                self.streams >= rules.premature_reset_min_streams
                and self._premature * 2 >= self.streams
            ):
                return "rapid-reset"
        return None

    def deadline(self, stream: int, seconds: float) -> None:
        """The deadline a stream's client declared (gRPC's grpc-timeout): a reset in its second
        half is the call's own end (the client's clock ran from before the server read the
        stream), never a premature one."""
        until = self._unstarted.get(stream)
        if until is not None:
            self._unstarted[stream] = min(until, self._clock() + seconds / 2)

    def sent(self, data: bytes) -> None:
        for kind, flags, stream, _ in self._out.heads(data):
            if kind <= HEADERS:
                self._sent_since_ping = True
                if kind == DATA:
                    self._data_sent += 1
                self._unstarted.pop(stream, None)
            elif kind == RST_STREAM:
                self._unstarted.pop(stream, None)
            elif kind == SETTINGS and not flags & ACK:
                self._settings_sent += 1
            elif kind == PING and not flags & ACK:
                self._pings_sent += 1

    def outbound(self, all_written: bool) -> str | None:
        """After a read's replies were written: `all_written` when the client has taken every
        byte; otherwise the acks it owes pile up, and past the limit it is not reading."""
        if all_written:
            self._acks_owed = 0
            return None
        return "outbound-control" if self._acks_owed > self.rules.outbound_control_frames else None


class FloodRecord:
    """Every connection a guard closes: a counter by port and rule, and one log line naming the
    rule and the peer."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._closes = Counter(
            "http2_flood_guard_closes",
            "HTTP/2 connections closed by a flood guard (GOAWAY ENHANCE_YOUR_CALM)",
            ["port", "rule"],
            registry=registry or CollectorRegistry(),
        )

    def closed(self, port: str, rule: str, peer: object) -> None:
        log.warning("HTTP/2 connection closed by the flood guard: rule=%s port=%s peer=%s",
                    rule, port, peer)  # fmt: skip
        self._closes.labels(port, rule).inc()
