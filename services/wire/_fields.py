"""What the codecs need to know of each field of a betterproto2 message, read once from its
descriptor: shared by the binary bridge (`_upb`) and the JSON mapping (`_json`)."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Any

import betterproto2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from .betterproto2_seams import field_classes

TIMESTAMP = "google.protobuf.Timestamp"
ANY = "google.protobuf.Any"


class UnsupportedField(TypeError):
    """A field shape the codecs do not handle yet (map, oneof without presence, well-known
    types but Timestamp and Any).

    A programming error, not a bad request: services check their types at start
    (`codec.check_supported`), so a proto change that adds one fails there, not per call.
    """


class Kind(enum.Enum):
    """How a field's value is represented in betterproto2."""

    SCALAR = "scalar"  # int, float, bool, str, bytes
    ENUM = "enum"  # a betterproto2.Enum
    MESSAGE = "message"  # a nested betterproto2.Message
    TIMESTAMP = "timestamp"  # google.protobuf.Timestamp, unwrapped to a datetime
    ANY = "any"  # google.protobuf.Any: a plain message in binary, {"@type", ...} in JSON


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field: its names, shape and, for enums and messages, the betterproto2 class."""

    name: str
    json_name: str
    repeated: bool
    type: int  # FieldDescriptor.TYPE_*
    kind: Kind
    python_type: Any = None  # the enum or message class
    enum_names: dict[int, str] | None = None
    enum_numbers: dict[str, int] | None = None
    presence: bool = False  # a scalar with explicit presence (proto3 `optional`, a oneof)
    pool: Any = None  # for Any: the descriptor pool its packed types are found in


def _kind(fd: FieldDescriptor) -> Kind:
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return Kind.ENUM
    if fd.message_type is None:
        return Kind.SCALAR
    name = fd.message_type.full_name
    if name == TIMESTAMP:
        return Kind.TIMESTAMP
    if name == ANY:
        return Kind.ANY
    if fd.message_type.GetOptions().map_entry:
        raise UnsupportedField(f"map field {fd.full_name}")
    if name.startswith("google.protobuf."):
        raise UnsupportedField(f"well-known type {name} in {fd.full_name}")
    return Kind.MESSAGE


@functools.cache
def fields_of(message_type: type[betterproto2.Message]) -> tuple[FieldInfo, ...]:
    """The fields of a message class; UnsupportedField for shapes the codecs don't handle."""
    descriptor: Descriptor = message_type.DESCRIPTOR  # type: ignore[attr-defined]
    classes = field_classes(message_type)
    fields = []
    for fd in descriptor.fields:
        if fd.containing_oneof is not None and not fd.has_presence:
            raise UnsupportedField(f"oneof field {fd.full_name}")
        if fd.name not in classes:
            raise UnsupportedField(f"field {fd.full_name} is renamed in betterproto2")
        kind = _kind(fd)
        values = fd.enum_type.values if fd.enum_type is not None else []
        fields.append(
            FieldInfo(
                name=fd.name,
                json_name=fd.json_name,
                repeated=fd.is_repeated,
                type=fd.type,
                kind=kind,
                python_type=classes[fd.name]
                if kind in (Kind.ENUM, Kind.MESSAGE, Kind.ANY)
                else None,
                enum_names={v.number: v.name for v in values} if values else None,
                enum_numbers={v.name: v.number for v in values} if values else None,
                presence=not fd.is_repeated
                and fd.has_presence
                and kind in (Kind.SCALAR, Kind.ENUM),
                pool=fd.message_type.file.pool if kind is Kind.ANY and fd.message_type else None,
            )
        )
    return tuple(fields)
