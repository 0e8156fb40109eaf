"""Connect's facts that servers and clients share: the end-stream message both ways, the
stream codecs both ways."""

from __future__ import annotations

import pytest

from services.wire.connect import (
    END_STREAM,
    ENVELOPE_PREFIX,
    JSON,
    PROTO,
    STREAM_JSON,
    STREAM_OF_UNARY,
    STREAM_PROTO,
    UNARY_OF_STREAM,
    Code,
    ConnectError,
    MalformedEndStream,
    end_stream,
    end_stream_error,
    envelope_head,
)


def body(message: bytes) -> bytes:
    flags, length = envelope_head(message)
    assert flags == END_STREAM
    assert len(message) == ENVELOPE_PREFIX + length
    return message[ENVELOPE_PREFIX:]


def test_a_clean_end_carries_no_error() -> None:
    assert end_stream_error(body(end_stream(None, []))) is None
    assert end_stream_error(body(end_stream(None, [("x-trailer", "1")]))) is None


def test_an_error_written_by_the_server_is_read_back_by_the_client() -> None:
    details = [{"type": "google.rpc.ErrorInfo", "value": "CgE"}]
    sent = ConnectError(Code.RESOURCE_EXHAUSTED, "slow reader", details=details)
    read = end_stream_error(body(end_stream(sent, [("x-trailer", "1")])))
    assert read is not None
    assert read.code is Code.RESOURCE_EXHAUSTED
    assert (read.message, read.details) == ("slow reader", details)


def test_an_unknown_code_reads_as_unknown() -> None:
    read = end_stream_error(b'{"error": {"code": "gone_fishing", "message": "?"}}')
    assert read is not None
    assert read.code is Code.UNKNOWN


@pytest.mark.parametrize("message", [b"not json", b"[1, 2]", b'{"error": 5}'])
def test_a_malformed_end_is_named_as_such(message: bytes) -> None:
    with pytest.raises(MalformedEndStream):
        end_stream_error(message)


def test_stream_codecs_both_ways() -> None:
    assert UNARY_OF_STREAM == {STREAM_JSON: JSON, STREAM_PROTO: PROTO}
    assert {STREAM_OF_UNARY[unary]: unary for unary in (JSON, PROTO)} == UNARY_OF_STREAM
