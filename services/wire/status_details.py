"""Error details on the wire: gRPC's `grpc-status-details-bin` (a google.rpc.Status) and
Connect's error `details`, from the messages a handler puts on `GRPCError.details`."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

import betterproto2
from grpclib.const import Status
from grpclib.encoding.base import StatusDetailsCodecBase

TYPE_URL_PREFIX: Final = "type.googleapis.com/"


def _packed(detail: Any) -> tuple[str, bytes]:
    """A detail's type URL and binary value; a google.protobuf.Any passes as it is."""
    if type_name(detail) == "google.protobuf.Any":
        return str(detail.type_url), bytes(detail.value)
    return TYPE_URL_PREFIX + type_name(detail), bytes(detail)


def type_name(message: betterproto2.Message) -> str:
    """The message's full proto name (generated classes carry their descriptor)."""
    return str(getattr(type(message), "DESCRIPTOR").full_name)  # noqa: B009 - not in its stub


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def status_details_bin(code: int, message: str, details: Sequence[Any]) -> bytes:
    """google.rpc.Status {code = 1; message = 2; repeated google.protobuf.Any details = 3} in
    the binary encoding, for `grpc-status-details-bin`. (Three fields: written here rather than
    taking a dependency on googleapis-common-protos for them.)"""
    return status_bin_of_packed(code, message, [_packed(detail) for detail in details])


def status_bin_of_packed(code: int, message: str, packed: Sequence[tuple[str, bytes]]) -> bytes:
    """The same from details already packed: (type URL, the detail's bytes) each."""
    out = bytearray()
    if code:
        out += _varint(1 << 3 | 0) + _varint(code)
    if message:
        out += _field(2, message.encode())
    for type_url, value in packed:
        out += _field(3, _field(1, type_url.encode()) + _field(2, value))
    return bytes(out)


def connect_details(details: Sequence[Any]) -> list[dict[str, str]]:
    """Connect's error `details`: each message's type and binary value (base64, unpadded)."""
    encoded = []
    for detail in details:
        type_url, value = _packed(detail)
        encoded.append(
            {
                "type": type_url.rpartition("/")[2],
                "value": base64.b64encode(value).decode().rstrip("="),
            }
        )
    return encoded


def detail_value(detail: Mapping[str, str]) -> bytes:
    """A Connect error detail's binary value: base64 as `connect_details` writes it, unpadded.
    Raises binascii.Error on a value that is not base64."""
    value = detail.get("value", "")
    return base64.b64decode(value + "=" * (-len(value) % 4))


class StatusDetailsCodec(StatusDetailsCodecBase):
    """grpclib's hook for `grpc-status-details-bin`: a server's GRPCError.details (betterproto2
    messages) as a google.rpc.Status; a client's read back as Connect's details."""

    def encode(self, status: Status, message: str | None, details: Any) -> bytes:
        return status_details_bin(status.value, message or "", list(details or ()))

    def decode(self, status: Status, message: str | None, data: bytes) -> Any:
        """A client's read: the details as Connect spells them (see connect_details)."""
        return connect_details_of_status_bin(data)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("a truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The (number, value) fields of a message: varints and length-delimited ones only."""
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = _read_varint(data, at)
            out.append((number, value))
        elif wire_type == 2:
            length, at = _read_varint(data, at)
            if at + length > len(data):
                raise ValueError("a truncated field")
            out.append((number, data[at : at + length]))
            at += length
        else:
            raise ValueError(f"wire type {wire_type} in a google.rpc.Status")
    return out


def connect_details_of_status_bin(data: bytes) -> list[dict[str, str]]:
    """Connect's `details` from a `grpc-status-details-bin` google.rpc.Status (a client reads
    them so); [] for one it cannot read."""
    details = []
    try:
        for number, value in _fields(data):
            if number != 3 or not isinstance(value, bytes):
                continue
            parts = dict(_fields(value))
            type_url, raw = parts.get(1, b""), parts.get(2, b"")
            if isinstance(type_url, bytes) and isinstance(raw, bytes):
                details.append(
                    {
                        "type": type_url.decode().rpartition("/")[2],
                        "value": base64.b64encode(raw).decode().rstrip("="),
                    }
                )
    except (ValueError, UnicodeDecodeError):
        return []
    return details
