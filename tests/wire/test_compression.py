"""The one gzip inflater every edge uses: bounded, and strict about what is not whole gzip."""

from __future__ import annotations

import pytest

from services.wire.compression import InflatesTooLarge, NotGzip, gzip_bytes, inflate_gzip


def test_a_round_trip_within_the_limit() -> None:
    assert inflate_gzip(gzip_bytes(b"x" * 5000), 5000) == b"x" * 5000


def test_a_bomb_stays_small() -> None:
    bomb = gzip_bytes(b"\0" * 10_000_000)  # about 10 KB on the wire
    with pytest.raises(InflatesTooLarge):
        inflate_gzip(bomb, 1 << 20)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not gzip", id="not gzip"),
        pytest.param(gzip_bytes(b"y" * 999)[:-6], id="cut short"),
    ],
)
def test_what_is_not_whole_gzip_is_refused(data: bytes) -> None:
    with pytest.raises(NotGzip):
        inflate_gzip(data, 1 << 20)
