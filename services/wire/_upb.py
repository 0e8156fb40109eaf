"""Moves betterproto2 messages to and from the official protobuf runtime (upb, in C).

betterproto2's own codec is pure Python and spends most of its time in per-field bookkeeping;
copying the fields into a upb message and letting C do the wire work is many times cheaper
(docs/measurements.md), and upb's parser is strict where `Message.parse` silently accepts
malformed input. The generated
dataclasses stay the types every handler and stub sees.
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING, Any, TypeVar

import betterproto2
from google.protobuf import message_factory
from google.protobuf.message import Message as UpbMessage

from ._fields import FieldInfo, Kind, fields_of

if TYPE_CHECKING:
    from ._forms import KnownForms

M = TypeVar("M", bound=betterproto2.Message)

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


@functools.cache
def upb_class(message_type: type[betterproto2.Message]) -> type[UpbMessage]:
    """The upb message class for a betterproto2 message class (same descriptor)."""
    return message_factory.GetMessageClass(message_type.DESCRIPTOR)  # type: ignore[attr-defined]


# upb's own FromDatetime/ToDatetime go through time tuples: several times slower than these.
def _set_timestamp(target: Any, value: datetime.datetime) -> None:
    seconds, microseconds = divmod((value - _EPOCH) // _MICROSECOND, 1_000_000)
    target.seconds = seconds
    target.nanos = microseconds * 1000


def _timestamp(value: Any) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def _fill_repeated(target: Any, f: FieldInfo, values: list[Any], known: KnownForms | None) -> None:
    container = getattr(target, f.name)
    if f.kind is Kind.SCALAR:
        container.extend(values)
    elif f.kind is Kind.ENUM:
        container.extend(int(v) for v in values)
    elif f.kind is Kind.TIMESTAMP:
        for v in values:
            _set_timestamp(container.add(), v)
    else:
        for v in values:
            _fill(container.add(), v, known)


def _fill(target: UpbMessage, source: betterproto2.Message, known: KnownForms | None) -> None:
    if known is not None and (forms := known.get(source)) is not None:
        target.CopyFrom(forms.upb)
        return
    for f in fields_of(type(source)):
        value = getattr(source, f.name)
        if f.repeated:
            _fill_repeated(target, f, value, known)
        elif f.kind in (Kind.MESSAGE, Kind.ANY, Kind.TIMESTAMP):
            if value is not None:
                child = getattr(target, f.name)
                child.SetInParent()  # present even when all its fields are zero
                if f.kind is Kind.TIMESTAMP:
                    _set_timestamp(child, value)
                else:
                    _fill(child, value, known)
        elif value or (f.presence and value is not None):  # zero values stay off the wire
            setattr(target, f.name, int(value) if f.kind is Kind.ENUM else value)


def to_upb(message: betterproto2.Message, known: KnownForms | None = None) -> UpbMessage:
    """The same message in the official runtime (ready forms of `known` messages copied)."""
    target = upb_class(type(message))()
    _fill(target, message, known)
    return target


def _value(f: FieldInfo, value: Any) -> Any:
    if f.kind is Kind.SCALAR:
        return value
    if f.kind is Kind.ENUM:
        return f.python_type(value)
    if f.kind is Kind.TIMESTAMP:
        return _timestamp(value)
    return from_upb(value, f.python_type)


def from_upb(source: UpbMessage, message_type: type[M]) -> M:
    """The same message as a betterproto2 dataclass (unknown fields are left behind)."""
    kwargs: dict[str, Any] = {}
    for f in fields_of(message_type):
        value = getattr(source, f.name)
        if f.repeated:
            kwargs[f.name] = [_value(f, v) for v in value]
        elif f.kind in (Kind.MESSAGE, Kind.ANY, Kind.TIMESTAMP) or f.presence:
            if source.HasField(f.name):
                kwargs[f.name] = _value(f, value)
        else:
            kwargs[f.name] = _value(f, value)
    return message_type(**kwargs)
