"""gzip for every edge (gRPC messages, Connect bodies and streamed messages, the cart's stream
client): one bounded inflater, so a small bomb stays small, and one rule for when a reply is
worth compressing. Each edge maps the two failures to its own codes."""

from __future__ import annotations

import gzip
import zlib
from typing import Final

COMPRESS_FROM_BYTES: Final = 1024  # smaller replies go uncompressed even when gzip is accepted


class NotGzip(ValueError):
    """The bytes are not a whole gzip stream."""


class InflatesTooLarge(ValueError):
    """The gzip stream inflates past the limit."""


def worth_compressing(size: int) -> bool:
    return size >= COMPRESS_FROM_BYTES


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def inflate_gzip(data: bytes, limit: int) -> bytes:
    """`data` inflated, at most `limit` bytes of it: NotGzip or InflatesTooLarge otherwise."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise NotGzip(f"not gzip: {error}") from None
    if len(plain) > limit or inflater.unconsumed_tail:
        raise InflatesTooLarge(f"inflates past the limit of {limit} bytes")
    if not inflater.eof:
        raise NotGzip("the gzip stream is cut short")
    return plain
