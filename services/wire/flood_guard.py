"""What one HTTP/2 connection may spend of a core on frames that carry no request: a budget
both HTTP/2 servers (the gRPC port's and Hypercorn on the HTTP port) hold every client to.

Every frame that asks the server for work without a request counts: PING, SETTINGS, RST_STREAM,
PRIORITY, WINDOW_UPDATE, CONTINUATION and DATA frames with nothing in them. The gRPC port counts
them in the bytes as they arrive (`FrameCounter`: frames on a stream already closed make no h2
event but still cost a reply); Hypercorn, whose bytes we do not see, counts its h2 events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import h2.events

CONTROL_EVENTS: Final = (
    h2.events.PingReceived,
    h2.events.RemoteSettingsChanged,
    h2.events.StreamReset,
    h2.events.PriorityUpdated,
    h2.events.WindowUpdated,
)


# Frame types (RFC 9113, section 6) that carry no request: PRIORITY, RST_STREAM, SETTINGS,
# PING, WINDOW_UPDATE, CONTINUATION; and DATA when empty and not ending its stream.
CONTROL_TYPES: Final = frozenset({0x2, 0x3, 0x4, 0x6, 0x8, 0x9})
FRAME_HEADER: Final = 9
PREFACE: Final = 24  # the client's connection preface, before its first frame


class FrameCounter:
    """Counts the control frames in a connection's bytes as they arrive, chunk by chunk."""

    def __init__(self) -> None:
        self._header = b""
        self._skip = PREFACE  # bytes of the current frame's payload (or the preface) left

    def control_frames(self, data: bytes) -> int:
        count = 0
        pos, size = 0, len(data)
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            need = FRAME_HEADER - len(self._header)
            self._header += data[pos : pos + need]
            pos += need
            if len(self._header) < FRAME_HEADER:
                break
            length = int.from_bytes(self._header[:3], "big")
            kind, flags = self._header[3], self._header[4]
            self._header = b""
            if kind in CONTROL_TYPES or (kind == 0 and length == 0 and not flags & 0x1):
                count += 1
            self._skip = length
        return count


def counts_as_control(event: object) -> bool:
    """Whether an h2 event is one the budget counts."""
    if isinstance(event, CONTROL_EVENTS):
        return True
    return (
        isinstance(event, h2.events.DataReceived) and not event.data and event.stream_ended is None
    )


class FloodGuard:
    """A token bucket: `allow()` is False once a client sends control frames faster than
    `rate` a second for longer than a burst of 2 seconds' worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = max(1.0, 2 * rate)
        self._tokens = self._burst
        self._clock = clock
        self._at = clock()

    def allow(self, frames: int = 1) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= frames
        return self._tokens >= 0
