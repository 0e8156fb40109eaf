"""TLS contexts from certificate files: HTTP/2 (gRPC) and HTTP/1.1 ALPN on the server side,
a private CA on the client side."""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(cert_file: Path, key_file: Path, *, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(alpn)
    return context


def client_context(ca_file: Path | None, *, alpn: list[str]) -> ssl.SSLContext:
    """Verifies the server against ca_file (or the system's trust store when None)."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(alpn)
    return context
