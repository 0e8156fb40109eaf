"""The Hypercorn seam at the pinned version: the private names it relies on are there, and
`use_guarded_h2` has Hypercorn make its HTTP/2 connections as guarded ones (the behaviour is
held by tests/integration/test_http_edges.py and the flood tests)."""

from __future__ import annotations

import inspect

import hypercorn.protocol
from hypercorn.protocol.h2 import H2Protocol

from services.http_servers.hypercorn_seams import GuardedH2Protocol, use_guarded_h2
from services.wire.flood_guard import FloodRecord


def test_hypercorns_h2_protocol_still_has_what_the_seam_overrides() -> None:
    for name in ("_flush", "_handle_events", "handle"):
        assert inspect.iscoroutinefunction(getattr(H2Protocol, name)), name
    assert "events" in inspect.signature(H2Protocol._handle_events).parameters


def test_hypercorn_makes_its_h2_connections_of_the_guarded_class() -> None:
    record = FloodRecord()
    before = vars(hypercorn.protocol)["H2Protocol"]
    try:
        use_guarded_h2(record)
        made = vars(hypercorn.protocol)["H2Protocol"]
        assert issubclass(made, GuardedH2Protocol)
        assert made.flood_record is record
    finally:
        vars(hypercorn.protocol)["H2Protocol"] = before
