"""Where master-data's gRPC side is: `host:port`, optionally written as a URL."""

from __future__ import annotations

from urllib.parse import urlsplit


def parse_target(url: str) -> tuple[str, int]:
    """(host, port) of `host:port` or `http://host:port`; ValueError otherwise."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or not port:
        raise ValueError(f"expected host:port, got {url!r}")
    return parts.hostname, port
