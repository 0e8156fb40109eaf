"""Encoding and decoding betterproto2 messages, binary and proto3 JSON: strict and fast.

Binary goes through the official protobuf runtime (upb, `_upb`): strict where betterproto2's
`Message.parse` silently accepts malformed input, and faster (docs/measurements.md). JSON goes
through `_json`, a descriptor-driven proto3 JSON mapping, faster than
`google.protobuf.json_format` over the same upb messages and checked against it by a
property-based test. The generated dataclasses stay the types handlers and stubs see.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TypeVar

import betterproto2
from google.protobuf.message import DecodeError

from ._fields import Kind, UnsupportedField, fields_of
from ._json import InvalidJson, from_json_dict, to_json_dict
from ._upb import from_upb, to_upb, upb_class
from .encoded_forms import EncodedForms

__all__ = [
    "EncodedForms",
    "MalformedMessage",
    "MessageTooLarge",
    "UnsupportedField",
    "check_size",
    "check_supported",
    "decode_binary",
    "decode_json",
    "encode_binary",
    "encode_json",
    "to_upb",
]

M = TypeVar("M", bound=betterproto2.Message)


class MalformedMessage(ValueError):
    """The bytes or JSON are not a valid encoding of the expected message."""


class MessageTooLarge(ValueError):
    """The encoded message is larger than the configured limit."""


def check_size(size: int, limit: int) -> None:
    """MessageTooLarge when `size` bytes are over `limit`."""
    if size > limit:
        raise MessageTooLarge(f"message of {size} bytes exceeds the limit of {limit} bytes")


def check_supported(message_types: Iterable[type[betterproto2.Message]]) -> None:
    """Raise UnsupportedField, at start, for a message (or one nested in it) the codecs can't
    handle, instead of failing every call that carries it."""
    pending = list(message_types)
    seen: set[type[betterproto2.Message]] = set()
    while pending:
        message_type = pending.pop()
        if message_type in seen:
            continue
        seen.add(message_type)
        pending.extend(f.python_type for f in fields_of(message_type) if f.kind is Kind.MESSAGE)


def encode_binary(message: betterproto2.Message, known: EncodedForms | None = None) -> bytes:
    """The protobuf bytes of a message (ready forms of `known` messages copied)."""
    return to_upb(message, known).SerializeToString()


def decode_binary(data: bytes, message_type: type[M], limit: int) -> M:
    """Decode protobuf bytes strictly (unknown fields dropped), or raise MalformedMessage."""
    check_size(len(data), limit)
    strict = upb_class(message_type)()
    try:
        strict.ParseFromString(data)
    except DecodeError as error:
        raise MalformedMessage(f"malformed protobuf: {error}") from None
    return from_upb(strict, message_type)


def encode_json(message: betterproto2.Message, known: EncodedForms | None = None) -> bytes:
    """The proto3 JSON form of a message, compact UTF-8."""
    document = to_json_dict(message, known)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def decode_json(data: bytes, message_type: type[M], limit: int) -> M:
    """Decode a proto3 JSON body strictly (unknown fields ignored, as for binary)."""
    check_size(len(data), limit)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise MalformedMessage(f"invalid JSON: {error}") from None
    try:
        return from_json_dict(document, message_type)
    except (InvalidJson, RecursionError) as error:
        raise MalformedMessage(f"invalid {message_type.__name__}: {error}") from None
