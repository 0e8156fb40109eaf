"""The W3C trace context a caller sends (`traceparent`, `tracestate`, `baggage`), held to the
specifications' limits before any propagator parses it: an invalid or oversized header is
dropped whole and counted, never parsed member by member (OpenTelemetry's baggage propagator
logs a warning per invalid member: 2,700 one-byte members were 335 KiB of log a request).

Limits: traceparent exactly as W3C Trace Context level 1 spells it; tracestate at most 32 members
and 512 characters (what Trace Context asks a vendor to propagate at least); baggage at most
8,192 bytes and 180 members (W3C Baggage; OpenTelemetry's own limits). What the cart forwards
to master-data is what it accepted, so a terminal's headers stay well inside master-data's
MAX_HEADER_BYTES (16 KiB) and never cost the cart's shared gRPC connection.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, Final

from opentelemetry import metrics

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
BAGGAGE: Final = "baggage"
NAMES: Final = frozenset({TRACEPARENT, TRACESTATE, BAGGAGE})
MAX_TRACESTATE_MEMBERS: Final = 32
MAX_TRACESTATE_CHARS: Final = 512
MAX_BAGGAGE_MEMBERS: Final = 180
MAX_BAGGAGE_BYTES: Final = 8192

# A later version may add fields after the fourth (W3C Trace Context, "versioning").
_TRACEPARENT: Final = re.compile(
    r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[!-~]{0,200})?"
)
_TRACESTATE_MEMBER: Final = re.compile(
    # W3C: a value of up to 256 printable characters but `,` and `=`, spaces inside, not last
    r"[ \t]*[a-z0-9][a-z0-9_\-*/@]{0,255}="
    r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e][ \t]*"
)
_NAME_CHARS: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # RFC 9110's token
_VALUE_CHARS: Final = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"  # W3C baggage-octet
_BAGGAGE_MEMBER: Final = re.compile(
    rf"[ \t]*{_NAME_CHARS}[ \t]*=[ \t]*{_VALUE_CHARS}[ \t]*(;[^,]*)?"
)


def bounded(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """`pairs` (lower-case names: the propagators' headers a request carries) with each W3C
    trace-context header that breaks a limit dropped whole and counted in
    `trace.context.headers.dropped` by header name; other propagators' pass as they are."""
    carrier: dict[str, str] = {}
    for name, value in pairs:
        if name not in NAMES:
            carrier[name] = value
            continue
        if name in carrier or not _acceptable(name, value):  # a second one: ambiguous, dropped
            _dropped().add(1, {"header": name})
            carrier.pop(name, None)
            continue
        carrier[name] = value
    return carrier


def _acceptable(name: str, value: str) -> bool:
    if name == TRACEPARENT:
        return _TRACEPARENT.fullmatch(value.strip()) is not None
    if name == TRACESTATE:
        if len(value) > MAX_TRACESTATE_CHARS:
            return False
        members = value.split(",")
        return len(members) <= MAX_TRACESTATE_MEMBERS and all(
            _TRACESTATE_MEMBER.fullmatch(m) for m in members if m.strip()
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_BAGGAGE_BYTES:
        return False
    members = value.split(",")
    return len(members) <= MAX_BAGGAGE_MEMBERS and all(
        _BAGGAGE_MEMBER.fullmatch(m) for m in members
    )


@functools.cache
def _dropped() -> Any:
    """The counter, made on first use from the meter the telemetry set up (or OpenTelemetry's
    no-op one when it set none)."""
    meter = metrics.get_meter("kugel.trace_headers")
    return meter.create_counter(
        "trace.context.headers.dropped",
        description="Trace-context headers dropped whole: invalid or past the W3C limits",
    )
