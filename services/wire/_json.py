"""The proto3 JSON mapping for betterproto2 messages, strict on input and fast on output.

betterproto2's `to_dict` is slow (docs/measurements.md) and `from_dict` checks no types, so
this module walks the message descriptor itself
(https://protobuf.dev/programming-guides/json/): camelCase names out, either name in,
64-bit integers as strings, enums by name, Timestamps as RFC 3339, default values omitted,
unknown fields ignored, anything of the wrong type refused with the field's path.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import math
import re
from typing import TYPE_CHECKING, Any, Final, TypeVar

import betterproto2
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor

from ._fields import ANY, FieldInfo, Kind, UnsupportedField, fields_of

if TYPE_CHECKING:
    from ._forms import KnownForms

M = TypeVar("M", bound=betterproto2.Message)

_FD = FieldDescriptor
_MESSAGES: Final = (Kind.MESSAGE, Kind.ANY)
_INT_RANGES: Final = {
    _FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _FD.TYPE_UINT32: (0, 2**32 - 1),
    _FD.TYPE_FIXED32: (0, 2**32 - 1),
    _FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    _FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _FD.TYPE_UINT64: (0, 2**64 - 1),
    _FD.TYPE_FIXED64: (0, 2**64 - 1),
}
_AS_STRING: Final = {
    _FD.TYPE_INT64,
    _FD.TYPE_SINT64,
    _FD.TYPE_SFIXED64,
    _FD.TYPE_UINT64,
    _FD.TYPE_FIXED64,
}
_FLOATS: Final = {_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE}
_SPECIAL_FLOATS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INTEGER_TEXT: Final = re.compile(r"^-?[0-9]+$")
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_FRACTION: Final = re.compile(r"\.(\d+)")


class InvalidJson(ValueError):
    """A JSON value does not fit the message; the message names the field's path."""


# -- output ---------------------------------------------------------------------------------


def rfc3339(value: datetime.datetime) -> str:
    """A Timestamp's JSON form: UTC, 'Z', and 0, 3 or 6 fractional digits."""
    utc = value.astimezone(datetime.UTC)
    text = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"  # strftime leaves years before 1000 unpadded
    micros = utc.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def _scalar_out(f: FieldInfo, value: Any) -> Any:
    if f.type in _AS_STRING:
        return str(value)
    if f.type == _FD.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if f.type in _FLOATS and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _any_class(f: FieldInfo) -> Any:
    return message_factory.GetMessageClass(f.pool.FindMessageTypeByName(ANY))


def _any_out(f: FieldInfo, value: Any) -> Any:
    """An Any as proto3 JSON ({"@type", the packed message's fields}), by the official
    runtime, which finds the packed type in the pool the field's own types come from."""
    packed = _any_class(f)(type_url=value.type_url, value=value.value)
    return json_format.MessageToDict(packed, descriptor_pool=f.pool)


def _any_in(f: FieldInfo, value: Any, path: str) -> Any:
    packed = _any_class(f)()
    try:
        json_format.ParseDict(value, packed, descriptor_pool=f.pool)
    except (json_format.ParseError, TypeError, KeyError) as error:
        raise InvalidJson(f"{path}: not a google.protobuf.Any: {error}") from None
    return f.python_type(type_url=packed.type_url, value=packed.value)


def _value_out(f: FieldInfo, value: Any, known: KnownForms | None) -> Any:
    if f.kind is Kind.MESSAGE:
        return to_json_dict(value, known)
    if f.kind is Kind.ANY:
        return _any_out(f, value)
    if f.kind is Kind.TIMESTAMP:
        return rfc3339(value)
    if f.kind is Kind.ENUM:
        return (f.enum_names or {}).get(int(value), int(value))
    return _scalar_out(f, value)


def to_json_dict(message: betterproto2.Message, known: KnownForms | None = None) -> dict[str, Any]:
    """The message's proto3 JSON object (ready forms of `known` messages shared: don't mutate)."""
    if known is not None and (forms := known.get(message)) is not None:
        return forms.json
    out: dict[str, Any] = {}
    for f in fields_of(type(message)):
        value = getattr(message, f.name)
        if value is None or (
            not value and (f.repeated or f.kind not in _MESSAGES) and not f.presence
        ):
            continue  # default values are omitted; a present message or optional is kept
        if f.repeated:
            out[f.json_name] = [_value_out(f, v, known) for v in value]
        else:
            out[f.json_name] = _value_out(f, value, known)
    return out


