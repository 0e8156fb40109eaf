"""The uvicorn seam at the pinned version: the internal protocol it subclasses and the private
names it calls are there (the behaviour is held by tests/integration/test_http_edges.py)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.http_servers.http_limits import HttpLimits
from services.http_servers.uvicorn_seams import GuardedHttpToolsProtocol


def test_uvicorns_httptools_protocol_still_has_what_the_seam_uses() -> None:
    for name in ("_unset_keepalive_if_required", "_should_upgrade", "data_received",
                 "connection_made", "connection_lost"):  # fmt: skip
        assert callable(getattr(HttpToolsProtocol, name)), name


def test_a_server_gets_a_protocol_class_of_its_own_limits() -> None:
    limits = HttpLimits(max_header_bytes=1024)
    made = GuardedHttpToolsProtocol.for_limits(limits)
    assert issubclass(made, HttpToolsProtocol)
    assert made.limits is limits
    assert GuardedHttpToolsProtocol.limits is not limits
