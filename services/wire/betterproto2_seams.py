"""The one module that touches betterproto2's private names: the Python class of each field of a
generated message, which only its `_betterproto` metadata knows (betterproto2 0.10 has no
public way to ask). tests/wire/test_betterproto2_seams.py fails first, naming the seam, when an
upgrade moves it."""

from __future__ import annotations

from typing import Any

import betterproto2


def field_classes(message_type: type[betterproto2.Message]) -> dict[str, Any]:
    """Field name -> the Python class of its values (messages and enums: their generated
    classes)."""
    classes: dict[str, Any] = message_type._betterproto.cls_by_field  # type: ignore[arg-type]
    return classes
