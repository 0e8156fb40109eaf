"""The one module that touches Hypercorn's private names (its HTTP/2 protocol's `_flush` and
`_handle_events`, and the class `hypercorn.protocol` makes its connections of): Hypercorn has
no public hook for either mend below. Pinned below 0.19; tests/http_servers/
test_hypercorn_seams.py fails first, naming the seam, when an upgrade moves them."""

from __future__ import annotations

from typing import Any

import h2.events
import hypercorn.protocol
from h2.errors import ErrorCodes
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol.h2 import H2Protocol

from services.wire.flood_guard import FloodGuard, FloodRecord, FloodRules


class GuardedH2Protocol(H2Protocol):
    """Hypercorn's HTTP/2 connection with two mends (Hypercorn 0.18, pinned below 0.19):

    - Every frame it reads and writes passes a `FloodGuard` first (Hypercorn has no budget for
      frames that carry no request: a WINDOW_UPDATE or SETTINGS flood kept a core busy); a
      broken rule ends the connection with GOAWAY ENHANCE_YOUR_CALM. What it owes a client that
      does not read stays bounded without a rule here: Hypercorn waits for each write to drain
      before it reads on.
    - A DATA frame for a stream already answered and closed (the app replied before reading
      the whole body: a 405, 413 or 415, say) raised KeyError and took the whole connection
      down, every other call on it included. Such frames are dropped here, their flow-control
      credit returned, as Hypercorn already does for END_STREAM
      (tests/integration/test_http_edges.py sends one).
    """

    flood_record: FloodRecord = FloodRecord()
    flood_rules: FloodRules = FloodRules()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flood = FloodGuard(self.flood_rules)
        self._calmed = False

    async def handle(self, event: Event) -> None:
        if isinstance(event, RawData):
            if self._calmed:
                return
            broken = self._flood.received(event.data)
            if broken:
                await self._calm_down(broken)
                return
        await super().handle(event)

    async def _calm_down(self, rule: str) -> None:
        self._calmed = True
        self.flood_record.closed("http", rule, self.client)
        self.connection.close_connection(error_code=ErrorCodes.ENHANCE_YOUR_CALM)
        await self._flush()
        await self.send(Closed())

    async def _flush(self) -> None:
        data = self.connection.data_to_send()
        if data:
            self._flood.sent(data)
            await self.send(RawData(data=data))

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        for event in events:  # one at a time: an earlier event may open or close a stream
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            else:
                await super()._handle_events([event])


def use_guarded_h2(record: FloodRecord, rules: FloodRules | None = None) -> None:
    """Have Hypercorn make its HTTP/2 connections as `GuardedH2Protocol`s reporting to `record`:
    Hypercorn picks the class by the name in `hypercorn.protocol`, its only seam for it."""
    guarded: type[H2Protocol] = type(
        "GuardedH2Protocol",
        (GuardedH2Protocol,),
        {"flood_record": record, "flood_rules": rules or FloodRules()},
    )
    vars(hypercorn.protocol)["H2Protocol"] = guarded
