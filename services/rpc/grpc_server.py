"""grpclib's Server with the edges it lacks: per-call framing (compression, JSON sub-format,
limits at the length prefix; `grpc_dispatch`), header checks before any handler runs, and bounds
on what one connection may cost (`grpc_connection`).

Everything here hooks grpclib at its documented seams (`Server._protocol_factory`, the
`Handler.accept` of each connection, the `EventsProcessor` of each protocol): grpclib is pinned
below 0.5 and tested at every edge by tests/integration/test_grpc_edges.py.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import h2.config
from grpclib.encoding.base import CodecBase
from grpclib.protocol import H2Protocol
from grpclib.server import Server

from services.wire.encoded_forms import EncodedForms
from services.wire.flood_guard import FloodRecord
from services.wire.grpc import StrictJsonCodec, StrictProtoCodec
from services.wire.status_details import StatusDetailsCodec

from .grpc_connection import ConnectionCount, GrpcLimits, GuardedProtocol
from .grpc_dispatch import CallRouter, FramedCalls


class WireServer(Server):
    """A grpclib Server whose connections are guarded and whose calls are framed by us."""

    def __init__(
        self,
        handlers: Collection[Any],
        limits: GrpcLimits,
        known: EncodedForms | None = None,
        flood: FloodRecord | None = None,
    ) -> None:
        proto = StrictProtoCodec(limits.max_message_bytes, known)
        super().__init__(handlers, codec=proto, status_details_codec=StatusDetailsCodec())
        self.limits = limits
        self.codecs: dict[str, CodecBase] = {
            "proto": proto,
            "json": StrictJsonCodec(limits.max_message_bytes, known),
        }
        self.connections = ConnectionCount(limits, flood or FloodRecord())
        self._framed = FramedCalls(limits)
        # Headers arrive as bytes: _GuardedEvents decodes them, so one bad value is one call's
        # INVALID_ARGUMENT instead of an exception in the protocol.
        self._h2_config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_inbound_headers=False,
            normalize_outbound_headers=False,
        )

    def _protocol_factory(self) -> H2Protocol:
        self.__gc_step__()
        handler = CallRouter(
            self._mapping, self.codecs, self._status_details_codec, self.__dispatch__, self._framed
        )
        self._handlers.add(handler)
        return GuardedProtocol(self.connections, handler, self._config, self._h2_config)
