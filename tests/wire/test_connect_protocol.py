"""Connect's facts that servers and clients share: the end-stream message both ways (its
trailers too), an error reply as a client reads it, the GET query, the stream codecs both
ways."""

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
    error_from_reply,
    get_query,
    read_end_stream,
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


def test_an_end_streams_metadata_is_the_streams_trailers() -> None:
    sent = ConnectError(Code.NOT_FOUND, "gone")
    error, trailers = read_end_stream(
        body(end_stream(sent, [("X-Trailer", "1"), ("x-trailer", "2")]))
    )
    assert error is not None
    assert error.code is Code.NOT_FOUND
    assert trailers == [("x-trailer", "1"), ("x-trailer", "2")]
    assert read_end_stream(b'{"metadata": {"a": ["b"]}}') == (None, [("a", "b")])


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        pytest.param(404, b'{"code": "not_found", "message": "no", "details": '
                          b'[{"type": "t", "value": "AQ"}]}', Code.NOT_FOUND, "no",
                     id="an error body"),
        pytest.param(401, b'{"message": "oops"}', Code.UNAUTHENTICATED, "oops", id="no code"),
        pytest.param(429, b'{"code": null, "message": "oops"}', Code.UNAVAILABLE, "oops",
                     id="a null code"),
        pytest.param(401, b'{"code": "gone_fishing", "message": "oops"}', Code.UNAUTHENTICATED,
                     "oops", id="an unknown code"),
        pytest.param(502, b"<html>bad gateway</html>", Code.UNAVAILABLE, "HTTP 502",
                     id="a proxy's page"),
        pytest.param(418, b"", Code.UNKNOWN, "HTTP 418", id="an unknown status, no body"),
    ],
)  # fmt: skip
def test_an_error_reply_as_a_client_reads_it(
    status: int, body: bytes, code: Code, message: str
) -> None:
    error = error_from_reply(status, body)
    assert (error.code, error.message) == (code, message)
    if b"details" in body:
        assert error.details == [{"type": "t", "value": "AQ"}]


def test_a_get_query_in_the_specs_order() -> None:
    assert get_query(b"\xfb\xff", gzipped=False) == (
        "connect=v1&base64=1&encoding=proto&message=-_8"
    )
    assert get_query(b"", gzipped=True) == (
        "connect=v1&base64=1&compression=gzip&encoding=proto&message="
    )
