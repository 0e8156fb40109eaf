"""The W3C trace context held to its limits before any propagator parses it: a valid header
passes as it is, an invalid or oversized one is dropped whole (never logged member by member),
other propagators' headers pass untouched; a flood of bad baggage costs no log."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from services.common.trace_headers import bounded

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("traceparent", PARENT),
        ("traceparent", "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-comes"),
        ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ("baggage", "userId=alice,serverNode=DF%2028,isProduction=false;ttl=3"),
        ("baggage", ",".join(f"k{n}=v" for n in range(180))),
        ("tracestate", ",".join(f"v{n}=x" for n in range(32))),
    ],
)
def test_a_valid_header_passes_as_it_is(name: str, value: str) -> None:
    assert bounded([(name, value)]) == {name: value}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("traceparent", "00-xyz", id="traceparent malformed"),
        pytest.param("tracestate", ",".join(f"v{n}=x" for n in range(33)), id="33 members"),
        pytest.param("tracestate", "a=" + "x" * 600, id="tracestate over 512"),
        pytest.param("baggage", ",".join(f"k{n}=v" for n in range(181)), id="181 members"),
        pytest.param("baggage", "k=" + "v" * 8200, id="baggage over 8192 bytes"),
        pytest.param("baggage", ",".join(["é"] * 2700), id="2,700 non-ASCII members"),
        pytest.param("baggage", "good=1,bad member", id="one member invalid"),
    ],
)
def test_an_invalid_header_is_dropped_whole(name: str, value: str) -> None:
    assert bounded([(name, value), ("b3", "keep-me")]) == {"b3": "keep-me"}


def test_two_of_one_header_are_both_dropped() -> None:
    assert bounded([("traceparent", PARENT), ("traceparent", PARENT)]) == {}


def test_a_baggage_flood_costs_no_log(caplog: pytest.LogCaptureFixture) -> None:
    flood = ",".join(["é"] * 2700)  # 335 KiB of propagator warnings a request, before
    caplog.set_level(logging.DEBUG)
    for _ in range(20):
        context = propagate.extract(bounded([("baggage", flood), ("traceparent", PARENT)]))
    assert caplog.records == []
    assert baggage.get_all(context) == {}


def test_what_opentelemetrys_own_propagators_send_passes_whole() -> None:
    """A real client's headers: the SDK's propagators inject a W3C tracestate with a space
    inside a value and percent-encoded baggage; none of it is dropped."""
    state = TraceState([("congo", "t61rcWkgMzE"), ("vendor@sys", "a b"), ("rojo", "00f067")])
    span = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331,
                       is_remote=False, trace_flags=TraceFlags(1), trace_state=state)  # fmt: skip
    sent = trace.set_span_in_context(NonRecordingSpan(span))
    sent = baggage.set_baggage("user id", "älice; x", context=sent)
    sent = baggage.set_baggage("tenant", "T0001", context=sent)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=sent)
    assert set(carrier) == {"traceparent", "tracestate", "baggage"}
    assert bounded(carrier.items()) == carrier
    got = propagate.extract(bounded(carrier.items()))
    assert baggage.get_all(got) == {"user id": "älice; x", "tenant": "T0001"}