# -- input ----------------------------------------------------------------------------------


def _fail(path: str, expected: str, value: Any) -> InvalidJson:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return InvalidJson(f"{path}: expected {expected}, got {shown}")


def _int_in(f: FieldInfo, value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise _fail(path, "an integer", value)
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INTEGER_TEXT.match(value)
    ):
        number = int(value)
    else:
        raise _fail(path, "an integer", value)
    low, high = _INT_RANGES[f.type]
    if not low <= number <= high:
        raise InvalidJson(f"{path}: {number} is out of range")
    return number


def _timestamp_in(value: Any, path: str) -> datetime.datetime:
    if not isinstance(value, str):
        raise _fail(path, "an RFC 3339 timestamp", value)
    # fromisoformat takes at most 6 fractional digits; Timestamps may carry 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(path, "an RFC 3339 timestamp", value) from None
    if parsed.tzinfo is None or "T" not in value.upper():
        raise _fail(path, "an RFC 3339 timestamp with its offset", value)
    return parsed.astimezone(datetime.UTC)


def _enum_in(f: FieldInfo, value: Any, path: str) -> Any:
    numbers = f.enum_numbers or {}
    if isinstance(value, str) and value in numbers:
        return f.python_type(numbers[value])
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers.values():
        return f.python_type(value)
    raise _fail(path, "one of " + ", ".join(numbers), value)


def _bytes_in(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _fail(path, "base64 text", value)
    standard = value.replace("-", "+").replace("_", "/")  # either alphabet is allowed
    try:
        return base64.b64decode(standard + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, "base64 text", value) from None


def _string_in(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "a string", value)
    try:
        value.encode()  # a lone surrogate from a JSON escape is not UTF-8
    except UnicodeEncodeError:
        raise InvalidJson(f"{path}: not valid UTF-8") from None
    return value


def _bool_in(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "true or false", value)
    return value


def _float_in(value: Any, path: str) -> float:
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, "a number", value)
    return float(value)


def _value_in(f: FieldInfo, value: Any, path: str) -> Any:  # noqa: PLR0911 - one branch per kind
    if f.kind is Kind.MESSAGE:
        return from_json_dict(value, f.python_type, path + ".")
    if f.kind is Kind.ANY:
        return _any_in(f, value, path)
    if f.kind is Kind.TIMESTAMP:
        return _timestamp_in(value, path)
    if f.kind is Kind.ENUM:
        return _enum_in(f, value, path)
    if f.type == _FD.TYPE_STRING:
        return _string_in(value, path)
    if f.type == _FD.TYPE_BYTES:
        return _bytes_in(value, path)
    if f.type == _FD.TYPE_BOOL:
        return _bool_in(value, path)
    if f.type in _INT_RANGES:
        return _int_in(f, value, path)
    if f.type in _FLOATS:
        return _float_in(value, path)
    raise UnsupportedField(f"field type {f.type} of {path}")


@functools.cache
def _fields_by_key(message_type: type[betterproto2.Message]) -> dict[str, FieldInfo]:
    """Each field under its JSON name and its proto name: parsers accept both."""
    by_key = {}
    for f in fields_of(message_type):
        by_key[f.json_name] = f
        by_key[f.name] = f
    return by_key


def from_json_dict(value: Any, message_type: type[M], path: str = "") -> M:
    """A message from its proto3 JSON object; raises InvalidJson naming the bad field."""
    if not isinstance(value, dict):
        raise _fail(path.rstrip(".") or "message", "a JSON object", value)
    by_key = _fields_by_key(message_type)
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        f = by_key.get(key)
        if f is None or item is None:
            continue  # unknown fields are ignored, null means the default
        if f.name in kwargs:
            raise InvalidJson(f"{path}{key}: field given twice")
        field_path = f"{path}{f.json_name}"
        if f.repeated:
            if not isinstance(item, list):
                raise _fail(field_path, "a list", item)
            kwargs[f.name] = [_value_in(f, v, f"{field_path}[{i}]") for i, v in enumerate(item)]
        else:
            kwargs[f.name] = _value_in(f, item, field_path)
    return message_type(**kwargs)
