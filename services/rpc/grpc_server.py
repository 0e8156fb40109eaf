"""grpclib's Server with the edges it lacks: per-call framing (compression, JSON sub-format,
limits at the length prefix; `grpc_dispatch`), header checks before any handler runs, and bounds
on what one connection may cost (`grpc_connection`).

grpclib is hooked where it has no public hook through `grpclib_seams` (the handler and protocol
of each connection, the tasks of its calls); its `EventsProcessor` is extended by subclassing.
grpclib is pinned below 0.5 and tested at every edge by tests/integration/test_grpc_edges.py.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import h2.config
from grpclib.encoding.base import CodecBase
from grpclib.protocol import H2Protocol

from services.wire.encoded_forms import EncodedForms
from services.wire.flood_guard import FloodRecord
from services.wire.grpc import StrictJsonCodec, StrictProtoCodec
from services.wire.status_details import StatusDetailsCodec

from .grpc_connection import ConnectionCount, GrpcLimits, GuardedProtocol
from .grpc_dispatch import CallRouter, FramedCalls
from .grpclib_seams import HookedServer


class WireServer(HookedServer):
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
        self.h2_settings = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_inbound_headers=False,
            normalize_outbound_headers=False,
        )

    def connection_handler(
        self, mapping: dict[str, Any], status_details_codec: Any, dispatch: Any
    ) -> CallRouter:
        return CallRouter(mapping, self.codecs, status_details_codec, dispatch, self._framed)

    def connection_protocol(self, handler: Any, config: Any) -> H2Protocol:
        return GuardedProtocol(self.connections, handler, config, self.h2_settings)
