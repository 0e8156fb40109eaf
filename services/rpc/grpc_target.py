"""Where a gRPC server is, as gRPC spells names (https://grpc.github.io/grpc/core/md_doc_naming.html):
`host:port` or `dns:///host:port` (every address the name resolves to, again on each resolve),
`ipv4:addr:port,addr:port,...` and `ipv6:[addr]:port,...` (those addresses, fixed). A URL
(`http://host:port`) is read as `host:port`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

RESOLVE_TIMEOUT_SECONDS: Final = 5.0

Address = tuple[str, int]  # (ip or host, port)


@dataclass(frozen=True, slots=True)
class GrpcTarget:
    """A parsed target: a name to resolve (`host`, `port`), or `fixed` addresses."""

    text: str
    host: str = ""
    port: int = 0
    fixed: tuple[Address, ...] = ()

    @property
    def resolved_by_dns(self) -> bool:
        return not self.fixed

    async def resolve(self) -> list[Address]:
        """Every address the target names now, in a stable order; OSError (or TimeoutError)
        when the name does not resolve."""
        if self.fixed:
            return list(self.fixed)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            found = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        addresses = {(str(info[4][0]), int(info[4][1])) for info in found}
        return sorted(addresses)


def parse_target(text: str) -> GrpcTarget:
    """The target `text` names; ValueError, saying what is expected, otherwise."""
    scheme, _, rest = text.partition(":")
    if scheme in ("ipv4", "ipv6") and rest:
        return GrpcTarget(text, fixed=tuple(_fixed(scheme, part) for part in rest.split(",")))
    if scheme == "dns":
        rest = rest.removeprefix("//")
        authority, slash, name = rest.partition("/")  # dns://authority/host:port
        text_of_name = name if slash else authority
        host, port = _host_port(text_of_name, text)
        return GrpcTarget(text, host=host, port=port)
    host, port = _host_port(text, text)
    return GrpcTarget(text, host=host, port=port)


def _host_port(part: str, whole: str) -> tuple[str, int]:
    parts = urlsplit(part if "//" in part else f"//{part}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or not port:
        raise ValueError(
            f"expected host:port, dns:///host:port or ipv4:addr:port,...; got {whole!r}"
        )
    return parts.hostname, port


def _fixed(scheme: str, part: str) -> Address:
    host, port = _host_port(part.strip(), part)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{scheme}: {host!r} is not an IP address") from None
    if (address.version == 4) != (scheme == "ipv4"):
        raise ValueError(f"{scheme}: {host!r} is an IPv{address.version} address")
    return str(address), port
